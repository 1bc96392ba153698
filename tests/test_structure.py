"""The house rules a newcomer relies on (DESIGN section 2): one layout, no import cycles, no Streamlit in the core,
no module so long that a reader loses the thread."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600


def _modules(package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under `package`."""
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, name: str, is_package: bool) -> set[str]:
    """Every module `path` imports, at any depth of the file (function-local imports count too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    return found


def _graph(package: str) -> dict[str, set[str]]:
    mods = _modules(package)
    graph = {}
    for name, path in mods.items():
        deps = set()
        for imp in _imports(path, name, path.name == "__init__.py"):
            # Resolve to the longest known module: `from planner.model import solve` depends on planner.model.
            parts = imp.split(".")
            while parts and ".".join(parts) not in mods:
                parts.pop()
            if parts and ".".join(parts) != name:
                deps.add(".".join(parts))
        graph[name] = deps
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            # A package's __init__ re-exporting its submodules is not a cycle of its submodules back to it.
            if node.startswith(dep + "."):
                continue
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_in_planner():
    graph = _graph("planner")
    assert "planner.model" in graph and "planner.scenario" in graph
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_planner_never_imports_streamlit_or_ui():
    for name, path in _modules("planner").items():
        imports = _imports(path, name, path.name == "__init__.py")
        bad = sorted(i for i in imports if i.split(".")[0] in ("streamlit", "ui", "pages", "app"))
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_csvio_is_a_leaf():
    path = ROOT / "planner" / "csvio.py"
    imports = _imports(path, "planner.csvio", False)
    assert not [i for i in imports if i.startswith("planner")], imports


def test_only_app_py_at_the_top_level():
    assert sorted(p.name for p in ROOT.glob("*.py")) == ["app.py"]


def test_no_module_too_long_to_read():
    long = []
    for folder in ("planner", "ui", "pages"):
        for path in (ROOT / folder).rglob("*.py"):
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                long.append(f"{path.relative_to(ROOT)}: {n}")
    n_app = len((ROOT / "app.py").read_text(encoding="utf-8").splitlines())
    assert n_app <= MAX_LINES
    assert not long, long


def test_pages_are_thin():
    for path in sorted((ROOT / "pages").glob("*.py")):
        n = len(path.read_text(encoding="utf-8").splitlines())
        assert n <= 160, f"{path.name}: {n} lines; move building tables and charts into ui/"
