"""The peer benchmark's measurements (``spikekit bench``): spikekit's backends against snnTorch,
SpikingJelly and Norse, in one process. See :mod:`spikekit.cli.bench` for the workloads.

Workloads (CPU unless a CUDA device is given), each timed as forward + backward, the median of
``repeats`` runs after ``warmup`` runs:

- ``layer``: ``Linear(F, F)`` then a LIF layer over ``T`` steps, batch ``B``, loss = output sum; also the
  Linear layer alone (the floor the neuron adds to);
- ``memory``: bytes of the tensors the autograd graph holds for backward after the forward (distinct
  storages, counted with :func:`torch.autograd.graph.saved_tensors_hooks`; graphs already freed, such as
  that of an input check, do not count), for the whole layer and for the neuron alone;
- ``train``: one training step of the original experiment (batch 1000, ``T = 128``, 784-100-10
  refractory neurons, flicker input, ``log_softmax`` of the time-mean of layer 2's membrane, SGD with
  momentum 0.5), in its own stateful code and in spikekit.

The LIF is the same in every library: ``v = 0.9 v + x``, spike when ``v`` reaches 1, subtract 1, arc-
tangent surrogate (snnTorch ``Leaky(beta=0.9)``; SpikingJelly ``LIFNode(tau=10, decay_input=False,
v_reset=None)``, multi-step, its torch backend; Norse's ``LIF`` integrates a synaptic current too, with
its defaults, as users run it). Peers that are not installed are skipped.

Example:
    >>> from spikekit.cli._bench_measure import run_bench
    >>> from spikekit.cli.bench import format_results
    >>> result = run_bench(workloads=[(100, 16, 512)], repeats=3, train=False)
    >>> print(format_results(result))
"""

from __future__ import annotations

import importlib.metadata
import platform
import statistics
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from .. import encode, functional, kernels, surrogate
from ..kernels import available_backends
from ..nn import LIF, LinearLIF, RefractoryLIF
from ._bench_spec import GRID, MAIN_WORKLOADS, PEERS

__all__ = [
    "GRID",
    "MAIN_WORKLOADS",
    "PEERS",
    "SeedNetOriginal",
    "SeedNetSpikekit",
    "bench_layer",
    "bench_train",
    "candidates",
    "environment",
    "peer_versions",
    "run_bench",
    "saved_bytes",
    "targets",
    "time_median",
]

Step = Callable[[], Any]


# --- measuring -----------------------------------------------------------------------------------------
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_median(fn: Step, repeats: int, warmup: int, device: torch.device) -> tuple[float, list[float]]:
    """Median wall time of ``fn`` over ``repeats`` runs after ``warmup`` runs (seconds)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


class _Box:
    __slots__ = ("tensor", "__weakref__")

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor


def saved_bytes(forward: Callable[[], torch.Tensor], exclude: Iterable[torch.Tensor] = ()) -> int:
    """Bytes of distinct storages the autograd graph of ``forward()`` holds for backward.

    Storages of the tensors in ``exclude`` (the layer's parameters, which exist anyway) are not counted.
    """
    skip = {t.untyped_storage().data_ptr() for t in exclude}
    boxes: list[weakref.ref] = []

    def pack(t: torch.Tensor) -> _Box:
        box = _Box(t)
        boxes.append(weakref.ref(box))
        return box

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda box: box.tensor):
        out = forward()
    storages = {}
    for ref in boxes:
        box = ref()
        if box is not None:
            storage = box.tensor.untyped_storage()
            if storage.data_ptr() not in skip:
                storages[storage.data_ptr()] = storage.nbytes()
    del out
    return sum(storages.values())


# --- the neuron layers under test ----------------------------------------------------------------------
def _snntorch_layer() -> Callable[[torch.Tensor], torch.Tensor]:
    import snntorch

    leaky = snntorch.Leaky(beta=0.9, threshold=1.0, spike_grad=snntorch.surrogate.atan())

    def run(x: torch.Tensor) -> torch.Tensor:
        mem = leaky.init_leaky()
        out = []
        for x_t in x.unbind(0):
            spk, mem = leaky(x_t, mem)
            out.append(spk)
        return torch.stack(out)

    run.module = leaky  # type: ignore[attr-defined]
    return run


def _spikingjelly_layer() -> Callable[[torch.Tensor], torch.Tensor]:
    from spikingjelly.activation_based import functional as sj_functional
    from spikingjelly.activation_based import neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate

    # SpikingJelly 2.0's LIFNode is its PyTorch implementation (CuPy/Triton ones are other classes)
    node = neuron.LIFNode(
        tau=10.0, decay_input=False, v_threshold=1.0, v_reset=None,
        surrogate_function=sj_surrogate.ATan(), step_mode="m",
    )  # fmt: skip

    def run(x: torch.Tensor) -> torch.Tensor:
        sj_functional.reset_net(node)
        return node(x)

    run.module = node  # type: ignore[attr-defined]
    return run


def _norse_layer() -> Callable[[torch.Tensor], torch.Tensor]:
    import norse.torch as norse

    lif = norse.LIF()

    def run(x: torch.Tensor) -> torch.Tensor:
        return lif(x)[0]

    run.module = lif  # type: ignore[attr-defined]
    return run


def _spikekit_layer(backend: str) -> Callable[[torch.Tensor], torch.Tensor]:
    return LIF(beta=0.9, threshold=1.0, reset="subtract", surrogate=surrogate.atan(), backend=backend)


class _FunctionalLIF(nn.Module):
    """The same LIF through :func:`spikekit.kernels.multistep` directly: no module-level input checks."""

    def __init__(self, backend: str) -> None:
        super().__init__()
        self.backend = backend
        self.register_buffer("beta", torch.tensor(0.9))
        self.register_buffer("threshold", torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params = functional.LIFParams(self.beta, self.threshold, "subtract", surrogate.atan())
        state = functional.lif_init(x[0])
        return kernels.multistep(functional.lif_step, x, state, params, backend=self.backend)[0]


class _LinearLIFRecompute:
    """``LinearLIF(F, F, memory="recompute")`` in place of the workload's Linear + LIF.

    The layer contains the Linear, so :func:`bench_layer` binds it to the workload's ``Linear`` (the same
    weight and bias Parameters, see :meth:`spikekit.nn.LinearLIF.from_modules`) and feeds it ``x``: the
    same work as the other rows (one Linear, then the same LIF), measured as one layer.
    """

    includes_linear = True

    def __init__(self, backend: str, device: torch.device) -> None:
        self.backend, self.device = backend, device

    def bind(self, linear: nn.Linear) -> nn.Module:
        lif = _spikekit_layer(self.backend).to(self.device)
        return LinearLIF.from_modules(linear, lif, memory="recompute")


PEER_LAYERS = {"snntorch": _snntorch_layer, "spikingjelly": _spikingjelly_layer, "norse": _norse_layer}
PEER_PACKAGES = {"snntorch": "snntorch", "spikingjelly": "spikingjelly", "norse": "norse"}


def peer_versions(peers: Iterable[str] = PEERS) -> dict[str, str | None]:
    """Installed version of each peer (``None``: not installed or not importable)."""
    found = {}
    for name in peers:
        try:
            PEER_LAYERS[name]()
            found[name] = importlib.metadata.version(PEER_PACKAGES[name])
        except (ImportError, importlib.metadata.PackageNotFoundError):
            found[name] = None
    return found


def candidates(device: torch.device, peers: Iterable[str] = PEERS) -> dict[str, Callable[[], Any]]:
    """``{name: builder of a layer [T, B, F] -> [T, B, F]}`` for every spikekit backend and peer here."""
    out: dict[str, Callable[[], Any]] = {}
    for backend in available_backends(functional.lif_step, device):
        if backend == "triton" and device.type != "cuda":
            continue  # the interpreter is for testing, not timing
        out[f"spikekit[{backend}]"] = lambda b=backend: _spikekit_layer(b).to(device)
    fast = "triton" if "spikekit[triton]" in out else "fused"
    out[f"spikekit[{fast}] functional"] = lambda b=fast: _FunctionalLIF(b).to(device)
    out[f"spikekit[{fast}] recompute"] = lambda b=fast: _LinearLIFRecompute(b, device)
    versions = peer_versions(peers)
    for name in peers:
        if versions[name] is not None:
            out[name] = lambda n=name: _moved(PEER_LAYERS[n](), device)
    return out


def _moved(layer: Any, device: torch.device) -> Any:
    layer.module.to(device)
    return layer


# --- workloads -----------------------------------------------------------------------------------------
def _layer_input(steps: int, batch: int, features: int, device: torch.device, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(steps, batch, features, generator=g).to(device)  # [T, B, F] in [0, 1)
    linear = nn.Linear(features, features).to(device)
    with torch.no_grad():  # a firing rate of about 10-20 % at every size
        linear.weight.normal_(0.0, 1.5 / features**0.5, generator=None)
        linear.bias.fill_(0.1)
    return x, linear


def _parameters(layer: Any) -> list[torch.Tensor]:
    """Parameters and buffers of a layer under test (a module, or a peer's wrapper holding ``.module``)."""
    module = layer if isinstance(layer, nn.Module) else getattr(layer, "module", None)
    return [*module.parameters(), *module.buffers()] if isinstance(module, nn.Module) else []


def bench_layer(
    shape: tuple[int, int, int],
    layers: dict[str, Callable[[], Any]],
    *,
    repeats: int,
    warmup: int,
    device: torch.device,
    memory: bool = True,
) -> dict[str, Any]:
    """Time ``Linear + neuron`` forward+backward for each layer; the Linear alone too."""
    steps, batch, features = shape
    torch.manual_seed(0)
    x, linear = _layer_input(steps, batch, features, device)
    rows: dict[str, Any] = {}

    def linear_only() -> None:
        linear.zero_grad(set_to_none=True)
        linear(x).sum().backward()

    median, times = time_median(linear_only, repeats, warmup, device)
    rows["Linear alone"] = {"seconds": median, "times": times}
    if memory:
        rows["Linear alone"]["saved_bytes"] = saved_bytes(lambda: linear(x), exclude=linear.parameters())
    reference = None
    # the reference first, so every other spikekit row is compared with it
    for name, build in sorted(layers.items(), key=lambda item: item[0] != "spikekit[torch]"):
        neuron = build()
        includes_linear = getattr(neuron, "includes_linear", False)
        if includes_linear:  # Linear + LIF in one layer: give it the workload's Linear, then feed it x
            neuron = neuron.bind(linear)

        def current(includes_linear: bool = includes_linear) -> torch.Tensor:
            return x if includes_linear else linear(x)

        def step(neuron: Any = neuron) -> None:
            linear.zero_grad(set_to_none=True)
            neuron(current()).sum().backward()

        median, times = time_median(step, repeats, warmup, device)
        row: dict[str, Any] = {"seconds": median, "times": times}
        with torch.no_grad():
            out = neuron(current())
        row["firing_rate"] = float(out.float().mean())
        if name == "spikekit[torch]":
            reference = out
        elif name.startswith("spikekit") and reference is not None:
            row["spikes_equal_reference"] = bool(torch.equal(out, reference))
        if memory:
            params = [*linear.parameters(), *_parameters(neuron)]
            row["saved_bytes"] = saved_bytes(
                lambda neuron=neuron, current=current: neuron(current()), exclude=params
            )
            if not includes_linear:  # no "neuron alone" in a layer that includes the Linear
                cur = linear(x).detach().requires_grad_(True)
                row["neuron_saved_bytes"] = saved_bytes(
                    lambda neuron=neuron, cur=cur: neuron(cur), exclude=_parameters(neuron)
                )
        rows[name] = row
    return {"T": steps, "B": batch, "F": features, "rows": rows}


# --- the original experiment's training step ------------------------------------------------------------
class _SeedLayerOriginal(nn.Module):
    """The original ``SpikingNeuronLayerRNN`` (G. Chevalier, 2018): stateful, one step per call."""

    def __init__(self, n_inputs: int, n_hidden: int, decay: float, threshold: float, penalty: float) -> None:
        super().__init__()
        self.n_hidden, self.decay, self.threshold, self.penalty = n_hidden, decay, threshold, penalty
        self.fc = nn.Linear(n_inputs, n_hidden)
        nn.init.xavier_uniform_(self.fc.weight)
        self.reset_state()

    def reset_state(self) -> None:
        self.prev_inner = torch.zeros([self.n_hidden], device=self.fc.weight.device)
        self.prev_outer = torch.zeros([self.n_hidden], device=self.fc.weight.device)

    def forward(self, x: torch.Tensor):
        if self.prev_inner.dim() == 1:
            batch_size = x.shape[0]
            self.prev_inner = torch.stack(batch_size * [self.prev_inner])
            self.prev_outer = torch.stack(batch_size * [self.prev_outer])
        input_excitation = self.fc(x)
        inner_excitation = input_excitation + self.prev_inner * self.decay
        outer_excitation = torch.relu(inner_excitation - self.threshold)
        do_penalize_gate = (outer_excitation > 0).float()
        inner_excitation = (
            inner_excitation - (self.penalty / self.threshold * inner_excitation) * do_penalize_gate
        )
        delayed_return_state = self.prev_inner
        delayed_return_output = self.prev_outer
        self.prev_inner = inner_excitation
        self.prev_outer = outer_excitation
        return delayed_return_state, delayed_return_output


class SeedNetOriginal(nn.Module):
    """The original ``SpikingNet``: flicker input, two layers, mean over time of layer 2's state."""

    def __init__(self, steps: int = 128) -> None:
        super().__init__()
        self.steps = steps
        self.layer1 = _SeedLayerOriginal(28 * 28, 100, 0.9, 1.0, 1.5)
        self.layer2 = _SeedLayerOriginal(100, 10, 0.9, 1.0, 1.5)

    def forward(self, x: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        self.layer1.reset_state()
        self.layer2.reset_state()
        x = x.view(x.size(0), -1)
        out = []
        for t in range(self.steps):
            mask = torch.rand(x.shape, device=x.device) if masks is None else masks[t]
            xi = mask * x
            _, layer1_output = self.layer1(xi)
            layer2_state, _ = self.layer2(layer1_output)
            out.append(layer2_state)
        return torch.log_softmax(torch.stack(out).mean(0), dim=-1)


class SeedNetSpikekit(nn.Module):
    """The same network in spikekit: whole sequences, fused refractory neurons, the membrane via trace.

    ``input="materialized"``: :func:`spikekit.encode.flicker` (``[T, B, 784]``) then ``fc1``;
    ``"streamed"``: :func:`spikekit.kernels.flicker_linear` (chunks of time, Philox masks regenerated in
    backward; the masks of ``seed`` are ``flicker_masks((B, 784), T, seed)``).
    """

    def __init__(self, steps: int = 128, backend: str = "fused", input: str = "materialized") -> None:
        super().__init__()
        self.steps, self.streamed = steps, input == "streamed"
        self.fc1, self.fc2 = nn.Linear(28 * 28, 100), nn.Linear(100, 10)
        self.n1 = RefractoryLIF(decay=0.9, threshold=1.0, penalty=1.5, backend=backend)
        self.n2 = RefractoryLIF(decay=0.9, threshold=1.0, penalty=1.5, backend=backend)

    def forward(
        self, x: torch.Tensor, masks: torch.Tensor | None = None, seed: int | None = None
    ) -> torch.Tensor:
        x = x.view(x.size(0), -1)
        if self.streamed:
            if masks is not None:
                raise ValueError("the streamed input draws its own masks: pass the seed of flicker_masks")
            seed = int(torch.randint(0, 2**62, (1,))) if seed is None else seed
            cur = kernels.flicker_linear(x, self.fc1.weight, self.fc1.bias, self.steps, seed)
        else:
            seq = encode.flicker(x, self.steps) if masks is None else masks * x  # [T, B, 784]
            cur = self.fc1(seq)
        _, v2, _ = self.n2.trace(self.fc2(self.n1(cur)))
        return torch.log_softmax(v2.mean(0), dim=-1)


def _copy_weights(original: SeedNetOriginal, ours: SeedNetSpikekit) -> None:
    with torch.no_grad():
        for src, dst in ((original.layer1.fc, ours.fc1), (original.layer2.fc, ours.fc2)):
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)


def bench_train(
    *, repeats: int, warmup: int, device: torch.device, batch: int = 1000, steps: int = 128
) -> dict[str, Any]:
    """Time one SGD step of the original experiment, in its code and in spikekit (each backend)."""
    torch.manual_seed(0)
    images = (torch.rand(batch, 1, 28, 28) - 0.5).to(device)  # like MNIST shifted by -0.5
    target = torch.randint(0, 10, (batch,)).to(device)
    models: dict[str, nn.Module] = {"original code": SeedNetOriginal(steps).to(device)}
    for backend in available_backends(functional.refractory_step, device):
        if backend == "triton" and device.type != "cuda":
            continue
        model = SeedNetSpikekit(steps, backend).to(device)
        _copy_weights(models["original code"], model)
        models[f"spikekit[{backend}]"] = model
        if backend == "fused":
            model = SeedNetSpikekit(steps, backend, input="streamed").to(device)
            _copy_weights(models["original code"], model)
            models[f"spikekit[{backend}] streamed"] = model
    check = _same_mathematics(models, images, target, steps)
    rows = {}
    for name, model in models.items():
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)

        def train_step(model: nn.Module = model, opt: torch.optim.Optimizer = opt) -> None:
            opt.zero_grad()
            torch.nn.functional.nll_loss(model(images), target).backward()
            opt.step()

        median, times = time_median(train_step, repeats, warmup, device)
        rows[name] = {"seconds": median, "times": times}
    return {"batch": batch, "T": steps, "rows": rows, "same_mathematics": check}


def _same_mathematics(models: dict[str, nn.Module], images, target, steps: int) -> dict[str, float]:
    """Max relative difference of loss and weight gradients from the original's, on shared masks.

    The masks are a Philox stream's (:func:`spikekit.kernels.flicker_masks`), so that the streamed
    input, which generates them itself from the seed, gets the same ones as every other model.
    """
    seed = 12345
    masks = kernels.flicker_masks((images.shape[0], 28 * 28), steps, seed, device=images.device)
    grads = {}
    for name, model in models.items():
        model.zero_grad()
        given = {"seed": seed} if getattr(model, "streamed", False) else {"masks": masks}
        loss = torch.nn.functional.nll_loss(model(images, **given), target)
        loss.backward()
        grads[name] = [loss.detach()] + [p.grad.detach().clone() for p in model.parameters()]
    base = grads.pop("original code")
    return {
        name: max(float((a - b).norm() / b.norm().clamp_min(1e-30)) for a, b in zip(g, base, strict=True))
        for name, g in grads.items()
    }


# --- everything ----------------------------------------------------------------------------------------
def run_bench(
    workloads: Iterable[tuple[int, int, int]] = MAIN_WORKLOADS,
    grid: Iterable[tuple[int, int, int]] = (),
    *,
    peers: Iterable[str] = PEERS,
    repeats: int = 7,
    warmup: int = 1,
    train: bool = True,
    memory: bool = True,
    device: str | torch.device = "cpu",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the peer benchmark and return its results (see the module docstring).

    Args:
        workloads: ``(T, B, F)`` shapes with memory measured.
        grid: more ``(T, B, F)`` shapes, timed only.
        peers: which of ``"snntorch"``, ``"spikingjelly"``, ``"norse"`` to include (absent ones skipped).
        repeats, warmup: timed runs (the median is reported) and untimed runs before them.
        train: also time the original experiment's training step.
        memory: also measure the bytes saved for backward.
        device: ``"cpu"`` or a CUDA device.
        progress: called with a line of text before each measurement.

    Returns:
        A JSON-ready dict: ``environment``, ``layer`` (one entry per shape), ``train``, ``targets``.
    """
    device = torch.device(device)
    say = progress or (lambda line: None)
    peers, workloads = tuple(peers), tuple(workloads)
    layers = candidates(device, peers)
    result: dict[str, Any] = {"environment": environment(device, peers), "layer": [], "train": None}
    for shape in [*workloads, *grid]:
        say(f"layer T x B x F = {shape}")
        result["layer"].append(
            bench_layer(
                shape,
                layers,
                repeats=repeats,
                warmup=warmup,
                device=device,
                memory=memory and shape in workloads,
            )
        )
    if train:
        say("training step of the original experiment")
        result["train"] = bench_train(repeats=repeats, warmup=warmup, device=device)
    result["targets"] = targets(result)
    return result


def _version() -> str:
    try:
        return importlib.metadata.version("spikekit")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "unknown"


def environment(device: torch.device, peers: Iterable[str] = PEERS) -> dict[str, Any]:
    return {
        "torch": torch.__version__,
        "spikekit": _version(),
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "peers": peer_versions(peers),
    }


def _seconds(entry: dict[str, Any], name: str) -> float | None:
    row = entry["rows"].get(name)
    return None if row is None else row["seconds"]


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's figures, measured: each with the value, the goal and whether it is met."""
    out = []
    best = "spikekit[triton]" if result["environment"]["device"] != "cpu" else "spikekit[fused]"
    for entry in result["layer"]:
        shape = (entry["T"], entry["B"], entry["F"])
        ours = _seconds(entry, best)
        if ours is None:
            continue
        if shape == (500, 16, 512):
            for peer, goal in (("snntorch", 2.5), ("spikingjelly", 2.0)):
                theirs = _seconds(entry, peer)
                if theirs is not None:
                    out.append(_target(f"{best} vs {peer} at 500x16x512 (speed-up)", theirs / ours, goal))
            snn = entry["rows"].get("snntorch", {})
            if "saved_bytes" in snn and "saved_bytes" in entry["rows"][best]:
                ratio = entry["rows"][best]["saved_bytes"] / snn["saved_bytes"]
                out.append(_target("saved for backward, layer, vs snntorch (ratio)", ratio, 0.5, below=True))
                ratio = entry["rows"][best]["neuron_saved_bytes"] / snn["neuron_saved_bytes"]
                out.append(_target("saved for backward, neuron alone, vs snntorch", ratio, 0.5, below=True))
            recompute = entry["rows"].get(f"{best} recompute", {})
            if "saved_bytes" in snn and "saved_bytes" in recompute:
                ratio = recompute["saved_bytes"] / snn["saved_bytes"]
                name = f"saved for backward, layer, {best} recompute vs snntorch (ratio)"
                out.append(_target(name, ratio, 0.5, below=True))
        if shape == (100, 16, 4096):
            overhead = ours / _seconds(entry, "Linear alone") - 1
            out.append(_target("neuron's cost over Linear alone at 100x16x4096", overhead, 0.10, below=True))
    if result.get("train"):
        rows = result["train"]["rows"]
        for name in (best, f"{best} streamed"):
            if name in rows:
                speed = rows["original code"]["seconds"] / rows[name]["seconds"]
                out.append(_target(f"training step, original code / {name}", speed, 2.0))
    return out


def _target(name: str, value: float, goal: float, below: bool = False) -> dict[str, Any]:
    met = value <= goal if below else value >= goal
    return {"figure": name, "value": value, "goal": f"{'<=' if below else '>='} {goal:g}", "met": met}
