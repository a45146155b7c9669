"""``shared/`` is the helper package every track uses: it names no track (a track is found through
``shared.track.registry``), so a fifth track needs no change in it. Its subpackages are layers
(``shared.LAYERS``): each imports only those before it, no module imports in a cycle, and no track
imports the tools."""

import ast
import re

import shared
from shared.runtime.paths import REPO_ROOT
from shared.track.registry import names

SHARED = REPO_ROOT / "shared"


def test_no_module_in_shared_names_a_track():
    pattern = re.compile("|".join(map(re.escape, names())))
    hits = [
        f"{p.relative_to(REPO_ROOT)}:{k}: {line.strip()}"
        for p in sorted(SHARED.rglob("*.py"))
        for k, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not hits, "\n".join(hits)


def _module(path) -> str:
    return ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")


def _shared_imports(path) -> set[str]:
    """The modules of ``shared`` (dotted, ``shared.data.io``) that ``path`` imports, at its top or
    inside a function; ``from shared.train import bench`` names the module ``shared.train.bench``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "shared":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if (REPO_ROOT / sub.replace(".", "/")).with_suffix(".py").exists() else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("shared.")}
    return found


def _modules() -> dict[str, set[str]]:
    return {_module(p): _shared_imports(p) for p in sorted(SHARED.rglob("*.py"))}


def test_every_module_sits_in_a_layer_and_imports_only_layers_before_it():
    layer = {name: k for k, name in enumerate(shared.LAYERS)}
    modules = _modules()
    homeless = [m for m in modules if m != "shared" and m.split(".")[1] not in layer]
    assert not homeless, f"modules outside the layers {shared.LAYERS}: {homeless}"
    upward = [
        f"{m} imports {dep}"
        for m, deps in modules.items()
        if m != "shared"
        for dep in deps
        if dep != "shared" and layer[dep.split(".")[1]] > layer[m.split(".")[1]]
    ]
    assert not upward, "\n".join(upward)


def test_the_layer_rule_catches_an_upward_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from shared.tools import runner\n    from shared.data.io import digest\n")
    assert _shared_imports(probe) == {"shared.tools.runner", "shared.data.io"}


def test_shared_has_no_import_cycle():
    """Not even through an import inside a function: each module can be read before those it uses."""
    graph = {m: deps - {m} for m, deps in _modules().items() if m != "shared"}
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


def test_no_track_imports_the_tools():
    """The make targets' entry points (``shared.tools``) use the tracks, never the other way."""
    hits = {
        f"{p.relative_to(REPO_ROOT)}: {sorted(d for d in _shared_imports(p) if d.startswith('shared.tools'))}"
        for p in sorted((REPO_ROOT / "solutions").rglob("*.py"))
        if any(d.startswith("shared.tools") for d in _shared_imports(p))
    }
    assert not hits, "\n".join(sorted(hits))
