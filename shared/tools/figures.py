"""Every figure in a README names its record.

A figure (a decimal, or an integer of three or more digits; years aside) is written as a Markdown
reference link whose target is the committed file that holds it and whose title says where in that
file::

    NDCG@10 [0.6472][12] ...
    [12]: ../../submissions/<track>/manifest.json "key metrics.ndcg@10"

A reader follows the link to the record; ``check`` resolves each link exactly and compares the
value there with the figure at the printed precision. The locators:

- ``row k=v, k=v; column C`` or ``row #N; column C``: a CSV cell (N counts data rows from 1);
- ``key a.b.0.c``: a JSON leaf;
- ``cell N``: any number printed by cell N (from 0) of a notebook, in its source or its outputs;
- ``line with TEXT``: any number on a line of a text file (code, YAML) that contains TEXT.

A sign, ``%`` (the record holds the fraction) or ``×`` stays outside the link. Years (1990 to 2035,
written without a comma) are not figures. Text between
``<!-- name:start -->`` markers (generated and checked against its generator) and `code spans`
(commands, formats; a span may wrap a line) are exempt. Nothing else is: a bare figure fails ``check``, whichever file
happens to hold a number that rounds to it.

``python -m shared.tools.figures README.md ...`` lists what fails; ``--attribute`` proposes links for
bare figures by looking their value up in the records (a file the text names nearby first); read
the proposals in the diff, since a value can sit in more than one record.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import defaultdict
from functools import cache
from itertools import combinations
from pathlib import Path

from shared.runtime.paths import REPO_ROOT
from shared.track.registry import names

HOLDERS = [
    "submissions/*/manifest.json",
    "benchmarks/*.csv",
    "benchmarks/README.md",
    "notebooks/*/*.ipynb",
    "notebooks/*.ipynb",
    "notebooks/*/*.yaml",
    "solutions/*/*.py",
    "shared/*.py",
]
# a decimal (group 1) or an integer of 3+ digits, grouped by commas or not (group 2)
FIGURE = re.compile(r"(?<![\w.,@])(?:(\d+\.\d+)|(\d{1,3}(?:,\d{3})+|\d{3,}))(?![\w,]?\d)")
NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:[,_]\d{3})+(?!\d)(?:\.\d+)?|(?<![\w.])-?\d*\.?\d+(?:e-?\d+)?")
LINK = re.compile(r"\[([^\]\n]+)\]\[(\w+)\]")
DEFINITION = re.compile(r"""^\[(\w+)\]: (\S+) (?:"([^"\n]+)"|'([^'\n]+)')\s*$""", re.M)
EXEMPT = re.compile(
    r"<!-- ([\w-]+):start -->.*?<!-- \1:end -->|``.+?``|`(?:[^`\n]|\n(?![ \t]*\n))+`|^\[\w+\]: [^\n]*$", re.S | re.M
)
YEARS = range(1990, 2036)
SOURCES_HEADER = "<!-- figure sources: each figure above links its record (shared/tools/figures.py) -->"


def _definitions(text: str) -> list[tuple[str, str, str]]:
    """(label, target, locator) of each reference definition; the title in double or single quotes."""
    return [(label, target, a or b) for label, target, a, b in DEFINITION.findall(text)]


def _quoted(locator: str) -> str:
    return f"'{locator}'" if '"' in locator else f'"{locator}"'


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("_", ""))


def _decimals(text: str) -> int:
    return len(text.partition(".")[2]) if "e" not in text else 12


def agrees(figure: str, held: str, percent: bool = False, exact: bool = False) -> bool:
    """``figure`` as printed is ``held`` at the figure's precision (the sign aside; with ``percent``
    the record may hold the fraction). A printed number (a notebook's, the code's) must show at least
    the figure's decimals; an ``exact`` one (a CSV field, a JSON number, written in full and without
    trailing zeros) need not: 0.41 there is 0.4100."""
    d, value = _decimals(figure), _number(figure)
    try:
        h = abs(_number(held))
    except ValueError:
        return False
    if (exact or _decimals(held) >= d) and abs(round(h, d) - value) < 1e-12:
        return True
    return percent and (exact or _decimals(held) >= d + 2) and abs(round(h, d + 2) - value / 100) < 1e-12


@cache
def _csv_rows(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return (list(rows[0]) if rows else []), rows


@cache
def _json(path: Path):
    return json.loads(path.read_text())


@cache
def _cells(path: Path) -> list[str]:
    out = []
    for cell in json.loads(path.read_text())["cells"]:
        parts = ["".join(cell.get("source", ""))]
        for o in cell.get("outputs", []):
            parts.append("".join(o.get("text", "")))
            for kind in ("text/plain", "text/html", "text/markdown"):
                parts.append("".join(o.get("data", {}).get(kind, "")))
        out.append("\n".join(parts))
    return out


def held_at(path: Path, locator: str) -> list[str]:
    """The numbers a locator points at in ``path``; ``ValueError`` naming what is missing."""
    if m := re.fullmatch(r"row (.+); column (.+)", locator):
        columns, rows = _csv_rows(path)
        if m[2] not in columns:
            raise ValueError(f"no column {m[2]!r}")
        if sel := re.fullmatch(r"#(\d+)", m[1]):
            picked = rows[int(sel[1]) - 1 : int(sel[1])]
        else:
            want = dict(p.split("=", 1) for p in m[1].split(", "))
            picked = [r for r in rows if all(r.get(k) == v for k, v in want.items())]
        if len(picked) != 1:
            raise ValueError(f"{len(picked)} rows match {m[1]!r}")
        return NUMBER.findall(picked[0][m[2]] or "")
    if m := re.fullmatch(r"key (.+)", locator):
        node = _json(path)
        for part in m[1].split("."):
            node = node[int(part)] if isinstance(node, list) else node.get(part) if isinstance(node, dict) else None
            if node is None:
                raise ValueError(f"no key {m[1]!r}")
        return [json.dumps(node)]
    if m := re.fullmatch(r"cell (\d+)", locator):
        cells = _cells(path)
        if int(m[1]) >= len(cells):
            raise ValueError(f"no cell {m[1]}")
        return NUMBER.findall(cells[int(m[1])])
    if m := re.fullmatch(r"line with (.+)", locator):
        lines = [line for line in path.read_text().splitlines() if m[1] in line]
        if not lines:
            raise ValueError(f"no line with {m[1]!r}")
        return [n for line in lines for n in NUMBER.findall(line)]
    raise ValueError(f"unknown locator {locator!r}")


def _line(text: str, pos: int) -> int:
    return text[:pos].count("\n") + 1


def _scan(text: str) -> tuple[str, list[re.Match], list[re.Match]]:
    """The text with its exempt parts blanked (positions kept), its figure links, and its bare figures
    (years aside)."""
    blank = EXEMPT.sub(lambda m: re.sub(r"[^\n]", " ", m[0]), text)
    links = [m for m in LINK.finditer(blank) if FIGURE.fullmatch(m[1])]
    linked = {i for m in links for i in range(m.start(), m.end())}
    bare = [
        m
        for m in FIGURE.finditer(blank)
        if m.start() not in linked and not (m[2] and "," not in m[2] and _number(m[2]) in YEARS)
    ]
    return blank, links, bare


def _percent(blank: str, end: int) -> bool:
    return blank[end : end + 3].lstrip().startswith("%")


def check(readme: Path) -> list[str]:
    """``file:line: figure (why)`` for each figure that is bare or whose link does not hold it."""
    text = readme.read_text()
    name = readme.relative_to(REPO_ROOT).as_posix() if readme.is_relative_to(REPO_ROOT) else readme.name
    defs = {label: (target, locator) for label, target, locator in _definitions(text)}
    blank, links, bare = _scan(text)
    out = []
    for m in links:
        where = f"{name}:{_line(text, m.start())}: {m[1]}"
        if m[2] not in defs:
            out.append((m.start(), f"{where} (no definition [{m[2]}])"))
            continue
        target, locator = defs[m[2]]
        path = (readme.parent / target).resolve()
        if not path.is_file():
            out.append((m.start(), f"{where} ([{m[2]}] names {target}, not a file)"))
            continue
        try:
            numbers = held_at(path, locator)
        except (ValueError, KeyError, IndexError) as e:
            out.append((m.start(), f"{where} ({target} {locator}: {e})"))
            continue
        exact = locator.startswith(("row ", "key "))
        if not any(agrees(m[1], n, _percent(blank, m.end()), exact) for n in numbers):
            out.append((m.start(), f"{where} ({target} {locator} holds {', '.join(numbers[:6]) or 'no number'})"))
    out += [(m.start(), f"{name}:{_line(text, m.start())}: {m[0]} (no source)") for m in bare]
    return [message for _, message in sorted(out)]


# --- proposing links (a maintainer's tool; the test never uses it) ---------------------------------


def _selector(rows: list[dict], row: dict, keys: list[str]) -> str:
    """The fewest ``k=v`` pairs (key columns in file order) that pick ``row`` alone, or ''."""
    usable = [k for k in keys if row[k] and ", " not in row[k] and "=" not in row[k] and "; " not in row[k]]
    for size in range(1, min(len(usable), 4) + 1):
        for combo in combinations(usable, size):
            if sum(all(r[k] == row[k] for k in combo) for r in rows) == 1:
                return ", ".join(f"{k}={row[k]}" for k in combo)
    return ""


@cache
def _tracks() -> tuple[str, ...]:
    return tuple(names())


def _track_of(text: str) -> str | None:
    return next((t for t in _tracks() if t in text), None)


def _records() -> dict[tuple[int, float], list[tuple[Path, str, str, str | None]]]:
    """(decimals, rounded value) -> [(file, locator, held, track)] over every holder."""
    index: dict[tuple[int, float], list[tuple[Path, str, str, str | None]]] = defaultdict(list)

    def add(path, locator, held, track=None, row=-1):
        try:
            v = abs(_number(held))
        except ValueError:
            return
        track = track or _track_of(path.relative_to(REPO_ROOT).as_posix())
        exact = locator.startswith(("row ", "key "))
        for d in range(0, (8 if exact else min(_decimals(held), 12)) + 1):
            index[d, round(v, d)].append((path, locator, held, track, row))

    for pattern in HOLDERS:
        for path in sorted(REPO_ROOT.glob(pattern)):
            if path.name == "figures.py":
                continue
            if path.suffix == ".csv":
                columns, rows = _csv_rows(path)
                keys = [c for c in columns if rows and not all(NUMBER.fullmatch(r[c] or "0") for r in rows)]
                for i, r in enumerate(rows):
                    sel = _selector(rows, r, keys) or f"#{i + 1}"
                    for c in columns:
                        for n in NUMBER.findall(r[c] or ""):
                            add(path, f"row {sel}; column {c}", n, r.get("track"), i)
            elif path.suffix == ".json":

                def walk(node, at, path=path):
                    if isinstance(node, dict):
                        for k, v in node.items():
                            walk(v, f"{at}.{k}" if at else k)
                    elif isinstance(node, list):
                        for i, v in enumerate(node):
                            walk(v, f"{at}.{i}")
                    elif isinstance(node, (int, float)) and not isinstance(node, bool):
                        add(path, f"key {at}", json.dumps(node))

                walk(_json(path), "")
            elif path.suffix == ".ipynb":
                for i, cell in enumerate(_cells(path)):
                    for n in NUMBER.findall(cell):
                        add(path, f"cell {i}", n)
            else:
                lines = path.read_text().splitlines()
                for line in lines:
                    for n in NUMBER.finditer(line):
                        anchor = line.strip()
                        if len(anchor) > 90:
                            anchor = re.sub(r"^\S*\s*", "", line[max(0, n.start() - 40) : n.end()]).strip()
                        if anchor and not ('"' in anchor and "'" in anchor) and sum(anchor in x for x in lines) <= 3:
                            add(path, f"line with {anchor}", n[0])
    return index


PRIORITY = {".json": 0, ".csv": 1, ".ipynb": 2}
VAGUE = {"row", "column", "key", "cell", "line", "with", "metrics", "comparison", "data_facts", "parameters"}


def _rank(c, context: str, track: str | None, recent: list) -> tuple:
    """How well a record fits a figure, smaller first: the figure's own track, the record's words
    (column, key, row) in the text around it, a record row the neighbouring figures came from (a
    table row reads one record row), a file the text names, JSON before CSV before notebooks before
    code, the latest CSV row."""
    path, locator, _, held_track, row = c
    terms = {t for t in re.split(r"[^\w@]+", locator.lower()) if len(t) > 2 and not t.isdigit()} - VAGUE
    named = path.name in context or path.stem in context
    own = 0 if held_track == track else 1 if held_track is None or track is None else 2
    together = recent.count((path, row if row >= 0 else locator))
    return (
        own,
        -sum(t in context for t in terms),
        -together,
        not named,
        PRIORITY.get(path.suffix, 3),
        -row,
        str(path),
        locator,
    )


def _context(text: str, pos: int) -> str:
    """What the text says around a figure, lower case: its line, its table's header, 300 characters before."""
    start = text.rfind("\n", 0, pos) + 1
    line = text[start : text.find("\n", pos)]
    header = ""
    if line.startswith("|"):
        lines = text[:start].splitlines()
        while lines and lines[-1].startswith("|"):
            header = lines.pop()
    return (text[max(0, pos - 300) : pos] + line + header).lower()


def attribute(readme: Path, index) -> tuple[str, list[str]]:
    """``readme``'s text with a link for each bare figure found in a record, and the figures not found."""
    text = readme.read_text()
    own_track = _track_of(readme.relative_to(REPO_ROOT).parent.as_posix())
    recent: list[tuple[Path, object]] = []
    defs = {(t, loc): label for label, t, loc in _definitions(text)}
    labels = [int(label) for label, _, _ in _definitions(text) if label.isdigit()]
    next_label = max(labels, default=0) + 1
    blank, _, bare = _scan(text)
    out, last, missing = [], 0, []
    for m in bare:
        if text[m.start() - 1 : m.start()] == "[":
            continue
        fig = m[0]
        percent = _percent(blank, m.end())
        d, value = _decimals(fig), _number(fig)
        found = index.get((d, value), [])
        if not found and percent:
            found = index.get((d + 2, round(value / 100, d + 2)), [])
        if not found:
            missing.append(f"{readme.name}:{_line(text, m.start())}: {fig}")
            continue
        context = _context(text, m.start())
        track = own_track or _track_of(text[text.rfind("\n", 0, m.start()) : text.find("\n", m.end())])

        ranks = {c: _rank(c, context, track, recent) for c in found}
        best = min(found, key=ranks.__getitem__)
        own, score, _, unnamed = ranks[best][:4]
        vague = own == 2 or (len(fig.replace(",", "").replace(".", "").strip("0")) <= 2 and score == 0 and unnamed)
        if vague:  # a short figure that only a number matches, nothing around it: a person's call
            missing.append(f"{readme.name}:{_line(text, m.start())}: {fig} (unsure: {best[0].name} {best[1]})")
            continue
        path, locator, _, _, row = best
        recent = [*recent[-11:], (path, row if row >= 0 else locator)]
        target = Path(*[".."] * len(readme.parent.relative_to(REPO_ROOT).parts), path.relative_to(REPO_ROOT))
        key = (target.as_posix(), locator)
        if key not in defs:
            defs[key] = str(next_label)
            next_label += 1
        out.append(text[last : m.start()] + f"[{fig}][{defs[key]}]")
        last = m.end()
    out.append(text[last:])
    body = "".join(out)
    body = re.sub(r"\n*" + re.escape(SOURCES_HEADER) + r".*\Z", "", body, flags=re.S)
    body = DEFINITION.sub("", body).rstrip() + "\n"
    ordered = sorted(defs.items(), key=lambda kv: int(kv[1]) if kv[1].isdigit() else 0)
    body += "\n" + SOURCES_HEADER + "\n" + "".join(f"[{label}]: {t} {_quoted(loc)}\n" for (t, loc), label in ordered)
    return body, missing


def renumber(text: str) -> str:
    """The figure links numbered 1, 2, ... in order of first use, their definitions in that order at
    the end, unused ones dropped."""
    body = re.sub(r"\n*" + re.escape(SOURCES_HEADER) + r".*\Z", "", text, flags=re.S)
    defs = {label: (target, locator) for label, target, locator in _definitions(text)}
    body = DEFINITION.sub("", body).rstrip() + "\n"
    order: dict[str, str] = {}
    for m in LINK.finditer(body):
        if m[2] in defs and m[2] not in order:
            order[m[2]] = str(len(order) + 1)
    body = LINK.sub(lambda m: f"[{m[1]}][{order[m[2]]}]" if m[2] in order else m[0], body)
    return (
        body
        + "\n"
        + SOURCES_HEADER
        + "\n"
        + "".join(f"[{new}]: {defs[old][0]} {_quoted(defs[old][1])}\n" for old, new in order.items())
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("readmes", nargs="+", type=Path)
    ap.add_argument("--attribute", action="store_true", help="write proposed links for bare figures")
    ap.add_argument("--renumber", action="store_true", help="number the links in order of first use")
    args = ap.parse_args(argv)
    index = _records() if args.attribute else None
    bad = []
    for readme in args.readmes:
        readme = readme.resolve()
        if args.attribute:
            body, missing = attribute(readme, index)
            readme.write_text(renumber(body))
            print(*(f"not found: {m}" for m in missing), sep="\n") if missing else None
        elif args.renumber:
            readme.write_text(renumber(readme.read_text()))
        bad += check(readme)
    print(*bad, sep="\n") if bad else print("every figure names its record")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
