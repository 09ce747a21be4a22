r"""In-network mode: does the BPTT weight gradient of a model look like what pair-based STDP would do?

For a model made of ``Linear`` layers each followed by a spikekit neuron layer, and one labelled batch,
per layer (``W`` the Linear's weight ``[N_out, N_in]``, ``p`` its input, ``s`` the neuron's output):

- the BPTT change ``G = -dL/dW`` (autograd through time; minus ``weight_decay * W`` with L2 decay);
- the change a pair-based, all-to-all STDP rule (Song, Miller & Abbott 2000) computes from the same spike
  trains, with traces that decay like the post neuron's membrane (:math:`\lambda` = its decay per step):

  .. math::
      \Delta W_{ij} = A_+ \sum_{b,t} s_i[t]\, x_j[t] - A_- \sum_{b,t} y_i[t]\, p_j[t],\quad
      x_j[t] = \sum_{t' \le t} \lambda^{t-t'} p_j[t'],\quad
      y_i[t] = \sum_{t' < t} \lambda^{t-t'} s_i[t']

  i.e. a pair at ``dt = t_post - t_pre`` adds ``A+ lambda^dt`` (``dt >= 0``) or ``-A- lambda^|dt|``
  (``dt < 0``). Graded outputs (RefractoryLIF) count with their amplitude;
- their cosine similarity and sign agreement (the share of weights, among those both change, that they
  change in the same direction), and the same similarity for causal-only STDP (``A- = 0``);
- the window reconstructed from all pre/post pairs weighted by the gradient: for each ``dt``, the mean of
  ``G_ij`` over every pair (pre spike of ``j``, post spike of ``i``) at that ``dt``,

  .. math::
      \hat W(\Delta t) = \frac{\sum_{b,t,i,j} s_i[t]\, G_{ij}\, p_j[t - \Delta t]}
                             {\sum_{b,t,i,j} s_i[t]\, p_j[t - \Delta t]}

  Its level is the gradient's mean per pair over all ``dt`` (``baseline``), which says nothing about
  timing (a gradient blind to timing gives a flat window at that level); its shape says how much more the
  gradient credits synapses whose pairs fall at that ``dt``. The two-sided exponential is fitted to the
  shape, ``window - baseline`` (``LayerWindow.dw``), so ``A- > 0`` means pairs with the pre spike after
  the post spike get *less* than the average credit.

``dt`` follows the controlled mode: a neuron's output is shifted back by its spec's ``output_delay``
(RefractoryLIF: one step).

Draw the reconstructed windows with ``spikekit.plot.stdp_window(result)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_positive_int, check_tensor
from ..nn import Neuron, record
from ._neurons import membrane_decay, output_delay
from .fit import FIT_METHODS, WindowFit, _json_float, causal_fraction, fit_window
from .remedies import AfterPotential, _check_tail, with_after_potential

__all__ = [
    "LayerWindow",
    "NetworkWindow",
    "network_window",
    "pair_stdp",
    "pair_window",
    "cosine_similarity",
    "sign_agreement",
    "linear_neuron_pairs",
]


def cosine_similarity(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """``<a, b> / (|a| |b|)`` over all entries; ``nan`` if either is all zero."""
    a64, b64 = _flat(a, "a"), _flat(b, "b")
    if a64.shape != b64.shape:
        raise ValueError(f"a and b must have the same number of entries, got {a64.size} and {b64.size}")
    na, nb = float(np.linalg.norm(a64)), float(np.linalg.norm(b64))
    if na == 0 or nb == 0:
        return float("nan")
    return float(a64 @ b64) / (na * nb)


def sign_agreement(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> tuple[float, int]:
    """Share of entries, among those where both are non-zero, with the same sign; and how many those are.

    Returns ``(nan, 0)`` if no entry is non-zero in both.
    """
    a64, b64 = _flat(a, "a"), _flat(b, "b")
    if a64.shape != b64.shape:
        raise ValueError(f"a and b must have the same number of entries, got {a64.size} and {b64.size}")
    both = (a64 != 0) & (b64 != 0)
    n = int(both.sum())
    if n == 0:
        return float("nan"), 0
    return float((np.sign(a64[both]) == np.sign(b64[both])).mean()), n


def _flat(x: object, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    return x.astype(np.float64).ravel()


def _check_trains(pre: torch.Tensor, post: torch.Tensor) -> None:
    check_tensor(pre, "pre")
    check_tensor(post, "post")
    if pre.dim() != 3 or post.dim() != 3:
        raise ValueError(
            f"pre and post must be spike trains [T, B, N], got shapes {tuple(pre.shape)} and "
            f"{tuple(post.shape)}"
        )
    if pre.shape[:2] != post.shape[:2]:
        raise ValueError(
            f"pre and post must share T and B, got shapes {tuple(pre.shape)} and {tuple(post.shape)}"
        )


def pair_stdp(
    pre: torch.Tensor, post: torch.Tensor, decay: float, a_plus: float = 1.0, a_minus: float = 1.0
) -> torch.Tensor:
    """The all-to-all pair-based STDP change of the module docstring, summed over batch and time.

    Args:
        pre: presynaptic trains ``[T, B, N_in]``.
        post: postsynaptic trains ``[T, B, N_out]``, aligned with ``pre`` (same ``t`` = same step).
        decay: the traces' decay per step, in (0, 1].
        a_plus, a_minus: amplitudes of potentiation (``dt >= 0``) and depression (``dt < 0``).

    Returns:
        ``[N_out, N_in]``: ``sum over pairs of A+ decay^dt`` (``dt >= 0``) ``- A- decay^|dt|`` (``dt < 0``).

    Example:
        >>> pre = torch.zeros(6, 1, 1); pre[2] = 1; post = torch.zeros(6, 1, 1); post[5] = 1
        >>> pair_stdp(pre, post, 0.5)   # dt = 3: 0.5 ** 3
        tensor([[0.1250]])
    """
    _check_trains(pre, post)
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay <= 1:
        raise ValueError(f"decay must lie in (0, 1], got {decay!r}")
    potentiation, depression = _stdp_parts(pre, post, float(decay))
    return a_plus * potentiation - a_minus * depression


def _stdp_parts(pre: torch.Tensor, post: torch.Tensor, decay: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sum_t s[t] x[t]^T, sum_t y[t] p[t]^T)`` of the module docstring, each ``[N_out, N_in]``."""
    pre64, post64 = pre.detach().double(), post.detach().double()
    x_acc, y_acc = torch.zeros_like(pre64[0]), torch.zeros_like(post64[0])
    xs, ys = [], []
    for p_t, s_t in zip(pre64.unbind(0), post64.unbind(0), strict=True):
        x_acc = decay * x_acc + p_t  # pre trace, this step included (dt = 0 is causal)
        y_acc = decay * y_acc  # post trace, strictly earlier steps (dt < 0)
        xs.append(x_acc)
        ys.append(y_acc)
        y_acc = y_acc + s_t
    n_in, n_out = pre64.shape[-1], post64.shape[-1]
    x, y = torch.stack(xs).reshape(-1, n_in), torch.stack(ys).reshape(-1, n_out)  # [T*B, N]
    potentiation = post64.reshape(-1, n_out).T @ x
    depression = y.T @ pre64.reshape(-1, n_in)
    return potentiation, depression


def pair_window(
    pre: torch.Tensor, post: torch.Tensor, weight_change: torch.Tensor, max_dt: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The window reconstructed from every pre/post pair, weighted by ``weight_change`` (module docstring).

    Args:
        pre: ``[T, B, N_in]``; post: ``[T, B, N_out]``, aligned.
        weight_change: ``[N_out, N_in]``, e.g. ``-dL/dW``.
        max_dt: the window spans ``[-max_dt, max_dt]``.

    Returns:
        ``(dt [D], window [D], pairs [D])``: the mean change per pair at each ``dt`` (``nan`` where there is
        no pair) and the number of pairs. Graded or signed activity (RefractoryLIF's output, the flicker
        input of SeedSNN) counts each pair with weight ``|post| |pre|`` and the sign of ``post * pre``.
    """
    _check_trains(pre, post)
    check_positive_int(max_dt, "max_dt")
    g = weight_change.detach().double() if isinstance(weight_change, torch.Tensor) else None
    if g is None or g.shape != (post.shape[-1], pre.shape[-1]):
        shape = tuple(weight_change.shape) if isinstance(weight_change, torch.Tensor) else type(weight_change)
        raise ValueError(
            f"weight_change must be a tensor [N_out, N_in] = [{post.shape[-1]}, {pre.shape[-1]}], got {shape}"
        )
    pre64, post64 = pre.detach().double(), post.detach().double()
    q = pre64 @ g.T  # [T, B, N_out]: sum_j G_ij p_j[t]
    ps, qs = post64.abs().sum(-1), pre64.abs().sum(-1)  # [T, B]: pair amplitudes (signed inputs count too)
    steps = pre.shape[0]
    dts = np.arange(-max_dt, max_dt + 1)
    num, den = np.zeros(dts.size), np.zeros(dts.size)
    for k, dt in enumerate(dts):
        if abs(dt) >= steps:
            continue
        if dt >= 0:  # post at t, pre at t - dt
            num[k] = float((post64[dt:] * q[: steps - dt]).sum())
            den[k] = float((ps[dt:] * qs[: steps - dt]).sum())
        else:
            num[k] = float((post64[: steps + dt] * q[-dt:]).sum())
            den[k] = float((ps[: steps + dt] * qs[-dt:]).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        window = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return dts, window, den


@dataclass
class LayerWindow:
    """One layer's comparison (see :mod:`spikekit.analysis.network`).

    ``bptt`` is ``-dL/dW`` and ``stdp`` the pair-based change, both ``[N_out, N_in]`` numpy arrays;
    ``window`` the gradient per pair at each ``dt``, ``baseline`` its mean over all pairs, ``pairs`` the
    number of pairs per ``dt``; ``fit`` and ``causal_fraction`` are those of ``dw = window - baseline``.
    """

    name: str
    linear: str
    decay: float
    output_delay: int
    bptt: np.ndarray
    stdp: np.ndarray
    cosine: float
    cosine_causal: float
    sign_agreement: float
    sign_count: int
    dt: np.ndarray
    window: np.ndarray
    baseline: float
    pairs: np.ndarray
    fit: WindowFit
    causal_fraction: float

    @property
    def depression(self) -> bool:
        """Whether the reconstructed window has a depression lobe (``A- > 0``)."""
        return self.fit.depression

    def fitted(self, dt: np.ndarray) -> np.ndarray:
        return self.fit(dt)

    @property
    def dw(self) -> np.ndarray:
        """The timing-dependent part of the window, ``window - baseline`` (what is fitted and plotted)."""
        return self.window - self.baseline

    @property
    def label(self) -> str:
        return f"{self.linear} -> {self.name}"

    def to_dict(self, matrices: bool = False) -> dict:
        d = {
            "layer": self.name,
            "linear": self.linear,
            "decay": self.decay,
            "output_delay": self.output_delay,
            "cosine": _json_float(self.cosine),
            "cosine_causal": _json_float(self.cosine_causal),
            "sign_agreement": _json_float(self.sign_agreement),
            "sign_count": self.sign_count,
            "fit": self.fit.to_dict(),
            "causal_fraction": _json_float(self.causal_fraction),
            "depression": self.depression,
            "dt": [int(v) for v in self.dt],
            "window": [_json_float(float(v)) for v in self.window],
            "baseline": _json_float(self.baseline),
            "pairs": [float(v) for v in self.pairs],
        }
        if matrices:
            d["bptt"] = self.bptt.tolist()
            d["stdp"] = self.stdp.tolist()
        return d


@dataclass
class NetworkWindow:
    """The in-network comparison for every layer, with the loss and the remedies it was computed with."""

    layers: list[LayerWindow]
    loss: float
    weight_decay: float
    after_potential: dict | None
    skipped: dict[str, str] = field(default_factory=dict)  # layer label -> why it was not analysed

    def __getitem__(self, name: str) -> LayerWindow:
        for layer in self.layers:
            if name in (layer.name, layer.linear):
                return layer
        raise KeyError(f"no layer {name!r}; layers: {[layer.name for layer in self.layers]}")

    def markdown(self) -> str:
        """A markdown table: one row per layer."""
        head = (
            "| layer | cosine(BPTT, STDP) | cosine(BPTT, causal STDP) | sign agreement | A+ | tau+ | A- | "
            "tau- | causal fraction | depression |\n|---|---|---|---|---|---|---|---|---|---|"
        )
        rows = [
            f"| {lw.label} | {_fmt(lw.cosine)} | {_fmt(lw.cosine_causal)} | {_fmt(lw.sign_agreement)} | "
            f"{_fmt(lw.fit.a_plus, 4)} | {_fmt(lw.fit.tau_plus)} | {_fmt(lw.fit.a_minus, 4)} | "
            f"{_fmt(lw.fit.tau_minus)} | {_fmt(lw.causal_fraction)} | {'yes' if lw.depression else 'no'} |"
            for lw in self.layers
        ]
        rows += [f"| {label} | {why} |  |  |  |  |  |  |  |  |" for label, why in self.skipped.items()]
        return "\n".join([head, *rows])

    def to_dict(self, matrices: bool = False) -> dict:
        return {
            "loss": self.loss,
            "weight_decay": self.weight_decay,
            "after_potential": self.after_potential,
            "layers": [lw.to_dict(matrices) for lw in self.layers],
            "skipped": dict(self.skipped),
        }


def _fmt(v: float, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    if isinstance(v, float) and np.isinf(v):
        return "inf"
    return f"{v:.{digits}g}"


def linear_neuron_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """``(neuron name, Linear name)`` for each neuron layer preceded, in definition order, by a Linear.

    Layers are taken in ``model.named_modules()`` order; a neuron is paired with the last Linear defined
    before it since the previous neuron. Neurons inside an :class:`AfterPotential` are named as the inner
    module (``"lif1.neuron"``), as :func:`spikekit.record` names them.
    """
    pairs, last = [], None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = name
        elif isinstance(module, Neuron):
            if last is not None:
                pairs.append((name, last))
            last = None
    return pairs


def _default_loss(output: object, targets: torch.Tensor) -> torch.Tensor:
    from .. import decode

    if not isinstance(output, torch.Tensor):
        raise TypeError(
            f"the model returned {type(output).__name__}, not a tensor; pass loss_fn(output, targets)"
        )
    if output.dim() == 3:
        return decode.ce_rate_loss(output, targets)
    if output.dim() == 2:  # logits or log-probabilities: cross_entropy equals nll_loss on the latter
        return F.cross_entropy(output, targets)
    raise ValueError(
        f"cannot pick a loss for a model output of shape {tuple(output.shape)} (expected [T, B, C] spikes "
        "or [B, C] logits); pass loss_fn(output, targets)"
    )


def _stack_inputs(chunks: list[torch.Tensor], name: str) -> torch.Tensor:
    if not chunks:
        raise RuntimeError(f"Linear layer {name!r} did not run during the forward pass")
    if all(c.dim() == 2 for c in chunks):  # called once per step with [B, F]
        return torch.stack(chunks)
    if all(c.dim() == 3 for c in chunks):
        return torch.cat(chunks)
    raise ValueError(
        f"Linear layer {name!r} got inputs of shapes {[tuple(c.shape) for c in chunks[:3]]}; the in-network "
        "analysis needs [T, B, F] (or [B, F] once per step)"
    )


def network_window(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    loss_fn: Callable[[object, torch.Tensor], torch.Tensor] | None = None,
    weight_decay: float = 0.0,
    after_potential_tau: float | None = None,
    after_potential_scale: float = 1.0,
    max_dt: int = 20,
    a_plus: float = 1.0,
    a_minus: float = 1.0,
    decay: float | None = None,
    pairs: Mapping[str, str] | None = None,
    fit_method: str = "auto",
) -> NetworkWindow:
    """Compare each layer's BPTT weight gradient with pair-based STDP on one batch (in-network mode).

    See :mod:`spikekit.analysis.network` for the quantities. The model is not changed: gradients are
    taken with :func:`torch.autograd.grad` (no ``.grad`` is written) and remedies act on a copy.

    Args:
        model: a module of ``nn.Linear`` layers each followed by a spikekit neuron layer (``[T, B, F]``
            through the Linears). Its forward is called as ``model(inputs)``.
        inputs: the batch, as ``model`` takes it.
        targets: the labels, as ``loss_fn`` takes them (class indices ``[B]`` for the default).
        loss_fn: ``loss_fn(model(inputs), targets) -> scalar``. Default: cross-entropy on the rate for an
            output ``[T, B, C]``, on the output for ``[B, C]`` (logits or log-probabilities).
        weight_decay: L2 coefficient: adds ``weight_decay / 2 * |W|^2`` per analysed Linear.
        after_potential_tau: if given, analyse a copy whose neurons carry
            :class:`~spikekit.analysis.remedies.AfterPotential` tails with this time constant.
        after_potential_scale: the tail's integral relative to the spike.
        max_dt: the reconstructed window spans ``[-max_dt, max_dt]``.
        a_plus, a_minus: the STDP rule's amplitudes.
        decay: the STDP traces' decay per step; default each layer's membrane decay.
        pairs: ``{neuron layer name: Linear name}`` to override :func:`linear_neuron_pairs`.
        fit_method: as :func:`~spikekit.analysis.fit.fit_window`.

    Returns:
        A :class:`NetworkWindow`; ``result.markdown()`` is the per-layer table.

    Example:
        >>> res = network_window(model, images, labels)
        >>> print(res.markdown())
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_tensor(targets, "targets")
    check_positive_int(max_dt, "max_dt")
    if fit_method not in FIT_METHODS:
        raise ValueError(f"fit_method must be one of {FIT_METHODS}; got {fit_method!r}")
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)) or weight_decay < 0:
        raise ValueError(f"weight_decay must be a float >= 0, got {weight_decay!r}")
    if decay is not None and not (isinstance(decay, (int, float)) and 0 < decay <= 1):
        raise ValueError(f"decay must lie in (0, 1] or be None, got {decay!r}")
    ap = None
    if after_potential_tau is not None:
        tau, scale = _check_tail(after_potential_tau, after_potential_scale)
        ap = {"tau": tau, "scale": scale}
        model = with_after_potential(model, tau, scale)

    modules = dict(model.named_modules())
    found = dict(linear_neuron_pairs(model)) if pairs is None else dict(pairs)
    if not found:
        raise ValueError(
            f"{type(model).__name__} has no nn.Linear followed by a spikekit neuron layer; "
            "pass pairs={neuron layer name: Linear name}"
        )
    for neuron_name, linear_name in found.items():
        if not isinstance(modules.get(neuron_name), (Neuron, AfterPotential)):
            raise ValueError(f"pairs: {neuron_name!r} is not a spikekit neuron layer of the model")
        if not isinstance(modules.get(linear_name), nn.Linear):
            raise ValueError(f"pairs: {linear_name!r} is not an nn.Linear of the model")

    captured: dict[str, list[torch.Tensor]] = {name: [] for name in found.values()}
    hooks = [
        modules[name].register_forward_hook(
            lambda _m, args, _out, name=name: captured[name].append(args[0].detach())
        )
        for name in captured
    ]
    try:
        with record(model) as rec:
            output = model(inputs)
    finally:
        for h in hooks:
            h.remove()
    loss = (loss_fn or _default_loss)(output, targets)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        raise ValueError(f"loss_fn must return a scalar tensor, got {type(loss).__name__}")
    weights = [modules[name].weight for name in found.values()]
    for name, w in zip(found.values(), weights, strict=True):
        if not w.requires_grad:
            raise ValueError(f"the weight of {name!r} does not require grad; the analysis needs its gradient")
    total = loss + 0.5 * weight_decay * sum((w**2).sum() for w in weights)
    grads = torch.autograd.grad(total, weights, allow_unused=True)

    layers, skipped = [], {}
    for (neuron_name, linear_name), grad in zip(found.items(), grads, strict=True):
        if pairs is None and _static_input(
            captured[linear_name], rec[_record_name(neuron_name, modules[neuron_name])]
        ):
            skipped[f"{linear_name} -> {neuron_name}"] = (
                "input is not a spike train (a static input repeated over time, e.g. direct encoding)"
            )
            continue
        layers.append(
            _layer(
                neuron_name,
                linear_name,
                modules,
                captured,
                rec,
                grad,
                decay,
                a_plus,
                a_minus,
                max_dt,
                fit_method,
            )
        )
    if not layers:
        raise ValueError(f"no layer of {type(model).__name__} could be analysed: {skipped}")
    return NetworkWindow(layers, float(loss.detach()), float(weight_decay), ap, skipped)


def _static_input(chunks: list[torch.Tensor], neuron_record) -> bool:
    """Whether a Linear saw one step (a static input broadcast over ``T``) while its neuron ran longer."""
    steps_in = sum(c.shape[0] for c in chunks) if chunks and chunks[0].dim() >= 3 else 1
    return steps_in == 1 and neuron_record.spikes.shape[0] > 1


def _layer(
    neuron_name, linear_name, modules, captured, rec, grad, decay, a_plus, a_minus, max_dt, fit_method
):
    linear, neuron = modules[linear_name], modules[neuron_name]
    pre = _stack_inputs(captured[linear_name], linear_name)  # [T, B, N_in]
    post = rec[_record_name(neuron_name, neuron)].spikes  # [T, B, ...]
    post = post.reshape(*post.shape[:2], -1)
    if (
        pre.shape[:2] != post.shape[:2]
        or pre.shape[-1] != linear.in_features
        or post.shape[-1] != linear.out_features
    ):
        raise ValueError(
            f"{linear_name!r} -> {neuron_name!r}: the Linear's input {tuple(pre.shape)} and the neuron's "
            f"output {tuple(post.shape)} do not line up as [T, B, {linear.in_features}] -> "
            f"[T, B, {linear.out_features}]; "
            "pass pairs= to say which Linear feeds which neuron"
        )
    delay = output_delay(neuron)
    steps = pre.shape[0]
    pre_a, post_a = pre[: steps - delay], post[delay:]  # align: post at t caused by input at t
    lam = decay if decay is not None else membrane_decay(neuron)
    if lam is None:
        raise ValueError(f"{neuron_name!r}: unknown membrane decay for {type(neuron).__name__}; pass decay=")
    g = torch.zeros_like(linear.weight) if grad is None else -grad.detach()
    g = g.double()
    potentiation, depression = _stdp_parts(pre_a, post_a, float(lam))
    stdp, causal = a_plus * potentiation - a_minus * depression, potentiation
    agree, n_agree = sign_agreement(g, stdp)
    dts, window, den = pair_window(pre_a, post_a, g, max_dt)
    has = den > 0
    baseline = float((window[has] * den[has]).sum() / den[has].sum()) if has.any() else float("nan")
    shape = window - baseline
    return LayerWindow(
        name=neuron_name,
        linear=linear_name,
        decay=float(lam),
        output_delay=delay,
        bptt=g.cpu().numpy(),
        stdp=stdp.cpu().numpy(),
        cosine=cosine_similarity(g, stdp),
        cosine_causal=cosine_similarity(g, causal),
        sign_agreement=agree,
        sign_count=n_agree,
        dt=dts,
        window=window,
        baseline=baseline,
        pairs=den,
        fit=fit_window(dts, shape, fit_method),
        causal_fraction=causal_fraction(dts, shape),
    )


def _record_name(name: str, module: nn.Module) -> str:
    """The name :func:`spikekit.record` gives the neuron inside ``module``."""
    return f"{name}.neuron" if isinstance(module, AfterPotential) else name
