"""NIR graphs written by other frameworks import into spikekit and run as their writers run them.

Each graph is written by a peer's own exporter (snnTorch's ``export_to_nir``, Norse's ``to_nir``,
SpikingJelly's ``export_to_nir``), by hand following a writer's documented convention (Sinabs: ``IAF`` ->
``IF(r = 1)``, ``LIF`` -> ``LIF(tau in steps, r = 1)``), or with the ``nir`` package's constructors (0-d
parameters, recurrent CubaLIF: the NIR paper's Braille RNN). The imported module's spikes are compared with
``simulate``, a float64 simulation of the NIR specification's equations written here, independent of the
library, discretised at the step the writer uses (forward Euler, the synaptic current updated first, as
snnTorch and SpikingJelly step a CubaLIF):

    IF       v += dt r I
    LIF      v += dt / tau (v_leak - v + r I)
    CubaLIF  i += dt / tau_syn (-i + w_in I);  v += dt / tau_mem (v_leak - v + r i)
    spike    z = [v > v_threshold];  v = v_reset where z
    LI/I/CubaLI output the membrane; a recurrent edge carries the previous step's output.

``DISAGREEMENTS`` collects, per writer and node type, the number of differing spikes (printed by
``test_zz_table`` with ``-s``).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

nir = pytest.importorskip("nir", reason="the nir package is not installed (pip install nir)")
sknir = pytest.importorskip("spikekit.interop.nir")

DISAGREEMENTS: dict[tuple[str, str], tuple[int, int]] = {}


# --- the reference: NIR's equations in float64 -----------------------------------------------------------
def _f(a) -> np.ndarray:
    return np.asarray(a, np.float64)


def _flat_nodes(graph, prefix=""):
    nodes, edges = {}, []
    for k, n in graph.nodes.items():
        if isinstance(n, nir.NIRGraph):
            sub_nodes, sub_edges = _flat_nodes(n, f"{prefix}{k}.")
            nodes.update(sub_nodes)
            edges += sub_edges
        else:
            nodes[prefix + k] = n
    for a, b in graph.edges:
        edges.append((_resolve(graph, prefix, a, "output"), _resolve(graph, prefix, b, "input")))
    return nodes, edges


def _resolve(graph, prefix, key, end):
    node = graph.nodes[key]
    if isinstance(node, nir.NIRGraph):  # an edge into/out of a subgraph: its input/output node
        inner = [
            k for k, n in node.nodes.items() if isinstance(n, nir.Input if end == "input" else nir.Output)
        ]
        return f"{prefix}{key}.{inner[0]}"
    return prefix + key


def simulate(graph, x: np.ndarray, dt) -> np.ndarray:
    """Run ``graph`` on ``x`` ``[T, B, ...]`` (float64); ``dt``: a float, or ``{node key: dt}``."""
    nodes, edges = _flat_nodes(graph)
    start = next(k for k, n in nodes.items() if isinstance(n, nir.Input) and "." not in k)
    end = next(k for k, n in nodes.items() if isinstance(n, nir.Output) and "." not in k)
    state: dict[str, dict] = {k: {} for k in nodes}
    prev = {k: None for k in nodes}  # last step's output of every node (for recurrent edges)
    out = []
    for x_t in x:
        values = {start: x_t}
        pending = [k for k in nodes if k != start]
        while pending:
            progressed = False
            for k in list(pending):
                srcs = [a for a, b in edges if b == k]
                if any(a not in values and not _is_recurrent(a, k, edges) for a in srcs):
                    continue
                total = None
                for a in srcs:
                    v = values.get(a)
                    if v is None:  # the feedback: the previous step's output; at the first step, the
                        v = prev[a] if prev[a] is not None else _at_rest(nodes[a], len(x_t))  # node at rest
                    if v is not None:
                        total = v if total is None else total + v
                node = nodes[k]
                if total is None:  # a node fed only by feedback at step 0
                    total = np.zeros_like(values[start])
                d = dt[k] if isinstance(dt, dict) else dt
                values[k] = _step(node, total, state[k], d)
                pending.remove(k)
                progressed = True
            assert progressed, "simulate: the graph has a cycle this reference cannot order"
        prev.update(values)
        out.append(values[end])
    return np.stack(out)


def _at_rest(node, batch):
    """A feedback node's output before the first step: an Affine's bias (its input, the spikes, is 0)."""
    if isinstance(node, nir.Affine):
        return np.broadcast_to(_f(node.bias), (batch, *np.shape(node.bias))).copy()
    return None


def _is_recurrent(a, k, edges) -> bool:
    """``a -> k`` closes a cycle: ``k`` reaches ``a``."""
    seen, todo = {k}, [k]
    while todo:
        n = todo.pop()
        for s, t in edges:
            if s == n and t not in seen:
                if t == a:
                    return True
                seen.add(t)
                todo.append(t)
    return False


def _step(node, x, st, dt):
    if isinstance(node, nir.Input | nir.Output):
        return x
    if isinstance(node, nir.Affine):
        return x @ _f(node.weight).T + _f(node.bias)
    if isinstance(node, nir.Linear):
        return x @ _f(node.weight).T
    if isinstance(node, nir.Flatten):
        start, end = int(node.start_dim), int(node.end_dim)
        start, end = (start + 1 if start >= 0 else start), (end + 1 if end >= 0 else end)
        return torch.from_numpy(x).flatten(start, end).numpy()
    if isinstance(node, nir.Conv2d):
        w = torch.from_numpy(_f(node.weight))
        pad = tuple(np.atleast_1d(node.padding).tolist())
        stride = tuple(np.atleast_1d(node.stride).tolist())
        y = torch.nn.functional.conv2d(torch.from_numpy(x), w, torch.from_numpy(_f(node.bias)), stride, pad)
        return y.numpy()
    if isinstance(node, nir.SumPool2d):
        k = tuple(np.atleast_1d(node.kernel_size).tolist())
        s = tuple(np.atleast_1d(node.stride).tolist())
        return torch.nn.functional.avg_pool2d(torch.from_numpy(x), k, s, divisor_override=1).numpy()
    if isinstance(node, nir.IF | nir.I):
        v = st.get("v", np.zeros_like(x)) + dt * _f(node.r) * x
        return _fire(node, v, st)
    if isinstance(node, nir.LIF | nir.LI):
        v = st.get("v", np.zeros_like(x))
        v = v + dt / _f(node.tau) * (_f(node.v_leak) - v + _f(node.r) * x)
        return _fire(node, v, st)
    if isinstance(node, nir.CubaLIF | nir.CubaLI):
        i = st.get("i", np.zeros_like(x))
        i = i + dt / _f(node.tau_syn) * (-i + _f(node.w_in) * x)
        st["i"] = i
        v = st.get("v", np.zeros_like(x))
        v = v + dt / _f(node.tau_mem) * (_f(node.v_leak) - v + _f(node.r) * i)
        return _fire(node, v, st)
    raise NotImplementedError(type(node).__name__)


def _fire(node, v, st):
    if isinstance(node, nir.I | nir.LI | nir.CubaLI):
        st["v"] = v
        return v
    z = (v > _f(node.v_threshold)).astype(np.float64)
    st["v"] = np.where(z > 0, np.broadcast_to(_f(node.v_reset), v.shape), v)
    return z


def compare(writer: str, kind: str, graph, x: torch.Tensor, dt, module=None, **import_kw) -> torch.Tensor:
    """Import ``graph`` (no ``dt`` unless given in ``import_kw``), run it on ``x`` and the reference on the
    same input; record and return the spikes that differ."""
    module = sknir.import_(graph, **import_kw) if module is None else module
    with torch.no_grad():
        ours = module(x.to(torch.float64) if import_kw.get("dtype") == torch.float64 else x)
    ref = torch.from_numpy(simulate(graph, x.double().numpy(), dt))
    differ = int((ours.double() != ref).sum())
    DISAGREEMENTS[(writer, kind)] = (differ, ref.numel())
    assert 0.02 < float(ref.mean()) < 0.98, f"{writer} {kind}: the reference is (almost) silent or saturated"
    return differ


def rand(*shape, scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g) * scale


def chain(*nodes, n_in, n_out, metadata=None):
    keys = ["input"] + [f"n{i}" for i in range(len(nodes))] + ["output"]
    all_nodes = dict(zip(keys, [nir.Input(np.array(n_in)), *nodes, nir.Output(np.array(n_out))], strict=True))
    edges = list(zip(keys[:-1], keys[1:], strict=True))
    return nir.NIRGraph(nodes=all_nodes, edges=edges, type_check=False, metadata=metadata or {})


def weights(n_out, n_in, seed, scale=1.0, shift=0.25):
    g = np.random.default_rng(seed)
    return (g.random((n_out, n_in)) - shift) * scale


# --- Sinabs: IAF -> IF(r = 1), LIF -> LIF(tau in steps, r = 1) --------------------------------------------
def sinabs_cnn(seed=0):
    """The NIR paper's CNN shape, as Sinabs writes it: Conv2d -> IF(r=1) -> SumPool2d -> Conv2d -> IF ->
    Flatten -> Affine -> IF. Parameters carry the neuron shape (Sinabs writes per-neuron arrays)."""
    g = np.random.default_rng(seed)
    c1 = nir.Conv2d(None, (g.random((4, 2, 3, 3)) - 0.45) * 0.8, 1, 1, 1, 1, g.random(4) * 0.02)
    c2 = nir.Conv2d(None, (g.random((6, 4, 3, 3)) - 0.5) * 0.4, 1, 1, 1, 1, np.zeros(6))
    nodes = {
        "input": nir.Input(np.array([2, 8, 8])),
        "conv1": c1,
        "if1": nir.IF(r=np.ones((4, 8, 8)), v_threshold=np.ones((4, 8, 8)), v_reset=np.zeros((4, 8, 8))),
        "pool": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
        "conv2": c2,
        "if2": nir.IF(r=np.ones((6, 4, 4)), v_threshold=np.ones((6, 4, 4)), v_reset=np.zeros((6, 4, 4))),
        "flat": nir.Flatten({"input": np.array([6, 4, 4])}, 0, -1),
        "fc": nir.Affine((g.random((5, 96)) - 0.5) * 0.5, np.zeros(5)),
        "if3": nir.IF(r=np.ones(5), v_threshold=np.ones(5), v_reset=np.zeros(5)),
        "output": nir.Output(np.array([5])),
    }
    keys = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(keys[:-1], keys[1:], strict=True)), type_check=False)


def test_sinabs_if_cnn_runs_with_unit_gain_and_no_dt():
    graph = sinabs_cnn()
    x = (rand(40, 3, 2, 8, 8, seed=1) < 0.3).float()  # events
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is ambiguous here: no warning
        module = sknir.import_(graph)
    assert compare("Sinabs", "IF (CNN)", graph, x, dt=1.0, module=module) == 0
    with torch.no_grad():
        assert float(module(x).mean()) > 0.02  # the NIR paper's CNN used to import dead (dt = 1e-4)


def test_sinabs_mixed_if_and_lif_counts_time_in_steps():
    g = np.random.default_rng(3)
    graph = chain(
        nir.Affine(weights(6, 5, 4, 0.9), np.zeros(6)),
        nir.IF(r=np.ones(6), v_threshold=np.full(6, 1.0), v_reset=np.zeros(6)),
        nir.Affine(weights(4, 6, 5, 1.2), np.zeros(4)),
        nir.LIF(
            tau=g.uniform(4, 20, 4),
            r=np.ones(4),
            v_leak=np.zeros(4),
            v_threshold=np.full(4, 0.3),
            v_reset=np.zeros(4),
        ),
        n_in=[5],
        n_out=[4],
    )
    x = rand(60, 4, 5, scale=1.5, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compare("Sinabs", "IF + LIF", graph, x, dt=1.0) == 0


# --- snnTorch: export_to_nir (dt = 1e-4, r = tau / dt, w_in = tau_syn / dt) -------------------------------
def _snntorch_graph(net, n_in):
    pytest.importorskip("nirtorch")
    from snntorch.export_nir import export_to_nir

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return export_to_nir(net, torch.rand(1, n_in), ignore_dims=[0])


@pytest.mark.peers
def test_snntorch_graphs_import_at_their_step():
    snn = pytest.importorskip("snntorch")
    torch.manual_seed(31)
    kw = {"init_hidden": True, "reset_mechanism": "zero", "reset_delay": False}
    # snnTorch 1.0's RSynaptic cannot run with reset_delay=False; only its parameters are exported
    rsyn = snn.RSynaptic(alpha=0.6, beta=0.85, linear_features=8, **{**kw, "reset_delay": True})
    net = nn.Sequential(
        nn.Linear(5, 10),
        snn.Leaky(beta=torch.full((10,), 0.9), threshold=torch.ones(10), **kw),
        nn.Linear(10, 8),
        rsyn,  # a recurrent CubaLIF whose Affine feedback has a bias
        nn.Linear(8, 4),
        snn.Synaptic(
            alpha=torch.full((4,), 0.7),
            beta=torch.full((4,), 0.8),
            threshold=torch.ones(4),
            output=True,
            **kw,
        ),
    )
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        rsyn.recurrent.weight.mul_(0.5)
        net[4].bias.add_(0.15)
    graph = _snntorch_graph(net, 5)
    kinds = sorted({type(n).__name__ for n in graph.nodes.values()})
    assert "NIRGraph" in kinds or "CubaLIF" in kinds
    x = rand(50, 3, 5, scale=4.0, seed=32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # r = tau / dt fixes dt: no warning
        assert compare("snnTorch", "LIF + RSynaptic + Synaptic", graph, x, dt=1e-4) == 0


# --- SpikingJelly: export_to_nir (dt = 1e-4: IF r = 1/dt, LIF tau = tau_steps dt, CUBALIF unit gains) ----
@pytest.mark.peers
@pytest.mark.parametrize("kind", ["IF", "LIF decay_input", "LIF no decay_input", "CUBALIF", "IF + LIF"])
def test_spikingjelly_graphs_import_at_their_step(kind):
    sj = pytest.importorskip("spikingjelly.activation_based.nir_exchange.to_nir")
    from spikingjelly.activation_based import layer, neuron

    torch.manual_seed(41)
    make = {
        "IF": lambda: [neuron.IFNode(v_threshold=1.0)],
        "LIF decay_input": lambda: [neuron.LIFNode(tau=2.0, v_threshold=0.4)],
        "LIF no decay_input": lambda: [neuron.LIFNode(tau=3.0, decay_input=False, v_threshold=1.0)],
        "CUBALIF": lambda: [neuron.CUBALIFNode(c_decay=0.5, v_decay=0.75, v_threshold=0.5)],
        "IF + LIF": lambda: [neuron.IFNode(), layer.Linear(6, 6), neuron.LIFNode(tau=4.0, v_threshold=0.3)],
    }[kind]
    net = nn.Sequential(layer.Linear(5, 6), *make())
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.from_numpy(weights(6, m.in_features, 7, 1.5)))
    graph = sj.export_to_nir(net, torch.zeros(1, 5))
    x = rand(60, 3, 5, scale=1.5, seed=42)
    if kind == "LIF decay_input":  # LIF(tau = 2e-4, r = 1) alone does not fix dt: warned, snnTorch's 1e-4
        with pytest.warns(UserWarning, match=r"assumed dt = 0\.0001"):
            module = sknir.import_(graph)
        assert compare("SpikingJelly", kind, graph, x, dt=1e-4, module=module) == 0
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert compare("SpikingJelly", kind, graph, x, dt=1e-4) == 0


# --- Norse: to_nir (IAF -> IF(r = 1): v += x; leaky cells at a dt the graph does not state) ---------------
@pytest.mark.peers
def test_norse_if_graph_imports_with_unit_gain():
    norse = pytest.importorskip("norse.torch")
    pytest.importorskip("nirtorch")
    m = norse.SequentialState(nn.Linear(5, 6), norse.IAFCell())
    with torch.no_grad():
        m[0].weight.copy_(torch.from_numpy(weights(6, 5, 8, 1.2)))
    graph = norse.to_nir(m, torch.zeros(1, 5))
    x = rand(50, 3, 5, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert compare("Norse", "IF", graph, x, dt=1.0) == 0


@pytest.mark.peers
def test_norse_leaky_graph_warns_and_imports_at_the_given_step():
    """Norse 1.1's ``to_nir`` writes ``tau = dt / tau_mem_inv`` (= dt * tau, fixed upstream in Norse #413,
    which writes tau in seconds); its cells step ``v += dt tau_mem_inv (-v + x)`` with dt = 1e-3, which is
    NIR's Euler step at dt**2 = 1e-6. Nothing in the graph says so: import_ warns and refuses tau < dt."""
    norse = pytest.importorskip("norse.torch")
    pytest.importorskip("nirtorch")
    m = norse.SequentialState(nn.Linear(5, 6), norse.LIFBoxCell())
    with torch.no_grad():
        m[0].weight.copy_(torch.from_numpy(weights(6, 5, 10, 20.0)))
    graph = norse.to_nir(m, torch.zeros(1, 5))
    with pytest.warns(UserWarning, match=r"r = 1 .* leaves the time step open"):
        with pytest.raises(ValueError, match=r"tau = 1e-05 < dt = 0\.0001"):
            sknir.import_(graph)
    x = rand(50, 3, 5, seed=11)
    module = sknir.import_(graph, dt=1e-6)
    assert compare("Norse", "LIF (dt given)", graph, x, dt=1e-6, module=module) == 0
    state, theirs = None, []
    with torch.no_grad():  # Norse's own run (a cell steps once per call): the same spikes
        for x_t in x:
            z, state = m(x_t, state)
            theirs.append(z)
        assert int((torch.stack(theirs) != module(x)).sum()) == 0


# --- the nir package's constructors: 0-d and broadcastable parameters -------------------------------------
def _zero_d_nodes():
    return {
        "IF": nir.IF(r=np.array(1.0), v_threshold=np.array(0.8), v_reset=np.array(0.0)),
        "LIF": nir.LIF(
            tau=np.array(2e-3),
            r=np.array(20.0),
            v_leak=np.array(0.0),
            v_threshold=np.array(0.5),
            v_reset=np.array(0.0),
        ),
        "CubaLIF": nir.CubaLIF(
            tau_syn=np.array(5e-4),
            tau_mem=np.array(1e-3),
            r=np.array(10.0),
            v_leak=np.array(0.0),
            v_threshold=np.array(0.4),
            w_in=np.array(5.0),
            v_reset=np.array(0.0),
        ),
        "LIF broadcast": _broadcast_lif(),
    }


def _broadcast_lif():
    """Shared values written once (``(1,)`` and 0-d) beside per-neuron thresholds; nir's constructor wants
    one shape, so the node is built per neuron and then given the writer's shapes."""
    node = nir.LIF(
        tau=np.full(6, 2e-3),
        r=np.full(6, 20.0),
        v_leak=np.zeros(6),
        v_threshold=np.linspace(0.3, 0.8, 6),
        v_reset=np.zeros(6),
    )
    node.tau, node.r, node.v_leak, node.v_reset = np.array([2e-3]), np.array(20.0), np.zeros(6), np.array(0.0)
    return node


@pytest.mark.parametrize("kind", ["IF", "LIF", "CubaLIF", "LIF broadcast"])
def test_zero_d_parameters_import(kind):
    node = _zero_d_nodes()[kind]
    graph = chain(nir.Affine(weights(6, 5, 12, 1.2), np.zeros(6)), node, n_in=[5], n_out=[6])
    x = rand(60, 3, 5, scale=1.2, seed=13)
    dt = 1.0 if kind == "IF" else 1e-4
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert compare("nir (0-d)", kind, graph, x, dt=dt) == 0


@pytest.mark.parametrize("kind", ["I", "LI", "CubaLI"])
def test_membrane_nodes_with_zero_d_parameters_match_the_reference(kind):
    node = {
        "I": nir.I(r=np.array(1.0)),
        "LI": nir.LI(tau=np.array(2e-3), r=np.array(20.0), v_leak=np.array(0.0)),
        "CubaLI": nir.CubaLI(
            tau_syn=np.array(5e-4),
            tau_mem=np.array(1e-3),
            r=np.array(10.0),
            v_leak=np.array(0.0),
            w_in=np.array(5.0),
        ),
    }[kind]
    graph = chain(nir.Affine(weights(4, 5, 14, 1.0), np.zeros(4)), node, n_in=[5], n_out=[4])
    x = rand(40, 2, 5, seed=15)
    ours = sknir.import_(graph, dtype=torch.float64)(x.double())
    ref = torch.from_numpy(simulate(graph, x.double().numpy(), 1.0 if kind == "I" else 1e-4))
    assert torch.allclose(ours, ref, rtol=1e-12, atol=1e-12)
    diff = float((ours.detach() - ref).abs().max())
    DISAGREEMENTS[("nir (0-d)", kind + " (membrane, max |diff|)")] = (diff, ref.numel())


# --- recurrent CubaLIF: the NIR paper's Braille RNN -------------------------------------------------------
def braille_like(seed=0, bias=True, n_in=12, n_hid=16, n_out=7):
    """Affine -> recurrent CubaLIF (subgraph lif, w_rec) -> Affine -> CubaLIF, snnTorch's dt = 1e-4 layout
    (``r = tau_mem / dt``, ``w_in = tau_syn / dt``), like the Braille graph the NIR paper ran."""
    g = np.random.default_rng(seed)
    dt = 1e-4

    def cuba(n, a, b, thr):
        ts, tm = dt / (1 - a), dt / (1 - b)
        return nir.CubaLIF(
            tau_syn=np.full(n, ts),
            tau_mem=np.full(n, tm),
            r=np.full(n, tm / dt),
            v_leak=np.zeros(n),
            v_threshold=np.full(n, thr),
            w_in=np.full(n, ts / dt),
            v_reset=np.zeros(n),
        )

    w_rec = (g.random((n_hid, n_hid)) - 0.6) * 0.6
    rec = nir.Affine(w_rec, (g.random(n_hid) - 0.5) * 0.2) if bias else nir.Linear(w_rec)
    sub = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n_hid])),
            "lif": cuba(n_hid, 0.55, 0.9, 1.0),
            "w_rec": rec,
            "output": nir.Output(np.array([n_hid])),
        },
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
        type_check=False,
    )
    nodes = {
        "input": nir.Input(np.array([n_in])),
        "fc1": nir.Affine((g.random((n_hid, n_in)) - 0.5) * 1.0, (g.random(n_hid) - 0.5) * 0.1),
        "lif1": sub,
        "fc2": nir.Affine((g.random((n_out, n_hid)) - 0.5) * 1.0, np.zeros(n_out)),
        "lif2": cuba(n_out, 0.5, 0.55, 1.0),
        "output": nir.Output(np.array([n_out])),
    }
    keys = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(keys[:-1], keys[1:], strict=True)), type_check=False)


@pytest.mark.parametrize("bias", [True, False])
def test_recurrent_cubalif_imports(bias, tmp_path):
    graph = braille_like(bias=bias)
    x = (rand(80, 4, 12, seed=16) < 0.3).float()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert (
            compare("nir (Braille-like)", f"recurrent CubaLIF{' + bias' if bias else ''}", graph, x, dt=1e-4)
            == 0
        )
    sknir.write(graph, tmp_path / "braille.nir")  # nir flattens the subgraph on reading: lif1.lif, lif1.w_rec
    flat = sknir.read(tmp_path / "braille.nir")
    with torch.no_grad():
        assert torch.equal(sknir.import_(flat)(x), sknir.import_(graph)(x))


def test_the_braille_graph_norse_ships_imports():
    path = Path(pytest.importorskip("norse").__file__).parent / "torch/utils/test/braille.nir"
    if not path.is_file():
        pytest.skip("norse's test braille.nir is not installed")
    graph = sknir.read(path)
    g = np.random.default_rng(17)
    x = torch.from_numpy((g.random((120, 4, 12)) < 0.5).astype(np.float32))
    assert compare("NIR paper (Braille, snnTorch)", "recurrent CubaLIF", graph, x * 3.0, dt=1e-4) == 0


# --- Flatten ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("start,end", [(0, -1), (-3, -1), (-2, -1), (1, 2), (-2, 2)])
def test_flatten_dims_count_without_the_batch(start, end):
    flat = nir.Flatten({"input": np.array([2, 3, 4])}, start, end)
    graph = chain(flat, n_in=[2, 3, 4], n_out=list(flat.output_type["output"]))
    x = torch.randn(3, 5, 2, 3, 4)
    ours = sknir.import_(graph)(x)
    expected = x.flatten(2 + start if start >= 0 else start, 2 + end if end >= 0 else end)
    assert tuple(ours.shape[2:]) == tuple(flat.output_type["output"])
    assert torch.equal(ours, expected)


# --- float64 ------------------------------------------------------------------------------------------------
def test_float64_import_computes_every_constant_in_float64():
    dt = 1e-4
    tau = np.array([3.3e-4, 7.1e-4, 1.9e-3])
    thr = np.array([0.31, 0.77, 1.13])
    lif = nir.LIF(tau=tau, r=tau / dt * 1.1, v_leak=np.zeros(3), v_threshold=thr, v_reset=np.zeros(3))
    cuba = nir.CubaLIF(
        tau_syn=tau * 0.7,
        tau_mem=tau,
        r=np.full(3, 3.0),
        v_leak=np.zeros(3),
        v_threshold=thr,
        w_in=np.full(3, 2.0),
        v_reset=np.zeros(3),
    )
    graph = chain(lif, nir.Linear(np.eye(3)), cuba, n_in=[3], n_out=[3], metadata={"dt": dt})
    m = sknir.import_(graph, dtype=torch.float64)
    beta = torch.from_numpy(1 - dt / tau)
    assert m[0].beta.dtype == torch.float64
    assert float((m[0].beta - beta).abs().max()) <= 1e-12
    gain = (tau / dt * 1.1) * dt / tau
    assert float((m[0].threshold - torch.from_numpy(thr / gain)).abs().max()) <= 1e-12
    assert float((m[2].alpha - torch.from_numpy(1 - dt / (tau * 0.7))).abs().max()) <= 1e-12
    g2 = (2.0 * dt / (tau * 0.7)) * (3.0 * dt / tau)
    assert float((m[2].threshold - torch.from_numpy(thr / g2)).abs().max()) <= 1e-12
    x = rand(60, 2, 3, scale=3.0, seed=18).double()
    ref = torch.from_numpy(simulate(graph, x.numpy(), dt))
    assert torch.equal(m(x), ref)


# --- the table --------------------------------------------------------------------------------------------
def test_zz_table(capsys):
    """Prints the writer x node-type table of differing spikes (run the file with ``-s`` to see it)."""
    if not DISAGREEMENTS:
        pytest.skip("no comparison ran")
    with capsys.disabled():
        print("\n| writer | nodes | differing | of |\n|---|---|---|---|")
        for (writer, kind), (d, n) in DISAGREEMENTS.items():
            print(f"| {writer} | {kind} | {d:g} | {n} |")
