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


def _shared_imports(path) -> set[str]:
    """The modules of ``shared`` that ``path`` imports, at its top or inside a function."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "shared":
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("shared."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("shared.")}
    return found


def test_shared_has_no_import_cycle():
    """Not even through an import inside a function: each module can be read before those it uses."""
    folder = REPO_ROOT / "shared"
    graph = {p.stem: _shared_imports(p) - {p.stem} for p in folder.glob("*.py") if p.stem != "__init__"}
    graph = {m: {d for d in deps if d in graph} for m, deps in graph.items()}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for dep in sorted(graph[module]):
            assert dep not in path, "import cycle: " + " -> ".join([*path[path.index(dep) :], dep])
            if dep not in done:
                visit(dep, [*path, dep])
        done.add(module)

    for module in sorted(graph):
        visit(module, [module])


TOOLS = {
    "runner",
    "report",
    "reproduce",
    "timing",
    "book",
    "primer",
    "figures",
    "nbcheck",
    "gpu_check",
    "sharing",
    "ci_time",
}


def test_no_track_imports_the_tools():
    """The make targets' entry points (``shared/__init__.py``'s tools) use the tracks, never the other way."""
    hits = {
        f"{p.relative_to(REPO_ROOT)}: {sorted(_shared_imports(p) & TOOLS)}"
        for p in sorted((REPO_ROOT / "solutions").rglob("*.py"))
        if _shared_imports(p) & TOOLS
    }
    assert not hits, "\n".join(sorted(hits))
