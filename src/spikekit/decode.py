"""Readouts and losses over time-first spike (or membrane) sequences ``[T, B, ...]``.

Readouts reduce the time axis away: ``[T, B, ...] -> [B, ...]``.

- :func:`rate` (mean over time), :func:`count` (sum over time), :func:`membrane` (sum, mean, max or
  last step of a membrane trace), :func:`first_spike` (index of the first spike, ``T`` if none) and
  :func:`predict_first_spike` (the class that fires first).

Losses take outputs ``[T, B, C]`` and class indices ``targets`` ``[B]`` (int64) and average over the
batch:

- :func:`ce_rate_loss`: cross-entropy with the firing rate as logits (or at every step, snnTorch-style).
- :func:`ce_membrane_loss`: cross-entropy on the membrane potential reduced over time *first* (one
  cross-entropy per sample).
- :func:`ce_membrane_per_step_loss`: cross-entropy on the membrane of *every* step, summed (or averaged)
  over time: snnTorch tutorial 5's loss.
- :func:`mse_count_loss`: mean squared error between spike counts and target counts.

Every readout and loss refuses, with a ``ValueError``/``TypeError`` naming the argument, a sequence that is
not floating point, has no time step (``T = 0``), no sample (``B = 0``; a loss over an empty batch would
be NaN), no class (``C = 0``, losses), or holds NaN or an infinity; and targets that are not int64 class
indices ``[B]`` in ``[0, C)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from spikekit._checks import check_choice, check_finite, check_range, check_tensor, check_time_first

__all__ = [
    "ce_membrane_loss",
    "ce_membrane_per_step_loss",
    "ce_rate_loss",
    "count",
    "first_spike",
    "membrane",
    "mse_count_loss",
    "predict_first_spike",
    "rate",
]

_REDUCE = ("sum", "mean", "max", "last")


def _check_sequence(x: object, name: str, min_dim: int = 2) -> torch.Tensor:
    """Check ``x`` is a finite floating-point time-first sequence ``[T, B, ...]`` with ``T, B >= 1`` and at
    least ``min_dim`` dims."""
    x = check_tensor(x, name)
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}; use {name}.float()")
    check_time_first(x, name, min_dim=min_dim)
    if x.shape[1] == 0:
        raise ValueError(
            f"{name} must hold at least one sample (B >= 1 in [T, B, ...]), got shape {tuple(x.shape)}"
        )
    return check_finite(x, name)


def _check_outputs(x: object, name: str) -> torch.Tensor:
    """Check ``x`` is a finite floating-point ``[T, B, C]`` tensor with ``C >= 1``, as the losses need."""
    x = _check_sequence(x, name, min_dim=3)
    if x.dim() != 3:
        raise ValueError(
            f"{name} must have shape [T, B, C] (3 dimensions), got shape {tuple(x.shape)}; "
            "flatten the feature axes into C first"
        )
    if x.shape[2] == 0:
        raise ValueError(
            f"{name} must have at least one class (C >= 1 in [T, B, C]), got shape {tuple(x.shape)}"
        )
    return x


def _check_rate(value: object, name: str) -> float:
    """A real number in [0, 1] (``TypeError`` for anything else, bools included)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number in [0, 1], got {type(value).__name__} {value!r:.60}")
    check_range(float(value), name, 0.0, 1.0)
    return float(value)


def _check_targets(targets: object, batch: int, classes: int) -> torch.Tensor:
    """Check ``targets`` holds ``batch`` int64 class indices in ``[0, classes)``."""
    targets = check_tensor(targets, "targets")
    if targets.dtype != torch.int64:
        raise TypeError(
            f"targets must hold class indices as an int64 tensor, got dtype {targets.dtype}; "
            "use targets.long() (one-hot or probability targets are not accepted)"
        )
    if tuple(targets.shape) != (batch,):
        raise ValueError(f"targets must have shape [B] = ({batch},), got shape {tuple(targets.shape)}")
    if bool((targets < 0).any()) or bool((targets >= classes).any()):
        raise ValueError(
            f"targets must be class indices in [0, {classes - 1}], "
            f"got values in [{int(targets.min())}, {int(targets.max())}]"
        )
    return targets


def rate(spikes: torch.Tensor) -> torch.Tensor:
    r"""Firing rate: the mean of ``spikes`` over time.

    .. math::
        r = \frac{1}{T} \sum_{t=0}^{T-1} s[t]

    Differentiable: gradients flow to every step.

    Args:
        spikes: a time-first sequence ``[T, B, ...]``.

    Shape:
        - spikes: ``[T, B, ...]``
        - output: ``[B, ...]``

    Returns:
        The rate, with ``spikes``' dtype; in [0, 1] for binary spikes.

    Example:
        >>> rate(torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]]))
        tensor([[1.0000, 0.5000]])
    """
    return _check_sequence(spikes, "spikes").mean(0)


def count(spikes: torch.Tensor) -> torch.Tensor:
    r"""Spike count: the sum of ``spikes`` over time.

    .. math::
        n = \sum_{t=0}^{T-1} s[t]

    Args:
        spikes: a time-first sequence ``[T, B, ...]``.

    Shape:
        - spikes: ``[T, B, ...]``
        - output: ``[B, ...]``

    Returns:
        The count, with ``spikes``' dtype.

    Example:
        >>> count(torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]]))
        tensor([[2., 1.]])
    """
    return _check_sequence(spikes, "spikes").sum(0)


def membrane(v: torch.Tensor, reduce: str = "sum") -> torch.Tensor:
    r"""Reduce a membrane trace over time: its sum, mean, maximum or last value.

    .. math::
        \text{sum: } \sum_t v[t], \quad \text{mean: } \frac{1}{T}\sum_t v[t], \quad
        \text{max: } \max_t v[t], \quad \text{last: } v[T-1]

    For ``"max"`` the gradient flows only to the step holding the maximum.

    Args:
        v: a membrane trace ``[T, B, ...]``.
        reduce: ``"sum"``, ``"mean"``, ``"max"`` or ``"last"``.

    Shape:
        - v: ``[T, B, ...]``
        - output: ``[B, ...]``

    Returns:
        The reduced membrane potential, with ``v``'s dtype.

    Example:
        >>> v = torch.tensor([[[0.5, -1.0]], [[0.2, 2.0]]])
        >>> membrane(v, "max")
        tensor([[0.5000, 2.0000]])
    """
    v = _check_sequence(v, "v")
    reduce = check_choice(reduce, "reduce", _REDUCE)
    if reduce == "sum":
        return v.sum(0)
    if reduce == "mean":
        return v.mean(0)
    if reduce == "max":
        return v.amax(0)
    return v[-1]


def first_spike(spikes: torch.Tensor) -> torch.Tensor:
    r"""Time index of each neuron's first spike; ``T`` for a neuron that never fires.

    .. math::
        t_{\text{first}} = \min\{t : s[t] \ne 0\}, \quad \min \emptyset := T

    Any nonzero value counts as a spike (binary, graded or signed events). Not differentiable.

    Args:
        spikes: a time-first sequence ``[T, B, ...]``.

    Shape:
        - spikes: ``[T, B, ...]``
        - output: ``[B, ...]``

    Returns:
        Float step indices in ``{0, ..., T}``, with ``spikes``' dtype promoted to at least float32
        (so indices stay exact for bfloat16/half inputs).

    Example:
        >>> s = torch.tensor([[[0.0, 0.0, 1.0]], [[1.0, 0.0, 1.0]]])
        >>> first_spike(s)
        tensor([[1., 2., 0.]])
    """
    spikes = _check_sequence(spikes, "spikes")
    steps = spikes.shape[0]
    dtype = torch.promote_types(spikes.dtype, torch.float32)
    index = torch.arange(steps, device=spikes.device, dtype=dtype)
    index = index.reshape(steps, *([1] * (spikes.dim() - 1)))  # [T, 1, ...]
    never = torch.tensor(float(steps), device=spikes.device, dtype=dtype)
    return torch.where(spikes != 0, index, never).amin(0).detach()


def predict_first_spike(spikes: torch.Tensor) -> torch.Tensor:
    r"""Predicted class: the output neuron that fires first.

    .. math::
        \hat{y} = \operatorname{argmin}_c\, t_{\text{first}, c}

    Ties (several classes firing first at the same step, or no class firing at all) go to the lowest
    class index.

    Args:
        spikes: output spikes ``[T, B, C]``.

    Shape:
        - spikes: ``[T, B, C]``
        - output: ``[B]``

    Returns:
        Class indices, int64.

    Example:
        >>> s = torch.tensor([[[0.0, 1.0, 1.0]], [[1.0, 0.0, 0.0]]])
        >>> predict_first_spike(s)
        tensor([1])
    """
    return first_spike(_check_outputs(spikes, "spikes")).argmin(-1)


def ce_rate_loss(spikes: torch.Tensor, targets: torch.Tensor, *, per_step: bool = False) -> torch.Tensor:
    r"""Cross-entropy with the firing rate used as logits, averaged over the batch.

    .. math::
        \mathcal{L} = \frac{1}{B}\sum_b -\log \operatorname{softmax}(r_b)_{y_b},
        \quad r = \frac{1}{T}\sum_t s[t]

    With ``per_step=True`` cross-entropy is applied to the spikes of every step and averaged over
    time instead, as snnTorch's ``ce_rate_loss`` does:
    :math:`\frac{1}{T}\sum_t \frac{1}{B}\sum_b -\log \operatorname{softmax}(s_b[t])_{y_b}`.
    By convexity the per-step loss is never smaller than the rate loss.

    Args:
        spikes: output spikes ``[T, B, C]``.
        targets: class indices ``[B]``, int64, in ``[0, C)``.
        per_step: apply cross-entropy at every step (snnTorch's convention) instead of on the rate.

    Shape:
        - spikes: ``[T, B, C]``
        - targets: ``[B]``
        - output: scalar

    Returns:
        The loss, a 0-d tensor.

    Example:
        >>> s = torch.tensor([[[1.0, 0.0]], [[1.0, 0.0]]], requires_grad=True)
        >>> ce_rate_loss(s, torch.tensor([0])).backward()
    """
    spikes = _check_outputs(spikes, "spikes")
    steps, batch, classes = spikes.shape
    targets = _check_targets(targets, batch, classes)
    if per_step:
        return F.cross_entropy(spikes.reshape(steps * batch, classes), targets.repeat(steps))
    return F.cross_entropy(spikes.mean(0), targets)


def ce_membrane_loss(v: torch.Tensor, targets: torch.Tensor, reduce: str = "mean") -> torch.Tensor:
    r"""Cross-entropy on the membrane potential reduced over time, averaged over the batch.

    .. math::
        \mathcal{L} = \frac{1}{B}\sum_b -\log \operatorname{softmax}(m_b)_{y_b},
        \quad m = \texttt{membrane}(v, \text{reduce})

    Time is reduced *before* the cross-entropy: one softmax per sample, over the time-reduced membrane
    (``reduce="max"`` is snnTorch's ``ce_max_membrane_loss``). This is **not** snnTorch tutorial 5's loss,
    which applies cross-entropy to the membrane of every step and sums the ``T`` losses; that one is
    :func:`ce_membrane_per_step_loss`.

    Args:
        v: output membrane trace ``[T, B, C]``.
        targets: class indices ``[B]``, int64, in ``[0, C)``.
        reduce: how to reduce time, see :func:`membrane`: ``"sum"``, ``"mean"``, ``"max"``, ``"last"``.

    Shape:
        - v: ``[T, B, C]``
        - targets: ``[B]``
        - output: scalar

    Returns:
        The loss, a 0-d tensor.

    Example:
        >>> v = torch.randn(10, 4, 3, requires_grad=True)
        >>> ce_membrane_loss(v, torch.tensor([0, 1, 2, 0]), reduce="max").backward()
    """
    v = _check_outputs(v, "v")
    targets = _check_targets(targets, v.shape[1], v.shape[2])
    return F.cross_entropy(membrane(v, reduce), targets)


def ce_membrane_per_step_loss(v: torch.Tensor, targets: torch.Tensor, *, time: str = "sum") -> torch.Tensor:
    r"""Cross-entropy on the membrane of every step, summed (or averaged) over time: snnTorch tutorial 5's.

    .. math::
        \mathcal{L} = \sum_{t=0}^{T-1} \frac{1}{B}\sum_b -\log \operatorname{softmax}(v_b[t])_{y_b}
        \qquad (\text{``time="mean"``: divided by } T)

    snnTorch's tutorial 5 computes exactly this with ``loss = nn.CrossEntropyLoss()`` and
    ``for step in range(num_steps): loss_val += loss(mem_rec[step], targets)``. Every step is pushed to
    rank the correct class first, unlike :func:`ce_membrane_loss`, which reduces time before the softmax.
    Its value grows with ``T`` (about ``T ln C`` untrained); ``time="mean"`` makes it independent of ``T``
    (and is to this loss what ``ce_rate_loss(per_step=True)`` is to spikes).

    Args:
        v: output membrane trace ``[T, B, C]`` (e.g. the ``v`` of :meth:`spikekit.nn.Neuron.trace`).
        targets: class indices ``[B]``, int64, in ``[0, C)``.
        time: ``"sum"`` (tutorial 5) or ``"mean"`` over the ``T`` per-step losses.

    Shape:
        - v: ``[T, B, C]``
        - targets: ``[B]``
        - output: scalar

    Returns:
        The loss, a 0-d tensor.

    Example:
        >>> v = torch.zeros(25, 4, 10)
        >>> ce_membrane_per_step_loss(v, torch.tensor([0, 1, 2, 3]))  # 25 * ln 10
        tensor(57.5646)
    """
    v = _check_outputs(v, "v")
    steps, batch, classes = v.shape
    targets = _check_targets(targets, batch, classes)
    time = check_choice(time, "time", ("sum", "mean"))
    per_step = F.cross_entropy(v.reshape(steps * batch, classes), targets.repeat(steps), reduction="none")
    per_step = per_step.reshape(steps, batch).mean(1)  # [T]: each step's batch-mean loss, as the tutorial
    return per_step.sum() if time == "sum" else per_step.mean()


def mse_count_loss(
    spikes: torch.Tensor,
    targets: torch.Tensor,
    *,
    correct_rate: float = 0.8,
    incorrect_rate: float = 0.2,
) -> torch.Tensor:
    r"""Mean squared error between spike counts and target counts.

    .. math::
        \mathcal{L} = \frac{1}{BC}\sum_{b,c} \big(n_{b,c} - n^*_{b,c}\big)^2, \quad
        n = \sum_t s[t], \quad
        n^*_{b,c} = \begin{cases} \text{correct\_rate} \cdot T & c = y_b \\
                                  \text{incorrect\_rate} \cdot T & \text{otherwise} \end{cases}

    Target counts are not rounded (snnTorch truncates them with ``int``) and the loss is not divided
    by ``T``.

    Args:
        spikes: output spikes ``[T, B, C]``.
        targets: class indices ``[B]``, int64, in ``[0, C)``.
        correct_rate: target firing rate of the correct class, in [0, 1].
        incorrect_rate: target firing rate of every other class, in [0, 1].

    Shape:
        - spikes: ``[T, B, C]``
        - targets: ``[B]``
        - output: scalar

    Returns:
        The loss, a 0-d tensor.

    Example:
        >>> s = torch.ones(10, 1, 2)
        >>> mse_count_loss(s, torch.tensor([0]))  # ((10 - 8)**2 + (10 - 2)**2) / 2
        tensor(34.)
    """
    spikes = _check_outputs(spikes, "spikes")
    steps, batch, classes = spikes.shape
    targets = _check_targets(targets, batch, classes)
    correct_rate = _check_rate(correct_rate, "correct_rate")
    incorrect_rate = _check_rate(incorrect_rate, "incorrect_rate")
    onehot = F.one_hot(targets, classes).to(torch.bool)  # [B, C]
    wanted = torch.where(onehot, correct_rate * steps, incorrect_rate * steps).to(spikes.dtype)
    return F.mse_loss(spikes.sum(0), wanted)
