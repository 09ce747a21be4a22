"""Spike encoders: turn static inputs (or sequences) into time-first spike trains ``[T, B, ...]``.

Every encoder returns a tensor with the time axis first, in the input's floating-point dtype and on
its device. Encoders that draw random numbers take an optional ``generator`` (a ``torch.Generator`` on
the input's device), so the same seed always gives the same spikes.

- :func:`poisson`: rate (Bernoulli/Poisson) code, ``s[t] = 1[u[t] < gain * x]``.
- :func:`flicker`: the original seed experiment's input, ``x[t] = x * u[t]``.
- :func:`latency`: time to first spike, linear or logarithmic, at most one spike per input.
- :func:`delta`: on/off events where a sequence changes by at least a threshold.
- :func:`population`: Gaussian receptive fields (Bohte et al., 2002), as activations or spikes.

Here ``u[t] ~ Uniform(0, 1)`` is drawn fresh at every step and for every element.

Sizes are checked before anything is allocated: an output (``steps`` x the input, or x ``neurons``) that
would need more memory than the device has is refused with a ``ValueError``, as are NaN, infinite,
non-floating (bool, integer, complex) and meta-device inputs.
"""

from __future__ import annotations

import math

import torch

from spikekit._checks import (
    check_allocation,
    check_choice,
    check_finite,
    check_positive_int,
    check_probability,
    check_range,
    check_tensor,
    check_time_first,
)

__all__ = ["delta", "flicker", "latency", "poisson", "population"]

# Full width at half maximum of a unit Gaussian: FWHM = 2 * sqrt(2 ln 2) * sigma.
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def _check_input(x: object, name: str = "x") -> torch.Tensor:
    """Check ``x`` is a finite floating-point tensor with at least a batch axis ``[B, ...]``."""
    x = check_tensor(x, name)
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {x.dtype}; "
            "convert it first, e.g. x.float() / 255 for 8-bit images"
        )
    if x.dim() < 1:
        raise ValueError(
            f"{name} must have at least a batch axis [B, ...], got a 0-d tensor; use x.reshape(1)"
        )
    return check_finite(x, name)


def _check_output(shape: tuple[int, ...], dtype: torch.dtype, encoder: str, device: torch.device) -> None:
    """Refuse, before allocating, an output (and its random draws) larger than the device's memory."""
    check_allocation(shape, dtype, f"{encoder}: the output [T, B, ...]", device)


def _check_real(value: object, name: str) -> float:
    """Check ``value`` is a finite real number (``bool`` refused) and return it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def _check_generator(generator: object, device: torch.device) -> torch.Generator | None:
    """Check ``generator`` is ``None`` or a ``torch.Generator`` on ``device``'s type."""
    if generator is None:
        return None
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if generator.device.type != device.type:
        raise ValueError(
            f"generator must live on the input's device type {device.type!r}, "
            f"got a generator on {generator.device.type!r}"
        )
    return generator


def _uniform(
    shape: tuple[int, ...],
    like: torch.Tensor,
    generator: torch.Generator | None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Draw ``Uniform[0, 1)`` samples of ``shape`` on ``like``'s device."""
    dtype = like.dtype if dtype is None else dtype
    return torch.rand(shape, generator=generator, device=like.device, dtype=dtype)


def poisson(
    x: torch.Tensor,
    steps: int,
    *,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Rate-code ``x`` as independent Bernoulli ("Poisson") spikes at every step.

    .. math::
        s[t] = \mathbb{1}\left[u[t] < p\right], \quad p = \text{gain} \cdot x,
        \quad u[t] \sim \mathcal{U}[0, 1)

    so each element fires at step ``t`` with probability ``p`` and ``E[s[t]] = p``. The uniform draws
    are made in at least float32 precision, so ``p`` is not quantised by a low-precision ``x`` dtype.

    Args:
        x: firing probabilities per step, ``[B, ...]``; ``gain * x`` must lie in [0, 1].
        steps: number of time steps ``T``, an int >= 1.
        gain: factor applied to ``x`` before it is used as a probability.
        generator: optional ``torch.Generator`` on ``x``'s device, for reproducible spikes.

    Shape:
        - x: ``[B, ...]``
        - output: ``[T, B, ...]``

    Returns:
        Spikes in {0, 1} with ``x``'s dtype and device.

    Raises:
        TypeError: ``x`` is not a floating-point tensor, ``steps`` is not an int.
        ValueError: ``steps <= 0``, ``x`` holds NaN/inf or is on the meta device, ``gain * x`` leaves
            [0, 1], or the output would need more memory than the device has.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> s = poisson(torch.full((2, 3), 0.5), steps=4, generator=g)
        >>> s.shape
        torch.Size([4, 2, 3])
    """
    x = _check_input(x)
    steps = check_positive_int(steps, "steps")
    gain = _check_real(gain, "gain")
    generator = _check_generator(generator, x.device)
    draw_dtype = torch.promote_types(x.dtype, torch.float32)
    _check_output((steps, *x.shape), draw_dtype, "poisson", x.device)
    p = x if gain == 1.0 else x * gain
    check_probability(p, "x" if gain == 1.0 else f"gain * x (gain={gain:g})")
    u = _uniform((steps, *x.shape), x, generator, draw_dtype)  # [T, B, ...]
    return (u < p.to(draw_dtype)).to(x.dtype)


def flicker(
    x: torch.Tensor,
    steps: int,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Multiply ``x`` by a fresh uniform mask at every step (the original seed experiment's input).

    .. math::
        x[t] = x \odot u[t], \quad u[t] \sim \mathcal{U}[0, 1)

    The output is graded, not binary: ``E[x[t]] = x / 2`` and ``Var[x[t]] = x^2 / 12``, and each value
    lies between 0 and ``x`` (below 0 where ``x`` is negative). ``x`` may be any finite real; the seed
    experiment shifted its images by -0.5 before encoding. The mask is drawn in ``x``'s dtype, as the
    original code did.

    Args:
        x: input, ``[B, ...]``, any finite values.
        steps: number of time steps ``T``, an int >= 1.
        generator: optional ``torch.Generator`` on ``x``'s device, for a reproducible mask.

    Shape:
        - x: ``[B, ...]``
        - output: ``[T, B, ...]``

    Returns:
        The masked input with ``x``'s dtype and device.

    Raises:
        TypeError: ``x`` is not a floating-point tensor, ``steps`` is not an int.
        ValueError: ``steps <= 0`` or ``x`` holds NaN/inf.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> images = torch.rand(8, 784) - 0.5
        >>> flicker(images, steps=10, generator=g).shape
        torch.Size([10, 8, 784])
    """
    x = _check_input(x)
    steps = check_positive_int(steps, "steps")
    generator = _check_generator(generator, x.device)
    _check_output((steps, *x.shape), x.dtype, "flicker", x.device)
    return x * _uniform((steps, *x.shape), x, generator)  # [T, B, ...]


def _latency_times(
    x: torch.Tensor, steps: int, method: str, tau: float, threshold: float, normalize: bool
) -> torch.Tensor:
    """Continuous spike times of ``x`` (inf where ``x <= threshold``), in float32 or wider."""
    x = x.to(torch.promote_types(x.dtype, torch.float32))
    fires = x > threshold
    if method == "linear":
        scale = (steps - 1) / (1.0 - threshold) if normalize else float(steps - 1)
        t = (1.0 - x) * scale
    else:
        safe = torch.where(fires, x, torch.ones_like(x))  # avoid log of <= 0 where it never fires
        t = tau * torch.log(safe / (safe - threshold))
        if normalize:
            t = t - tau * math.log(1.0 / (1.0 - threshold))
    return torch.where(fires, t, torch.full_like(t, math.inf))


def latency(
    x: torch.Tensor,
    steps: int,
    *,
    method: str = "linear",
    tau: float | None = None,
    threshold: float = 0.01,
    normalize: bool = False,
) -> torch.Tensor:
    r"""Time-to-first-spike code: each input fires at most once, brighter inputs earlier.

    Inputs with ``x <= threshold`` never fire. Above the threshold the spike time is

    .. math::
        \text{linear:}\quad t = \operatorname{round}\big((1 - x)\,(T - 1)\big)

        \text{log:}\quad t = \operatorname{round}\Big(\tau \ln \frac{x}{x - \text{threshold}}\Big)

    ``round`` is ``torch.round`` (half to even). With ``normalize=True`` the code starts at step 0 and
    uses the whole window: ``linear`` divides by ``1 - threshold`` so the firing range
    (threshold, 1] maps onto [0, T - 1]; ``log`` subtracts :math:`\tau \ln(1 / (1 - \text{threshold}))`
    so ``x = 1`` fires exactly at step 0. The mapping never depends on the rest of the batch.
    A log-coded spike time that rounds past ``T - 1`` is **dropped** (no spike), never clipped onto
    the last step, so the last step carries no pile-up of faint inputs.

    Args:
        x: intensities in [0, 1], ``[B, ...]``.
        steps: number of time steps ``T``, an int >= 1.
        method: ``"linear"`` or ``"log"``.
        tau: time constant of the ``"log"`` code in steps (default 5.0); must be left ``None`` for
            ``"linear"``, which does not use it.
        threshold: inputs at or below it never fire; in [0, 1) for ``"linear"``, (0, 1) for ``"log"``.
        normalize: start the code at step 0 and stretch it over the window, as described above.

    Shape:
        - x: ``[B, ...]``
        - output: ``[T, B, ...]``

    Returns:
        Spikes in {0, 1} with ``x``'s dtype and device; at most one spike per input.

    Raises:
        TypeError: ``x`` is not a floating-point tensor, ``steps`` is not an int.
        ValueError: ``steps <= 0``, ``x`` outside [0, 1] or NaN/inf, an unknown ``method``,
            ``tau <= 0``, ``tau`` given for ``"linear"``, ``threshold`` out of range.

    Example:
        >>> s = latency(torch.tensor([[1.0, 0.5, 0.0]]), steps=5)
        >>> s.argmax(0), s.sum(0)
        (tensor([[0, 2, 0]]), tensor([[1., 1., 0.]]))
    """
    x = _check_input(x)
    steps = check_positive_int(steps, "steps")
    method = check_choice(method, "method", ("linear", "log"))
    threshold = _check_real(threshold, "threshold")
    if method == "linear":
        if tau is not None:
            raise ValueError(f"tau is used by method='log' only; got tau={tau!r} with method='linear'")
        check_range(threshold, "threshold", 0.0, 1.0, high_open=True)
    else:
        tau = 5.0 if tau is None else _check_real(tau, "tau")
        check_range(tau, "tau", 0.0, math.inf, low_open=True)
        check_range(threshold, "threshold", 0.0, 1.0, low_open=True, high_open=True)
    check_probability(x, "x")
    _check_output((steps, *x.shape), torch.promote_types(x.dtype, torch.float32), "latency", x.device)
    t = torch.round(_latency_times(x, steps, method, tau or 0.0, threshold, bool(normalize)))
    fires = t <= steps - 1  # inf (never) and late log times do not fire
    index = torch.where(fires, t, torch.zeros_like(t)).long().unsqueeze(0)  # [1, B, ...]
    out = torch.zeros((steps, *x.shape), dtype=x.dtype, device=x.device)  # [T, B, ...]
    return out.scatter_(0, index, fires.unsqueeze(0).to(x.dtype))


def delta(seq: torch.Tensor, *, threshold: float = 0.1, off_spikes: bool = True) -> torch.Tensor:
    r"""On/off events where a time-first sequence changes by at least ``threshold``.

    .. math::
        d[t] = x[t] - x[t-1], \qquad
        s[t] = \begin{cases} +1 & d[t] \ge \text{threshold} \\
                             -1 & d[t] \le -\text{threshold} \text{ (if off\_spikes)} \\
                              0 & \text{otherwise} \end{cases}

    The first step is compared with itself (``d[0] = 0``), so it never carries an event. With
    ``off_spikes=False`` decreases give 0 instead of -1.

    Args:
        seq: a time-first sequence ``[T, B, ...]``.
        threshold: smallest change that makes an event, > 0.
        off_spikes: emit -1 for decreases.

    Shape:
        - seq: ``[T, B, ...]``
        - output: ``[T, B, ...]``

    Returns:
        Events in {-1, 0, +1} (or {0, 1}) with ``seq``'s dtype and device.

    Raises:
        TypeError: ``seq`` is not a floating-point tensor.
        ValueError: ``seq`` has no time axis (fewer than 2 dims), holds NaN/inf, or ``threshold <= 0``.

    Example:
        >>> seq = torch.tensor([0.0, 0.5, 0.5, 0.1]).reshape(4, 1)
        >>> delta(seq, threshold=0.3).flatten()
        tensor([ 0.,  1.,  0., -1.])
    """
    seq = _check_input(check_time_first(seq, "seq", min_dim=2), "seq")
    threshold = _check_real(threshold, "threshold")
    check_range(threshold, "threshold", 0.0, math.inf, low_open=True)
    d = torch.cat([torch.zeros_like(seq[:1]), seq[1:] - seq[:-1]])  # [T, B, ...]
    out = (d >= threshold).to(seq.dtype)
    if off_spikes:
        out = out - (d <= -threshold).to(seq.dtype)
    return out


def _centres_and_sigma(
    neurons: int, low: float, high: float, sigma: float | None
) -> tuple[torch.Tensor, float]:
    """Evenly spaced centres in [low, high] (the midpoint for one neuron) and the field width."""
    if neurons == 1:
        centres, spacing = torch.tensor([(low + high) / 2.0], dtype=torch.float64), high - low
    else:
        centres, spacing = (
            torch.linspace(low, high, neurons, dtype=torch.float64),
            (high - low) / (neurons - 1),
        )
    return centres, spacing / _FWHM_PER_SIGMA if sigma is None else sigma


def population(
    x: torch.Tensor,
    neurons: int,
    *,
    low: float = 0.0,
    high: float = 1.0,
    sigma: float | None = None,
    steps: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Population code: each value drives ``neurons`` Gaussian receptive fields (Bohte et al., 2002).

    .. math::
        a_i(x) = \exp\Big(-\frac{(x - c_i)^2}{2\sigma^2}\Big), \qquad
        c_i = \text{low} + i\,\frac{\text{high} - \text{low}}{N - 1}, \quad i = 0, \dots, N - 1

    (one neuron sits at the midpoint). The default ``sigma`` makes neighbouring fields cross at half
    maximum: :math:`\sigma = \Delta / (2\sqrt{2 \ln 2})` with spacing :math:`\Delta`
    (``high - low`` for a single neuron). Activations lie in (0, 1], peaking at 1 where ``x`` hits a
    centre; values outside [low, high] are allowed and fall on the tails. With ``steps`` given, the
    activations are turned into spikes by :func:`poisson`.

    Args:
        x: values to encode, ``[B, ...]``, any finite reals.
        neurons: number of receptive fields ``N``, an int >= 1.
        low: centre of the first field.
        high: centre of the last field, > ``low``.
        sigma: field width, > 0; default from the spacing as above.
        steps: if given (an int >= 1), return Poisson spikes over this many steps.
        generator: optional ``torch.Generator`` for the spikes; only used with ``steps``.

    Shape:
        - x: ``[B, ...]``
        - output: ``[B, ..., N]`` (activations) or ``[T, B, ..., N]`` (spikes)

    Returns:
        Activations in (0, 1], or spikes in {0, 1}, with ``x``'s dtype and device.

    Raises:
        TypeError: ``x`` is not a floating-point tensor, ``neurons``/``steps`` not an int.
        ValueError: NaN/inf in ``x``, ``neurons``/``steps <= 0``, ``low >= high``, ``sigma <= 0``,
            a ``generator`` without ``steps``.

    Example:
        >>> a = population(torch.tensor([0.5]), neurons=3)
        >>> a
        tensor([[0.0625, 1.0000, 0.0625]])
    """
    x = _check_input(x)
    neurons = check_positive_int(neurons, "neurons")
    low, high = _check_real(low, "low"), _check_real(high, "high")
    if not low < high:
        raise ValueError(f"low must be smaller than high, got low={low:g} and high={high:g}")
    if sigma is not None:
        sigma = _check_real(sigma, "sigma")
        check_range(sigma, "sigma", 0.0, math.inf, low_open=True)
    if steps is None and generator is not None:
        raise ValueError("generator is only used to draw spikes; pass steps too, or drop generator")
    _check_output((*x.shape, neurons), x.dtype, "population", x.device)
    if steps is not None:
        steps = check_positive_int(steps, "steps")
        _check_output((steps, *x.shape, neurons), x.dtype, "population", x.device)
    centres, sigma = _centres_and_sigma(neurons, low, high, sigma)
    centres = centres.to(device=x.device, dtype=x.dtype)
    act = torch.exp(-((x.unsqueeze(-1) - centres) ** 2) / (2.0 * sigma**2))  # [B, ..., N]
    if steps is None:
        return act
    return poisson(act, steps, generator=generator)
