"""Download the public MovieLens-1M archive (GroupLens; its README's terms apply: research use, no
redistribution) and convert it into the HSE RecSys 2024 schema.

    python -m solutions.hse_sasrec.download ~/data/hse
    make reproduce TRACKS=hse_sasrec DATA_DIR=~/data/hse

Offline: download the archive by hand into DEST and run the same command; it checks and converts it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from shared.data.download import fetch_zip, main
from solutions.hse_sasrec.from_movielens import convert

URL = "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
MD5 = "c4d9eecfca2ab87c1945afe126590906"  # GroupLens's ml-1m.zip.md5


def download(dest: Path, url: str = URL) -> Path:
    return convert(fetch_zip(url, dest, "ml-1m.zip", MD5) / "ml-1m", dest)


if __name__ == "__main__":
    sys.exit(main(__doc__, download, "converted into"))
