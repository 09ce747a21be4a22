"""The layer rule of docs/architecture.md, checked on the source: no import circles, no upward imports
(lazy ones included), no private name crossing a package boundary, and a cheap ``import spikekit``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "spikekit"

# Lowest layer first; a module may import its own layer and those below, never above.
LAYERS: list[tuple[str, ...]] = [
    ("_checks", "_io", "_registry", "surrogate"),
    ("functional",),
    ("kernels",),
    ("nn", "encode", "decode"),
    ("models", "learning", "convert", "analysis", "interop", "data"),
    ("train", "distributed", "plot"),
    ("cli", "__main__"),
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}
# Base-layer modules every layer may use although their names are private.
SHARED_PRIVATE = {"_checks", "_io", "_registry"}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, str, int]]:
    """``(module, imported name or "", line)`` for every spikekit import in the file, at any depth."""
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "spikekit":
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    out.append(
                        (sub, "", node.lineno) if sub in MODULES else (target, alias.name, node.lineno)
                    )
        elif isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names if a.name.split(".")[0] == "spikekit"]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            raise AssertionError(f"{path}:{node.lineno}: import by string; import the module by name")
    return out


def _known(target: str) -> str:
    while target not in MODULES and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for target, _, _ in _imports(name, path):
            target = _known(target)
            if target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_layer():
    missing = sorted({_top(m) for m in MODULES if m != "spikekit"} - set(RANK))
    assert not missing, f"modules with no layer in docs/architecture.md: {missing}"


def test_no_import_circles():
    assert _cycles(_graph()) == []


def test_no_upward_imports():
    bad = []
    for name, path in MODULES.items():
        if name == "spikekit":  # the package facade loads subpackages lazily by name
            continue
        for target, _, line in _imports(name, path):
            src, dst = _top(name), _top(_known(target))
            if dst and RANK[dst] > RANK[src]:
                bad.append(f"{path.relative_to(SRC.parent)}:{line}: {src} (layer {RANK[src]}) -> {dst}")
    assert not bad, "imports pointing up:\n" + "\n".join(bad)


def test_no_private_names_across_packages():
    bad = []
    for name, path in MODULES.items():
        for target, attr, line in _imports(name, path):
            target = _known(target) if not attr else target
            if _top(target) == _top(name) or _top(target) in SHARED_PRIVATE:
                continue
            private = [p for p in target.split(".")[1:] if p.startswith("_") and p != "__init__"]
            if private or attr.startswith("_"):
                bad.append(f"{path.relative_to(SRC.parent)}:{line}: {target} {attr}".rstrip())
    assert not bad, "private names used from another package:\n" + "\n".join(bad)


def test_import_spikekit_is_cheap_and_lists_subpackages():
    code = (
        "import sys, spikekit as sk;"
        "heavy = [m for m in ('torch', 'numpy', 'matplotlib') if m in sys.modules];"
        "print(heavy); print(sorted(n for n in dir(sk) if not n.startswith('_')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy, names = out.splitlines()
    assert heavy == "[]"
    for sub in ("nn", "functional", "encode", "decode", "data", "train", "models", "learning", "plot"):
        assert repr(sub) in names


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["stdp", "--help"], ["bench", "--help"]])
def test_cli_help_needs_no_matplotlib(argv):
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.modules['tqdm'] = None\n"
        "from spikekit.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit as e:\n    sys.exit(e.code)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "usage:" in res.stdout
