"""Download the public MovieLens-1M archive (GroupLens; its README's terms apply: research use, no
redistribution) and convert it into the HSE RecSys 2024 schema.

    python -m solutions.hse_sasrec.download ~/data/hse
    make reproduce TRACKS=hse_sasrec DATA_DIR=~/data/hse

Never called by the tests (they have no internet).
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

from shared.download import fetch, main
from solutions.hse_sasrec.from_movielens import convert

URL = "https://files.grouplens.org/datasets/movielens/ml-1m.zip"


def download(dest: Path, url: str = URL) -> Path:
    archive = fetch(url, dest / "ml-1m.zip")
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
    return convert(dest / "ml-1m", dest)


if __name__ == "__main__":
    sys.exit(main(__doc__, download, 'converted into'))
