"""Download and unpack the public KuaiRec 2.0 release (CC BY-SA 4.0, Gao et al., CIKM 2022).

    python -m solutions.kraft_kuairec.download ~/data/kuairec
    make reproduce TRACKS=kraft_kuairec DATA_DIR=~/data/kuairec

Never called by the tests (they have no internet).
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

from shared.download import fetch, main

URL = "https://zenodo.org/records/18164998/files/KuaiRec.zip"


def download(dest: Path, url: str = URL) -> Path:
    archive = fetch(url, dest / "KuaiRec.zip")
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
    return dest


if __name__ == "__main__":
    sys.exit(main(__doc__, download, 'unpacked into'))
