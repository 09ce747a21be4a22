"""ANN-to-SNN conversion (Rueckauer, Lungu, Hu, Pfeiffer & Liu 2017, "Conversion of continuous-valued deep
networks to efficient event-driven networks for image classification", Front. Neurosci. 11:682).

An integrate-and-fire neuron with reset by subtraction, driven by a constant current ``x`` for ``T`` steps
from rest, fires ``N`` spikes with

    v_T = T x - N thr  in  [0, thr)      =>      | N thr / T - relu(x) | < thr / T    for x <= thr

so its spike rate times the threshold approximates the ReLU it replaces, to within ``thr / T`` (inputs
above ``thr`` saturate at one spike per step, hence the normalisation below). Conversion:

1. fold every BatchNorm into the Conv2d/Linear before it: ``W' = W g / s``, ``b' = (b - mu) g / s + beta``,
   ``s = sqrt(running_var + eps)`` (:func:`fold_batchnorm`);
2. optionally drop every bias (``bias=False``: for hardware without bias currents, e.g. Loihi);
3. run calibration images through the ANN; ``lam_l`` = the ``percentile``-th percentile of layer ``l``'s
   positive ReLU outputs (100: the maximum, "data-based normalisation"; 99.9-99.999: Rueckauer's robust
   variant, which ignores rare outliers);
4. rescale each weight layer ``W_l <- W_l lam_{l-1} / lam_l``, ``b_l <- b_l / lam_l`` (``lam = 1`` for the
   input and after a weight layer with no ReLU), so every IF neuron can keep threshold 1;
5. replace each ReLU by ``IF(threshold=1, reset="subtract")``;
6. present the image as a constant input current at every step ("direct" encoding); the logits are the
   mean over time of the last layer's output (a membrane readout), in the ANN's units.

Example:
    >>> snn = convert(ann, calibration_images, percentile=99.99)
    >>> logits = snn(images)                                   # T = snn.steps
    >>> accuracy_over_time(snn, test_set, steps=(32, 64, 128))  # {32: 0.87, 64: 0.90, 128: 0.91}
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from ._checks import check_finite, check_positive_int, check_range, check_tensor
from ._io import progress as progress_bar
from .nn import IF, Neuron, TimeDistributed

__all__ = [
    "fold_batchnorm",
    "fold_bn_into",
    "ConvertedSNN",
    "convert",
    "accuracy_over_time",
    "convertible_cnn",
    "convertible_mlp",
    "check_steps",
    "ann_accuracy",
]

WEIGHTED = (nn.Conv2d, nn.Linear)
# The longest run a converted network accepts: the spike count is summed in float32, whose integers are
# exact only up to 2**24; past that an added spike can vanish (and the run would take days anyway).
MAX_STEPS = 2**24
BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
PASSTHROUGH = (nn.AvgPool2d, nn.Flatten, nn.Dropout, nn.Identity)


# --- BatchNorm folding ---------------------------------------------------------------------------------
def fold_bn_into(
    layer: nn.Conv2d | nn.Linear, bn: nn.BatchNorm1d | nn.BatchNorm2d, name: str = ""
) -> nn.Module:
    """A copy of ``layer`` that computes ``bn(layer(x))`` in inference mode (running statistics).

    ``W' = W g / s`` per output channel, ``b' = (b - mu) g / s + beta``, ``s = sqrt(running_var + eps)``.

    Raises:
        ValueError: the BatchNorm has no running statistics or a channel count unlike the layer's outputs.
    """
    what = f"BatchNorm {name!r}" if name else type(bn).__name__
    out = layer.out_channels if isinstance(layer, nn.Conv2d) else layer.out_features
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f"{what} has no running statistics (track_running_stats=False); it cannot be folded")
    if bn.num_features != out:
        raise ValueError(
            f"{what} normalises {bn.num_features} features but the {type(layer).__name__} before it has "
            f"{out} outputs"
        )
    with torch.no_grad():
        scale = torch.rsqrt(bn.running_var.double() + bn.eps)
        if bn.affine:
            scale = scale * bn.weight.double()
        shift = -bn.running_mean.double() * scale + (bn.bias.double() if bn.affine else 0.0)
        bias = layer.bias.double() if layer.bias is not None else torch.zeros(out, dtype=torch.float64)
        folded = copy.deepcopy(layer)
        shape = (-1,) + (1,) * (layer.weight.dim() - 1)
        w = layer.weight.double() * scale.reshape(shape)
        folded.weight = nn.Parameter(w.to(layer.weight.dtype))
        folded.bias = nn.Parameter((bias * scale + shift).to(layer.weight.dtype))
    return folded


def _unwrap(m: nn.Module) -> nn.Module:
    return m.layer if isinstance(m, TimeDistributed) else m


def _rewrap(original: nn.Module, layer: nn.Module) -> nn.Module:
    return TimeDistributed(layer) if isinstance(original, TimeDistributed) else layer


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every BatchNorm that directly follows a Conv2d or Linear folded into it.

    Works inside every ``nn.Sequential`` of the model (nested ones too), seeing through
    :class:`~spikekit.nn.TimeDistributed` wrappers. A folded BatchNorm is replaced by ``nn.Identity``. The
    result computes what ``model.eval()`` computes.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: a BatchNorm follows something other than a Conv2d/Linear (the message names it).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"fold_batchnorm: model must be an nn.Module, got {type(model).__name__}")
    model = copy.deepcopy(model)
    for parent_name, parent in model.named_modules():
        if not isinstance(parent, nn.Sequential):
            continue
        children = list(parent.named_children())
        for i, (name, child) in enumerate(children):
            bn = _unwrap(child)
            if not isinstance(bn, BATCHNORMS):
                continue
            full = f"{parent_name}.{name}" if parent_name else name
            prev_name, prev = children[i - 1] if i > 0 else (None, None)
            layer = _unwrap(prev) if prev is not None else None
            if not isinstance(layer, WEIGHTED):
                after = f"{type(layer).__name__} {prev_name!r}" if layer is not None else "nothing"
                raise ValueError(
                    f"BatchNorm {full!r} follows {after}, not a Conv2d or Linear; only a BatchNorm directly "
                    "after a Conv2d/Linear can be folded"
                )
            parent._modules[prev_name] = _rewrap(prev, fold_bn_into(layer, bn, full))
            parent._modules[name] = nn.Identity()
            children[i - 1] = (prev_name, parent._modules[prev_name])
    leftover = [n for n, m in model.named_modules() if isinstance(m, BATCHNORMS)]
    if leftover:
        raise ValueError(
            f"BatchNorm {leftover[0]!r} is not inside an nn.Sequential right after a Conv2d/Linear; "
            "it cannot be folded"
        )
    return model


# --- ANNs that convert -------------------------------------------------------------------------------
def convertible_cnn(
    in_channels: int = 1,
    image_size: int = 28,
    n_out: int = 10,
    channels: Sequence[int] = (16, 32),
    hidden: int = 128,
    batch_norm: bool = True,
    bias: bool = True,
) -> nn.Sequential:
    """A small ANN that :func:`convert` accepts: ``[Conv3x3 -> BatchNorm -> AvgPool2 -> ReLU] * n``, then
    ``Linear -> ReLU -> Linear``. Average (not max) pooling, which is linear, so it commutes with the rate
    code; pooling before the ReLU makes the spiking layers 4x smaller, and with direct encoding the whole
    first block is a constant computed once per image.

    Shape:
        ``[B, in_channels, image_size, image_size]`` -> logits ``[B, n_out]``.
    """
    layers: list[nn.Module] = []
    c_in, size = check_positive_int(in_channels, "in_channels"), check_positive_int(image_size, "image_size")
    for c in channels:
        layers.append(
            nn.Conv2d(c_in, check_positive_int(c, "channels"), 3, padding=1, bias=bias and not batch_norm)
        )
        if batch_norm:
            layers.append(nn.BatchNorm2d(c))
        layers += [nn.AvgPool2d(2), nn.ReLU()]
        c_in, size = c, size // 2
    if size < 1:
        raise ValueError(f"image_size {image_size} is too small for {len(channels)} pooling blocks")
    layers += [nn.Flatten(), nn.Linear(c_in * size * size, hidden, bias=bias), nn.ReLU()]
    layers.append(nn.Linear(hidden, check_positive_int(n_out, "n_out"), bias=bias))
    return nn.Sequential(*layers)


def convertible_mlp(n_in: int = 784, hidden: Sequence[int] = (256,), n_out: int = 10, bias: bool = True):
    """``Flatten -> [Linear -> ReLU] * len(hidden) -> Linear``, an ANN that :func:`convert` accepts."""
    layers: list[nn.Module] = [nn.Flatten()]
    widths = [check_positive_int(n_in, "n_in"), *(check_positive_int(h, "hidden") for h in hidden)]
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b, bias=bias), nn.ReLU()]
    layers.append(nn.Linear(widths[-1], check_positive_int(n_out, "n_out"), bias=bias))
    return nn.Sequential(*layers)


# --- the converted network -----------------------------------------------------------------------------
def check_steps(steps: Any, name: str = "steps") -> list[int]:
    """A non-empty, sorted list of distinct ints in ``[1, MAX_STEPS]`` from an int or a sequence of ints."""
    values = [steps] if isinstance(steps, int) and not isinstance(steps, bool) else steps
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"{name} must be an int >= 1 or a non-empty list of them, got {steps!r}")
    return sorted({_check_t(t, f"{name} (each T)") for t in values})


def _check_t(value: Any, name: str) -> int:
    check_positive_int(value, name)
    if value > MAX_STEPS:
        raise ValueError(
            f"{name} must be at most 2**24 = {MAX_STEPS} time steps, got {value}: the spike counts are "
            "summed in float32, which counts exactly only up to 2**24"
        )
    return value


def _per_step(m: nn.Module) -> nn.Module:
    """The layer that acts on one time step ``[B, ...]``."""
    return m.layer if isinstance(m, TimeDistributed) else m


class ConvertedSNN(nn.Module):
    """The spiking network :func:`convert` returns.

    ``net`` is a time-first ``nn.Sequential`` (``Linear``, ``TimeDistributed(Conv2d/AvgPool2d/Flatten)``,
    :class:`~spikekit.nn.IF`) taking the constant input current ``[T, B, ...]``; it returns the last layer's
    output ``[T, B, C]``.

    Args:
        net: the converted layers.
        steps: time steps ``T`` used by :meth:`forward` on static images.
        output_scale: multiplies the mean output, bringing it to the ANN's units (``lam`` of the last layer
            when the ANN ends in a ReLU, else 1).
        lambdas: the normalisation factor of each ReLU layer, in order.

    Shape:
        images ``[B, ...]`` (presented at every step) or a sequence ``[T, B, ...]`` -> logits ``[B, C]``.
    """

    def __init__(
        self,
        net: nn.Sequential,
        steps: int = 128,
        output_scale: float = 1.0,
        lambdas: Sequence[float] = (),
        static_dims: int = 4,
    ) -> None:
        super().__init__()
        self.net = net
        self.steps = _check_t(steps, "ConvertedSNN: steps")
        self.output_scale = float(output_scale)
        self.lambdas = [float(v) for v in lambdas]
        self.static_dims = check_positive_int(static_dims, "ConvertedSNN: static_dims")

    def forward(self, x: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        t = self.steps if steps is None else _check_t(steps, "ConvertedSNN: steps")
        return self.logits_over_time(x, [t])[t]

    @torch.no_grad()
    def logits_over_time(self, images: torch.Tensor, steps: Sequence[int]) -> dict[int, torch.Tensor]:
        """Logits after each ``T`` in ``steps``, from one run of ``max(steps)`` steps.

        Runs step by step through each neuron's functional core, so memory does not grow with ``T``.
        ``images`` is ``[B, ...]`` (static, direct encoding: the layers before the first neuron run once)
        or a sequence ``[T, B, ...]`` with ``T >= max(steps)``. No gradients (``self.net`` has them).
        """
        wanted = check_steps(steps)
        check_tensor(images, "images")
        check_finite(images, "images")
        static = not self._is_sequence(images)
        if not static and images.shape[0] < wanted[-1]:
            raise ValueError(
                f"images: a sequence of {images.shape[0]} steps cannot give T = {wanted[-1]}; pass static "
                "images [B, ...] or a longer sequence"
            )
        prefix, rest = self._split_static_prefix()
        layers = [(m, m.params() if isinstance(m, Neuron) else None) for m in rest]
        with _fits(images, "images"):
            constant = prefix(images.unsqueeze(0))[0] if static else None  # [B, ...], the same every step
        states: list[Any] = [None] * len(layers)
        total, out = None, {}
        for t in range(1, wanted[-1] + 1):
            with _fits(images, "images"):
                x = constant if static else prefix(images[t - 1 : t])[0]
                for i, (m, params) in enumerate(layers):
                    if params is None:
                        x = _per_step(m)(x)
                        continue
                    if states[i] is None:
                        states[i] = m.init_state(x)
                    x, _, states[i] = type(m).core_step(x, states[i], params)
            total = x.clone() if total is None else total.add_(x)
            if t in wanted:
                out[t] = total * (self.output_scale / t)
        return out

    def _is_sequence(self, x: torch.Tensor) -> bool:
        if x.dim() not in (self.static_dims, self.static_dims + 1):
            raise ValueError(
                f"images must be static inputs with {self.static_dims} dims [B, ...] or a sequence with "
                f"{self.static_dims + 1} dims [T, B, ...], got shape {tuple(x.shape)}"
            )
        return x.dim() == self.static_dims + 1

    def _split_static_prefix(self) -> tuple[nn.Module, nn.Sequential]:
        mods = list(self.net)
        k = next((i for i, m in enumerate(mods) if isinstance(m, Neuron)), len(mods))
        return nn.Sequential(*mods[:k]), nn.Sequential(*mods[k:])


@contextmanager
def _fits(x: torch.Tensor, name: str, layer: str = "the network"):
    """Turn PyTorch's shape errors inside the block into a ``ValueError`` naming ``name`` and its shape."""
    try:
        yield
    except RuntimeError as err:
        if type(err) is not RuntimeError:  # e.g. out of memory: not a shape problem
            raise
        raise ValueError(f"{name} of shape {tuple(x.shape)} does not fit {layer}: {err}") from err


# --- conversion ----------------------------------------------------------------------------------------
def _flat_layers(ann: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ANN as an ordered list of leaf layers (nested ``nn.Sequential``s flattened)."""
    if not isinstance(ann, nn.Sequential):
        raise TypeError(
            "convert: ann must be an nn.Sequential of Conv2d/Linear/BatchNorm/ReLU/AvgPool2d/Flatten/"
            f"Dropout layers, got {type(ann).__name__}"
        )
    out = []
    for name, m in ann.named_children():
        if isinstance(m, nn.Sequential):
            out += [(f"{name}.{n}", c) for n, c in _flat_layers(m)]
        else:
            out.append((name, m))
    return out


def _check_layers(layers: list[tuple[str, nn.Module]]) -> None:
    if not any(isinstance(m, WEIGHTED) for _, m in layers):
        kinds = ", ".join(type(m).__name__ for _, m in layers) or "no layers at all"
        raise ValueError(
            f"convert: ann has no Conv2d or Linear layer (it has {kinds}); there is nothing to convert"
        )
    for i, (name, m) in enumerate(layers):
        if isinstance(m, nn.MaxPool2d):
            raise ValueError(
                f"convert: layer {name!r} is MaxPool2d; max pooling of spikes over-estimates the maximum "
                "rate (Rueckauer et al. 2017); train the ANN with AvgPool2d"
            )
        if not isinstance(m, WEIGHTED + BATCHNORMS + PASSTHROUGH + (nn.ReLU,)):
            raise ValueError(
                f"convert: layer {name!r} is {type(m).__name__}, which has no spiking counterpart here; "
                "accepted: Conv2d, Linear, BatchNorm1d/2d, ReLU, AvgPool2d, Flatten, Dropout, Identity"
            )
        if isinstance(m, nn.ReLU):
            before = [x for _, x in layers[:i] if not isinstance(x, PASSTHROUGH + BATCHNORMS)]
            if not before or not isinstance(before[-1], WEIGHTED):
                raise ValueError(f"convert: ReLU {name!r} must follow a Conv2d or Linear layer")
        if isinstance(m, nn.AvgPool2d) and (m.ceil_mode or m.divisor_override is not None):
            raise ValueError(f"convert: AvgPool2d {name!r} must use ceil_mode=False and no divisor_override")
        for pname, value in [*m.named_parameters(), *m.named_buffers()]:
            if value.is_floating_point() and not bool(torch.isfinite(value.detach()).all()):
                bad = int((~torch.isfinite(value.detach())).sum())
                raise ValueError(
                    f"convert: layer {name!r} ({type(m).__name__}) has {bad} NaN or infinite value(s) in its "
                    f"{pname}; a converted network would compute NaN"
                )


def _expected_input(layers: list[tuple[str, nn.Module]]) -> tuple[str, Any]:
    first = next(m for _, m in layers if isinstance(m, WEIGHTED + (nn.Flatten,)))
    if isinstance(first, nn.Conv2d):
        return "conv", first.in_channels
    if isinstance(first, nn.Flatten):
        lin = next(m for _, m in layers if isinstance(m, WEIGHTED))
        if isinstance(lin, nn.Conv2d):
            raise ValueError("convert: a Flatten before the first Conv2d is not supported")
        return "flat", lin.in_features
    return "linear", first.in_features


def _check_calibration(calibration: Any, layers: list[tuple[str, nn.Module]]) -> torch.Tensor:
    tensors = getattr(calibration, "tensors", None)
    x = tensors[0] if tensors else calibration
    check_tensor(x, "calibration")
    if not x.is_floating_point():
        raise TypeError(f"calibration must hold float inputs, got {x.dtype}")
    check_finite(x, "calibration")
    kind, n = _expected_input(layers)
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(
            f"calibration must be a batch of inputs [N, ...] with N >= 1, got shape {tuple(x.shape)}"
        )
    if kind == "conv" and (x.dim() != 4 or x.shape[1] != n):
        raise ValueError(
            f"calibration must be images [N, {n}, H, W] for the first Conv2d ({n} input channels), "
            f"got shape {tuple(x.shape)}"
        )
    if kind == "flat" and x.shape[1:].numel() != n:
        raise ValueError(
            f"calibration must be inputs [N, ...] with {n} values each (the first Linear's in_features), "
            f"got shape {tuple(x.shape)}"
        )
    if kind == "linear" and (x.dim() != 2 or x.shape[1] != n):
        raise ValueError(f"calibration must be [N, {n}] for the first Linear, got shape {tuple(x.shape)}")
    return x


def _percentile(values: torch.Tensor, percentile: float) -> float:
    """The ``percentile``-th percentile (nearest rank) of ``values``; 1.0 when there are none."""
    if values.numel() == 0:
        return 1.0
    k = min(values.numel(), max(1, math.ceil(percentile / 100.0 * values.numel())))
    return float(torch.kthvalue(values.float(), k).values)


@torch.no_grad()
def _calibrate(layers: list[tuple[str, nn.Module]], x: torch.Tensor, percentile: float, batch_size: int):
    """``lam`` of each ReLU (in order) from the ANN's positive activations on ``x``."""
    relus = [i for i, (_, m) in enumerate(layers) if isinstance(m, nn.ReLU)]
    acts: dict[int, list[torch.Tensor]] = {i: [] for i in relus}
    for start in range(0, len(x), batch_size):
        h = x[start : start + batch_size]
        for i, (name, m) in enumerate(layers):
            with _fits(h, "calibration: the input", f"layer {name!r} ({type(m).__name__})"):
                h = m(h)
            if i in acts:
                acts[i].append(h[h > 0].flatten())
    return {i: _percentile(torch.cat(acts[i]), percentile) for i in relus}


def convert(
    ann: nn.Module,
    calibration: torch.Tensor | Any,
    *,
    percentile: float = 99.99,
    bias: bool = True,
    steps: int = 128,
    batch_size: int = 256,
    backend: str = "auto",
) -> ConvertedSNN:
    """Convert a ReLU network into a spiking network of IF neurons with reset by subtraction.

    Args:
        ann: an ``nn.Sequential`` (nested ones allowed) of ``Conv2d``, ``Linear``, ``BatchNorm1d/2d``,
            ``ReLU``, ``AvgPool2d``, ``Flatten``, ``Dropout``, ``Identity``; not modified.
        calibration: inputs ``[N, ...]`` shaped like the ANN's input (or a dataset holding them), used to
            measure each layer's activations; a few hundred to a few thousand training images.
        percentile: in (0, 100]; 100 normalises by the maximum activation.
        bias: ``False`` drops every bias (those BatchNorm folding creates too) before calibrating.
        steps: default ``T`` of the returned network.
        batch_size: calibration batch size.
        backend: the IF neurons' multi-step backend.

    Returns:
        a :class:`ConvertedSNN` (in eval mode).

    Raises:
        ValueError/TypeError: an unsupported layer (named), a BatchNorm that cannot be folded, a calibration
            set of the wrong shape, a percentile outside (0, 100].
    """
    if isinstance(percentile, bool) or not isinstance(percentile, (int, float)):
        raise TypeError(f"percentile must be a number in (0, 100], got {type(percentile).__name__}")
    check_range(percentile, "percentile", 0.0, 100.0, low_open=True)
    check_positive_int(batch_size, "batch_size")
    _check_t(steps, "steps")
    layers = _flat_layers(ann)
    _check_layers(layers)
    x = _check_calibration(calibration, layers)
    folded = fold_batchnorm(nn.Sequential(*[m for _, m in layers])).eval()
    names = [n for n, _ in layers]
    flat = [(names[i], m) for i, m in enumerate(folded) if not isinstance(m, nn.Identity | nn.Dropout)]
    if not bias:
        for _, m in flat:
            if isinstance(m, WEIGHTED):
                m.bias = None
    param = next(folded.parameters())
    x = x.to(device=param.device, dtype=param.dtype)
    lams = _calibrate(flat, x, percentile, batch_size)
    return _build(flat, lams, steps, backend, static_dims=x.dim())


def _build(flat, lams: dict[int, float], steps: int, backend: str, static_dims: int) -> ConvertedSNN:
    net: list[nn.Module] = []
    lam_in = 1.0
    for i, (_, m) in enumerate(flat):
        if isinstance(m, WEIGHTED):
            # this layer's output scale: lam of the ReLU it feeds (before the next weight layer), else 1
            nxt = next(
                (j for j in range(i + 1, len(flat)) if isinstance(flat[j][1], WEIGHTED + (nn.ReLU,))), None
            )
            lam_out = lams[nxt] if nxt is not None and isinstance(flat[nxt][1], nn.ReLU) else 1.0
            layer = copy.deepcopy(m)
            with torch.no_grad():
                layer.weight.mul_(lam_in / lam_out)
                if layer.bias is not None:
                    layer.bias.div_(lam_out)
            net.append(TimeDistributed(layer) if isinstance(layer, nn.Conv2d) else layer)
            lam_in = lam_out
        elif isinstance(m, nn.ReLU):
            net.append(IF(threshold=1.0, reset="subtract", backend=backend))
        else:
            net.append(TimeDistributed(m))
    last_weight = max(i for i, (_, m) in enumerate(flat) if isinstance(m, WEIGHTED))
    relus = sorted(lams)
    scale = lams[relus[-1]] if relus and relus[-1] > last_weight else 1.0
    lambdas = [lams[i] for i in relus]
    return ConvertedSNN(nn.Sequential(*net), steps, scale, lambdas, static_dims).eval()


# --- evaluation ----------------------------------------------------------------------------------------
def _batches(dataset: Any, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    tensors = getattr(dataset, "tensors", None)
    if not tensors or len(tensors) != 2:
        raise TypeError(f"dataset must hold (inputs, targets) tensors, got {type(dataset).__name__}")
    x, y = tensors
    if len(x) == 0 or len(x) != len(y):
        raise ValueError(
            f"dataset must hold at least one sample and as many targets as inputs, got {len(x)} inputs and "
            f"{len(y)} targets"
        )
    for i in range(0, len(x), batch_size):
        yield x[i : i + batch_size], y[i : i + batch_size]


@torch.no_grad()
def accuracy_over_time(
    snn: ConvertedSNN,
    dataset: Any,
    steps: Sequence[int] = (32, 64, 128, 256),
    *,
    batch_size: int = 500,
    device: str | torch.device = "cpu",
    progress: bool | None = False,
) -> dict[int, float]:
    """Accuracy of ``snn`` on ``dataset`` after each ``T`` in ``steps`` (one run of ``max(steps)`` steps).

    ``progress``: a progress bar (``None``: only when stderr is a terminal).
    """
    wanted = check_steps(steps)
    check_positive_int(batch_size, "batch_size")
    snn = snn.to(device).eval()
    correct = dict.fromkeys(wanted, 0)
    n = 0
    tensors = getattr(dataset, "tensors", None)
    total = len(tensors[0]) if tensors else None
    with progress_bar(total=total, desc="snn eval", unit="img", enabled=progress, leave=False) as bar:
        for x, y in _batches(dataset, batch_size):
            x, y = x.to(device), y.to(device)
            for t, logits in snn.logits_over_time(x, wanted).items():
                correct[t] += int((logits.argmax(1) == y).sum())
            n += len(y)
            bar.update(len(y))
    return {t: correct[t] / n for t in wanted}


@torch.no_grad()
def ann_accuracy(
    ann: nn.Module, dataset: Any, batch_size: int = 1000, device: str | torch.device = "cpu"
) -> float:
    """Plain accuracy of a non-spiking network."""
    ann = ann.to(device)
    was = ann.training
    ann.eval()
    correct = n = 0
    for x, y in _batches(dataset, batch_size):
        correct += int((ann(x.to(device)).argmax(1) == y.to(device)).sum())
        n += len(y)
    ann.train(was)
    return correct / n
