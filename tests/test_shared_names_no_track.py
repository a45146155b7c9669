"""``shared/`` is the helper package every track uses: it names no track (a track is found through
``shared.tracks``), so a fifth track needs no change in it."""

import re

from shared.paths import REPO_ROOT
from shared.tracks import names


def test_no_module_in_shared_names_a_track():
    pattern = re.compile("|".join(map(re.escape, names())))
    hits = [
        f"{p.relative_to(REPO_ROOT)}:{k}: {line.strip()}"
        for p in sorted((REPO_ROOT / "shared").rglob("*.py"))
        for k, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not hits, "\n".join(hits)
