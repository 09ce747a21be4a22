"""The layers of docs/architecture.md, enforced: no import circle, no upward import, no private name
crossing a package boundary. Lazy (function-level) imports count like any other.

Run ``python tests/test_layers.py`` to print the import graph's circles and upward arrows.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "spikekit"

# Lowest first. A module may import its own layer (without a circle) and any layer below.
LAYERS: list[tuple[str, ...]] = [
    ("spikekit._checks", "spikekit._io", "spikekit._registry", "spikekit.surrogate"),
    ("spikekit.functional",),
    ("spikekit.kernels",),
    ("spikekit.nn", "spikekit.encode", "spikekit.decode"),
    (
        "spikekit.data",
        "spikekit.learning",
        "spikekit.models",
        "spikekit.convert",
        "spikekit.quant",
        "spikekit.analysis",
        "spikekit.interop",
        "spikekit.compat",
    ),
    ("spikekit.train", "spikekit.distributed", "spikekit.plot"),
    ("spikekit.cli", "spikekit.__main__"),
]


def modules() -> dict[str, tuple[Path, bool]]:
    """``{dotted name: (file, is a package)}`` for every module of src/spikekit."""
    out = {}
    for p in sorted(SRC.rglob("*.py")):
        parts = list(p.relative_to(SRC.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (p, is_pkg)
    return out


def _resolve(name: str, mods) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def imports(mods=None) -> dict[str, set[tuple[str, str, int]]]:
    """``{module: {(imported module, imported name or "", line)}}``, lazy imports included."""
    mods = modules() if mods is None else mods
    graph: dict[str, set[tuple[str, str, int]]] = {m: set() for m in mods}
    for m, (path, is_pkg) in mods.items():
        base = m if is_pkg else m.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            found: list[tuple[str, str]] = []
            if isinstance(node, ast.Import):
                found = [(a.name, "") for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                if node.level:
                    b = base
                    for _ in range(node.level - 1):
                        b = b.rpartition(".")[0]
                    mod = f"{b}.{mod}" if mod else b
                for a in node.names:
                    sub = f"{mod}.{a.name}"
                    found.append((sub, "") if sub in mods else (mod, a.name))
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
                if (
                    node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    t = node.args[0].value
                    found = [(base + t if t.startswith(".") else t, "")]
            for target, name in found:
                if target == "spikekit" or target.startswith("spikekit."):
                    r = _resolve(target, mods)
                    if r and r != m:
                        graph[m].add((r, name, getattr(node, "lineno", 0)))
    return graph


def cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    edges = {m: {t for t, _, _ in e} for m, e in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
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
                out.append(sorted(comp))

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    for v in edges:
        if v not in index:
            visit(v)
    return out


def layer(module: str) -> int | None:
    for i, names in enumerate(LAYERS):
        if any(module == n or module.startswith(n + ".") for n in names):
            return i
    return None


def _package(module: str, mods) -> str:
    return module if mods[module][1] else module.rpartition(".")[0]


def violations(graph=None) -> list[str]:
    """Upward imports, imports of the ``spikekit`` facade, private names across packages."""
    mods = modules()
    graph = imports(mods) if graph is None else graph
    out = []
    for m, edges in sorted(graph.items()):
        if m == "spikekit":
            continue
        for target, name, line in sorted(edges):
            where = f"{m}:{line} imports {target}{'.' + name if name else ''}"
            if target == "spikekit":
                out.append(f"{where}: the facade (import the subpackage itself)")
                continue
            lm, lt = layer(m), layer(target)
            if lm is None or lt is None:
                out.append(f"{where}: module in no layer (add it to LAYERS and docs/architecture.md)")
            elif lt > lm:
                out.append(f"{where}: upward (layer {lm} -> {lt})")
            private = name.startswith("_") and not name.startswith("__")
            private_mod = any(p.startswith("_") and not p.startswith("__") for p in target.split(".")[1:])
            owner = _package(target, mods)
            while owner.rpartition(".")[2].startswith("_"):  # a private subpackage belongs to its parent
                owner = owner.rpartition(".")[0]
            shared_base = owner == "spikekit" and not private  # _checks, _io, _registry: for every layer
            if (private or private_mod) and not shared_base and _package(m, mods) != owner:
                out.append(f"{where}: private name across a package boundary")
    return out


def test_every_module_has_a_layer():
    missing = [m for m in modules() if m != "spikekit" and layer(m) is None]
    assert not missing, f"modules in no layer: {missing}"


def test_no_import_circles():
    found = cycles(imports())
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_every_arrow_points_down():
    found = violations()
    assert not found, "\n".join(found)


def test_the_checker_sees_circles_and_upward_arrows():
    graph = {
        "spikekit.nn.a": {("spikekit.models.b", "", 1)},
        "spikekit.models.b": {("spikekit.nn.a", "", 2)},
    }
    assert cycles(graph) == [["spikekit.models.b", "spikekit.nn.a"]]
    assert layer("spikekit.nn.a") < layer("spikekit.models.b")


@pytest.mark.parametrize("blocked", ["matplotlib", "tqdm", "sklearn"])
def test_help_works_without_optional_packages(blocked):
    import subprocess

    code = (
        f"import sys; sys.modules[{blocked!r}] = None\n"
        "from spikekit.cli import main\n"
        "for cmd in ([], ['train'], ['plot', 'model'], ['report'], ['stdp'], ['bench']):\n"
        "    try:\n"
        "        main([*cmd, '--help'])\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, (cmd, e.code)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


def test_import_spikekit_is_cheap_and_lists_its_subpackages():
    import subprocess

    code = (
        "import sys, spikekit as sk\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('spikekit'))\n"
        "assert loaded == ['spikekit'], loaded\n"
        "assert 'torch' not in sys.modules\n"
        "assert {'nn', 'encode', 'data', 'train', 'models', 'learning', 'plot'} <= set(dir(sk))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


if __name__ == "__main__":
    g = imports()
    cs = cycles(g)
    print(f"{len(cs)} import circle(s) in src/spikekit (lazy imports included)")
    for c in cs:
        print(f"  {len(c)} modules: {', '.join(c)}")
    vs = violations(g)
    print(f"{len(vs)} arrow(s) against the layers")
    for v in vs:
        print("  " + v)
