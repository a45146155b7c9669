"""Download and unpack the public KuaiRec 2.0 release (CC BY-SA 4.0, Gao et al., CIKM 2022).

    python -m solutions.kraft_kuairec.download ~/data/kuairec
    make reproduce TRACKS=kraft_kuairec DATA_DIR=~/data/kuairec

Offline: download the archive by hand into DEST and run the same command; it checks and unpacks it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from shared.data.download import fetch_zip, main

URL = "https://zenodo.org/records/18164998/files/KuaiRec.zip"
MD5 = "261550d472c48eff4990fb13c0e5bcf7"  # as Zenodo lists it for this file


def download(dest: Path, url: str = URL) -> Path:
    return fetch_zip(url, dest, "KuaiRec.zip", MD5)


if __name__ == "__main__":
    sys.exit(main(__doc__, download, "unpacked into"))
