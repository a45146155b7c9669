"""Download and unpack the public KuaiRec 2.0 release (CC BY-SA 4.0, Gao et al., CIKM 2022).

    python -m solutions.kraft_kuairec.download ~/data/kuairec
    make reproduce TRACKS=kraft_kuairec DATA_DIR=~/data/kuairec

Never called by the tests (they have no internet).
"""
from __future__ import annotations

import argparse
import sys
import urllib.request
import zipfile
from pathlib import Path

from tqdm.auto import tqdm

URL = "https://zenodo.org/records/18164998/files/KuaiRec.zip"


def download(dest: Path, url: str = URL) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / "KuaiRec.zip"
    if not archive.exists():
        part = archive.with_suffix(".zip.part")
        with urllib.request.urlopen(url) as resp, open(part, "wb") as f:
            total = int(resp.headers.get("Content-Length", 0)) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc="KuaiRec.zip") as bar:
                while chunk := resp.read(1 << 20):
                    f.write(chunk)
                    bar.update(len(chunk))
        part.rename(archive)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    print(f"unpacked into {download(args.dest)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
