"""The layout rules of the code base, checked from the source text (no imports run):
no import cycles between first-party modules (lazy imports inside functions count), no
module over 300 lines outside tests, no ``sys.path`` manipulation, and the package
``__init__`` files import nothing (importing a package must stay cheap)."""

from __future__ import annotations

import ast
from pathlib import Path

from support import ROOT

MAX_LINES = 300
TOP_LEVEL = ["config.py", "embedding.py", "insert_data_to_milvus.py", "sanic_milvus.py"]


def first_party_modules() -> dict[str, Path]:
    """Dotted module name -> file, for the package, the bench and the top-level scripts."""
    files = [ROOT / name for name in TOP_LEVEL]
    files += sorted((ROOT / "wordsim").rglob("*.py")) + sorted((ROOT / "bench").rglob("*.py"))
    # bench/out is the benchmark's scratch space (git-ignored): it holds an older commit's files.
    files = [f for f in files if not f.is_relative_to(ROOT / "bench" / "out")]
    modules = {}
    for path in files:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports_of(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """First-party modules that ``path`` imports anywhere in its text."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from pkg import mod" imports the module pkg.mod when there is one.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    modules = first_party_modules()
    graph = {name: imports_of(path, name, modules) for name, path in modules.items()}
    assert "wordsim.model.loader" in graph["embedding"]  # the parser sees imports at all
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_over_300_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in first_party_modules().values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_sys_path_manipulation():
    files = [*first_party_modules().values(), *(ROOT / "tests").rglob("*.py")]
    offenders = [
        str(p.relative_to(ROOT)) for p in files if p != Path(__file__) and "sys.path.insert" in p.read_text()
    ]
    assert offenders == []


def test_package_inits_import_nothing():
    for init in (ROOT / "wordsim").rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)], init
