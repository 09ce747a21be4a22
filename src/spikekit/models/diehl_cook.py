r"""Diehl & Cook (2015): unsupervised digit recognition with STDP, winner-take-all and homeostasis.

P. U. Diehl and M. Cook, "Unsupervised learning of digit recognition using spike-timing-dependent
plasticity", Front. Comput. Neurosci. 9:99, 2015. Parameters follow the authors' published Brian code.

**Input.** Each pixel ``x`` in [0, 1] is a Poisson spike train at ``rate * x`` Hz (``rate`` = 63.75 Hz,
i.e. intensity 255 / 4) for ``time`` ms. If the excitatory layer fires fewer than ``min_spikes`` spikes,
the image is shown again with the rate raised by ``rate_step`` (31.875 Hz), up to ``max_retries`` times.

**Excitatory neurons** (``N`` of them): conductance-based LIF with an adaptive threshold. Per step
``dt`` (ms), with ``I[t] = W s_in[t]`` the input conductance jumps:

.. math::
    g_e \leftarrow g_e e^{-dt/\tau_{ge}} + I[t], \qquad
    g_i \leftarrow g_i e^{-dt/\tau_{gi}} + w_{inh} \sum_{k \ne j} s_k[t-1]

    \tau_m \dot v = (v_{rest} - v) + g_e (E_{exc} - v) + g_i (E_{inh} - v)

integrated by forward Euler, with ``v`` kept between the reversal potentials ``[E_inh, E_exc]`` (where a
conductance-based membrane always stays). A neuron fires when
``v > v_thresh + theta`` outside its refractory period; then ``v = v_reset``, it is refractory for
``refractory`` ms, and ``theta += theta_plus``; ``theta`` relaxes with ``tau_theta`` (1e7 ms) between
presentations (``time + rest`` ms each). Values: ``v_rest = v_reset = -65``, ``v_thresh = -52`` mV,
``tau_m = 100``, ``tau_ge = 1``, ``tau_gi = 2`` ms, ``E_exc = 0``, ``E_inh = -100`` mV.

**Inhibition.** In the paper each excitatory neuron drives one inhibitory neuron (weight 10.4) strong
enough to make it fire at once, and that neuron inhibits all other excitatory neurons (weight 17). Here
that loop is folded into the ``g_i`` term above: an excitatory spike raises ``g_i`` of all the others by
``w_inh = 17`` one step later. Within one step at most one excitatory neuron fires (the one furthest
above its threshold, ``one_spike_per_step``): in continuous time two neurons never cross together and the
first one's inhibition silences the rest; in discrete time identical neurons would otherwise all fire in
the same step, before inhibition can act (BindsNET makes the same choice).

**Learning** (input -> excitatory weights ``W``, in [0, ``w_max`` = 1]): nearest-spike traces ``pre``
(20 ms), ``post1`` (20 ms), ``post2`` (40 ms); at a pre spike ``w -= nu_pre * post1``; at a post spike
``w += nu_post * pre * post2_before`` (``nu_pre = 1e-4``, ``nu_post = 1e-2``). That is the authors'
code, ``potentiation="triplet"``: :class:`spikekit.learning.TripletSTDP` with ``A2+ = 0, A3+ = nu_post,
A2- = nu_pre, A3- = 0``. The default, ``potentiation="pair"``, drops the ``post2_before`` factor
(``w += nu_post * pre``, ``A2+ = nu_post, A3+ = 0``; BindsNET's ``PostPre``), so that a neuron's first
spike in a presentation also potentiates. On the 8,000-digit MNIST subset it is what lifts 100 neurons
from 74 % to 82 % (docs/diehl_cook.md). Before every presentation each neuron's incoming weights are
scaled to sum to ``norm`` = 78 (for 784 inputs; by default ``78 * n_input / 784``).

**Labels and votes.** After training each neuron is labelled with the class it answers most
(:func:`spikekit.learning.assign_labels`); an image's class is the label group with the highest mean
spike count (:func:`spikekit.learning.vote`).

**Differences from the authors' code**, all deliberate: ``dt = 1`` ms (theirs 0.5 ms); no random
0-10 ms delays on the input synapses; the inhibitory population folded into ``g_i`` as above; the
150 ms rest between images replaced by starting every presentation from rest (only ``theta`` carries
over; it decays as if the rest had been simulated); at most ``max_retries`` = 10 retries (theirs:
unbounded); ``potentiation="pair"`` by default.

**Batched presentation** (``mode="batch"``): ``B`` images are shown at once to ``B`` copies of the
network that share ``W`` and ``theta``. During the presentation ``W`` is held fixed (each copy's own
``theta`` rises with its spikes); afterwards the weight changes of all copies are summed and applied,
``theta`` gets the sum of all increments, and ``W`` is normalised. ``mode="online"`` with ``B = 1``
updates ``W`` at every time step and is the paper's strictly sequential algorithm. See
docs/diehl_cook.md for what the approximation costs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import torch
from torch import nn

from .._checks import check_choice, check_finite, check_positive_int, check_tensor
from ..learning import TripletSTDP, assign_labels, normalize_weights, vote
from ..learning import validate as V
from ..learning.base import Plastic, check_finite_update
from ..learning.connection import Connection
from ..learning.homeostasis import kwta

__all__ = [
    "DiehlCook",
    "DiehlCookParams",
    "DiehlCookState",
    "RetryQueue",
    "diehl_cook_init",
    "diehl_cook_step",
]

MODES = ("batch", "online")


@dataclass(frozen=True)
class DiehlCookParams:
    """All constants of the network (times in ms, potentials in mV, rates in Hz)."""

    dt: float = 1.0
    time: float = 350.0
    rest: float = 150.0
    v_rest: float = -65.0
    v_reset: float = -65.0
    v_thresh: float = -52.0
    tau_m: float = 100.0
    refractory: float = 5.0
    e_exc: float = 0.0
    e_inh: float = -100.0
    tau_ge: float = 1.0
    tau_gi: float = 2.0
    w_inh: float = 17.0
    one_spike_per_step: bool = True
    theta_plus: float = 0.05
    tau_theta: float = 1e7
    nu_pre: float = 1e-4
    nu_post: float = 1e-2
    potentiation: str = "pair"
    tau_pre: float = 20.0
    tau_post1: float = 20.0
    tau_post2: float = 40.0
    w_max: float = 1.0
    w_init: float = 0.3
    norm: float | None = None
    rate: float = 63.75
    rate_step: float = 31.875
    min_spikes: int = 5
    max_retries: int = 10

    def __post_init__(self) -> None:
        for name in (
            "dt",
            "time",
            "tau_m",
            "tau_ge",
            "tau_gi",
            "tau_pre",
            "tau_post1",
            "tau_post2",
            "w_max",
            "rate",
        ):
            V.positive(getattr(self, name), f"DiehlCookParams: {name}")
        V.time_constant(self.tau_theta, "DiehlCookParams: tau_theta")
        if self.norm is not None:
            V.positive(self.norm, "DiehlCookParams: norm")
        for name in ("rest", "refractory", "w_inh", "theta_plus", "nu_pre", "nu_post", "w_init", "rate_step"):
            V.nonnegative(getattr(self, name), f"DiehlCookParams: {name}")
        check_choice(self.potentiation, "DiehlCookParams: potentiation", ("triplet", "pair"))
        if self.w_init > self.w_max:
            raise ValueError(f"DiehlCookParams: w_init must be <= w_max = {self.w_max}, got {self.w_init}")
        if not self.v_reset < self.v_thresh:
            raise ValueError(
                f"DiehlCookParams: v_reset must be below v_thresh, got {self.v_reset} and {self.v_thresh}"
            )
        if isinstance(self.min_spikes, bool) or not isinstance(self.min_spikes, int) or self.min_spikes < 0:
            raise ValueError(f"DiehlCookParams: min_spikes must be an int >= 0, got {self.min_spikes!r}")
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise ValueError(f"DiehlCookParams: max_retries must be an int >= 0, got {self.max_retries!r}")

    @property
    def steps(self) -> int:
        """Time steps per presentation, ``round(time / dt)``."""
        return max(1, round(self.time / self.dt))

    def total(self, n_input: int) -> float:
        """The sum of each neuron's input weights: ``norm``, or by default 78 per 784 inputs (the paper's)."""
        return self.norm if self.norm is not None else 78.0 * n_input / 784

    @property
    def refractory_steps(self) -> int:
        return round(self.refractory / self.dt)


class DiehlCookState(NamedTuple):
    """Excitatory layer state, each ``[B, N]``: membrane, conductances, refractory steps left, the
    threshold offset ``theta`` of this copy, and last step's spikes."""

    v: torch.Tensor
    ge: torch.Tensor
    gi: torch.Tensor
    refractory: torch.Tensor
    theta: torch.Tensor
    spikes: torch.Tensor


def diehl_cook_init(theta: torch.Tensor, batch: int, p: DiehlCookParams) -> DiehlCookState:
    """The state at the start of a presentation: rest, no conductance, the shared ``theta [N]``."""
    z = theta.new_zeros(batch, theta.shape[0])
    return DiehlCookState(z + p.v_rest, z, z.clone(), z.clone(), theta.expand(batch, -1).clone(), z.clone())


def diehl_cook_step(
    i_exc: torch.Tensor, state: DiehlCookState, p: DiehlCookParams
) -> tuple[torch.Tensor, torch.Tensor, DiehlCookState]:
    """One step of the excitatory layer (see the module docstring). Returns ``(spikes, v, state)``."""
    v, ge, gi, refr, theta, s_prev = state
    ge = ge * math.exp(-p.dt / p.tau_ge) + i_exc
    gi = gi * math.exp(-p.dt / p.tau_gi) + p.w_inh * (s_prev.sum(1, keepdim=True) - s_prev)
    dv = (p.v_rest - v) + ge * (p.e_exc - v) + gi * (p.e_inh - v)
    v_new = (v + (p.dt / p.tau_m) * dv).clamp(p.e_inh, p.e_exc)
    free = refr <= 0
    v = torch.where(free, v_new, v)
    over = v - (p.v_thresh + theta)
    s = ((over > 0) & free).to(v.dtype)
    if p.one_spike_per_step:
        s = kwta(s, over, k=1)
    fired = s > 0
    v_out = v
    v = torch.where(fired, torch.full_like(v, p.v_reset), v)
    refr = torch.where(fired, torch.full_like(refr, float(p.refractory_steps)), refr - 1)
    theta = theta + p.theta_plus * s
    return s, v_out, DiehlCookState(v, ge, gi, refr, theta, s)


class DiehlCook(nn.Module):
    """The Diehl & Cook (2015) network: Poisson input -> STDP -> excitatory LIF with WTA and homeostasis.

    Args:
        n_input: input pixels (784 for MNIST).
        n_neurons: excitatory neurons ``N`` (the paper: 100, 400, 1600, 6400).
        num_classes: classes for label assignment and voting.
        params: a :class:`DiehlCookParams` (all constants; defaults are the paper's).
        generator: for the initial weights ``U(0, w_init)`` (then normalised).

    Buffers (saved in ``state_dict``): ``theta [N]`` (mV), ``labels [N]`` (``-1`` before
    :meth:`assign_labels`); the input weights are ``self.input.weight [N, n_input]``.

    Shape:
        images ``[B, ...]`` with ``n_input`` values in [0, 1] per image -> spike counts ``[B, N]``.

    Example:
        >>> model = DiehlCook(784, 100)
        >>> g = torch.Generator().manual_seed(0)
        >>> for x in batches:                                   # [B, 1, 28, 28] in [0, 1]
        ...     model.learn(x, generator=g)
        >>> model.assign_labels(model(train_x, generator=g), train_y)
        >>> accuracy = (model.predict(model(test_x, generator=g)) == test_y).float().mean()
    """

    def __init__(
        self,
        n_input: int = 784,
        n_neurons: int = 100,
        *,
        num_classes: int = 10,
        params: DiehlCookParams | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.n_input = check_positive_int(n_input, "DiehlCook: n_input")
        self.n_neurons = check_positive_int(n_neurons, "DiehlCook: n_neurons")
        self.num_classes = check_positive_int(num_classes, "DiehlCook: num_classes")
        if params is None:
            params = DiehlCookParams()
        if not isinstance(params, DiehlCookParams):
            raise TypeError(f"DiehlCook: params must be a DiehlCookParams, got {type(params).__name__}")
        self.params = params
        itemsize = torch.tensor([], dtype=torch.get_default_dtype()).element_size()
        V.fits_in_memory(
            # the weight and its initial draw; labelling and voting: [num_classes, n_neurons] float64 x 2
            2 * itemsize * n_neurons * n_input + 2 * 8 * num_classes * n_neurons,
            f"DiehlCook(n_input={n_input}, n_neurons={n_neurons}, num_classes={num_classes})",
        )
        self.norm = params.total(n_input)
        if self.norm > n_input * params.w_max:
            raise ValueError(
                f"DiehlCook: params.norm = {self.norm:g} cannot be reached with {n_input} inputs of at most "
                f"w_max = {params.w_max:g}; use norm <= {n_input * params.w_max:g}"
            )
        self.input = nn.Linear(n_input, n_neurons, bias=False)
        self.input.weight.requires_grad_(False)
        with torch.no_grad():
            self.input.weight.copy_(params.w_init * torch.rand(n_neurons, n_input, generator=generator))
        normalize_weights(self.input, self.norm)
        self.register_buffer("theta", torch.zeros(n_neurons))
        self.register_buffer("labels", torch.full((n_neurons,), -1, dtype=torch.int64))
        triplet = params.potentiation == "triplet"
        self.rule = TripletSTDP(
            a2_plus=0.0 if triplet else params.nu_post,
            a3_plus=params.nu_post if triplet else 0.0,
            a2_minus=params.nu_pre,
            a3_minus=0.0,
            tau_plus=params.tau_pre,
            tau_minus=params.tau_post1,
            tau_x=params.tau_pre,
            tau_y=params.tau_post2,
            pairing="nearest",
            w_min=0.0,
            w_max=params.w_max,
            dt=params.dt,
        )

    # --- input ------------------------------------------------------------------------------------
    def flatten_images(self, images: Any) -> torch.Tensor:
        """``images [B, ...]`` as the input ``[B, n_input]``, checked to hold intensities in [0, 1]."""
        images = check_tensor(images, "DiehlCook: images")
        if images.dim() < 2 or math.prod(images.shape[1:]) != self.n_input:
            raise ValueError(
                f"DiehlCook: images must be a batch [B, ...] of {self.n_input} values each, got shape "
                f"{tuple(images.shape)}"
            )
        if images.shape[0] == 0:
            raise ValueError(
                f"DiehlCook: images must hold at least one image, got an empty batch of shape "
                f"{tuple(images.shape)}"
            )
        if images.is_complex():
            raise TypeError(
                f"DiehlCook: images must hold real intensities in [0, 1], got dtype {images.dtype}"
            )
        check_finite(images, "DiehlCook: images")
        x = images.reshape(images.shape[0], -1).to(self.input.weight)
        if x.numel() and (bool((x < 0).any()) or bool((x > 1).any()) or not bool(torch.isfinite(x).all())):
            raise ValueError(
                f"DiehlCook: images must hold intensities in [0, 1], got values in [{float(x.min()):.4g}, "
                f"{float(x.max()):.4g}]"
            )
        return x

    def _probability(self, x: torch.Tensor, rate: float | torch.Tensor) -> torch.Tensor:
        if isinstance(rate, torch.Tensor):
            rate = check_finite(rate.to(dtype=x.dtype, device=x.device), "DiehlCook: rate")
            if rate.dim() > 1 or (rate.dim() == 1 and rate.shape[0] != x.shape[0]):
                raise ValueError(
                    f"DiehlCook: rate must be one number or one per image [B] = ({x.shape[0]},), got shape "
                    f"{tuple(rate.shape)}"
                )
            if bool((rate < 0).any()):
                raise ValueError(f"DiehlCook: rate must be >= 0 Hz, got minimum {float(rate.min()):.4g}")
        else:
            rate = V.nonnegative(rate, "DiehlCook: rate")
        self._check_presentation(x.shape[0], x.shape[1])
        rate = torch.as_tensor(rate, dtype=x.dtype, device=x.device)
        rate = rate.reshape(-1, *([1] * (x.dim() - 1))) if rate.dim() == 1 else rate
        return (x * rate * (self.params.dt / 1000.0)).clamp_max(1.0)

    def _check_presentation(self, batch: int, width: int) -> None:
        """Refuse a presentation whose input spikes ``[T, B, A]`` and layer traces would not fit in memory."""
        steps = self.params.steps
        itemsize = self.input.weight.element_size()
        V.fits_in_memory(
            itemsize * steps * batch * (2 * width + 4 * self.n_neurons),
            f"DiehlCook: presenting {batch} image(s) for {steps} steps of {self.params.dt:g} ms",
            self.input.weight.device,
        )

    def encode(
        self, x: torch.Tensor, rate: float | torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Poisson spikes ``[T, B, n_input]``: each pixel fires with probability ``rate * x * dt / 1000``.

        ``rate`` (Hz) is one number or one per image ``[B]``.
        """
        prob = self._probability(x, rate)
        u = torch.rand((self.params.steps, *x.shape), generator=generator, device=x.device, dtype=x.dtype)
        return (u < prob).to(x.dtype)

    def encode_active(
        self, x: torch.Tensor, rate: float | torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Poisson spikes of the non-zero pixels only: ``(spikes [T, B, A], index [B, A])``.

        ``A`` is the largest number of non-zero pixels in the batch (about a fifth of an MNIST image);
        ``index[b, a]`` is the pixel that column ``a`` of image ``b`` stands for. Images with fewer
        non-zero pixels are padded with zero pixels, which never fire. A blank pixel never fires
        anyway, so this is the same random process as :meth:`encode`, at a fraction of the cost.
        """
        active = x > 0
        n_active = max(1, int(active.sum(1).max()))
        index = torch.argsort((~active).to(torch.int8), dim=1, stable=True)[:, :n_active]  # [B, A]
        prob = self._probability(x.gather(1, index), rate)
        u = torch.rand((self.params.steps, *index.shape), generator=generator, device=x.device, dtype=x.dtype)
        return (u < prob).to(x.dtype), index

    def currents(self, spikes: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """Input conductance jumps ``[T, B, N]`` for input spikes ``[T, B, n_input]`` (or active ``[T, B, A]``
        with their ``index`` from :meth:`encode_active`), with the current weights."""
        w = self.input.weight
        if index is None:
            return (spikes.reshape(-1, self.n_input) @ w.t()).reshape(*spikes.shape[:2], -1)
        w_active = w.t()[index]  # [B, A, N]
        return torch.bmm(spikes.transpose(0, 1), w_active).transpose(0, 1)

    def run_layer(self, currents: torch.Tensor, *, fused: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the excitatory layer from rest on conductance jumps ``[T, B, N]`` with fixed weights.

        Args:
            fused: use the in-place loop (same equations, fewer temporaries; tested equal to the loop of
                :func:`diehl_cook_step`, which ``fused=False`` runs).

        Returns:
            ``(spikes [T, B, N], theta [B, N])``: each copy's threshold offset at the end.
        """
        if fused:
            return _run_fused(currents, self.theta, self.params)
        state = diehl_cook_init(self.theta, currents.shape[1], self.params)
        out = []
        for i_t in currents.unbind(0):
            s, _, state = diehl_cook_step(i_t, state, self.params)
            out.append(s)
        return torch.stack(out), state.theta

    def run_online(self, spikes: torch.Tensor, plastic: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Like :meth:`run_layer` on input spikes ``[T, B, n_input]``, with ``plastic`` (a rule attached to
        ``self.input``) updating the weight at every step: the paper's online learning."""
        w = self.input.weight
        state = diehl_cook_init(self.theta, spikes.shape[1], self.params)
        rule_state, out = None, []
        for x_t in spikes.unbind(0):
            s, _, state = diehl_cook_step(x_t @ w.t(), state, self.params)
            rule_state = plastic.step(x_t, s, rule_state)
            out.append(s)
        return torch.stack(out), state.theta

    def stdp_active(self, spikes: torch.Tensor, index: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The weight change of one batched presentation with the weight held fixed, ``[N, n_input]``.

        Equal to ``self.rule.delta_sequence`` (summed over the batch) on the dense input spikes, but
        computed only where it is non-zero. With ``(t, b)`` the steps at which copy ``b`` fired:

        - potentiation ``sum_(t,b) [s (A2+ + A3+ post2_before)][t, b]^T (x) pre[t, b]`` needs the pre trace
          at those rows only;
        - depression ``A2- sum_t post1_before[t]^T (x) s_in[t]``: the nearest-spike ``post1`` trace is
          ``d^(t - t_k)`` between post spikes ``t_k``, so the sum over each interval is a reverse-time
          trace ``Y[t] = s_in[t] + d Y[t + 1]`` read at ``t_k + 1``, weighted ``d (1 - post1_before[t_k])``.

        Both traces run over the active pixels ``[B, A]`` only; the rest is two small matrix products.

        Args:
            spikes: active input spikes ``[T, B, A]``; index: ``[B, A]`` (from :meth:`encode_active`);
            out: the excitatory spikes ``[T, B, N]``.
        """
        r = self.rule
        d_pre, _, d1, d2 = r._decays()
        steps, batch, _ = spikes.shape
        post1, post2 = torch.zeros_like(out[0]), torch.zeros_like(out[0])
        p1_before, p2_before = torch.empty_like(out), torch.empty_like(out)
        for t in range(steps):
            post1.mul_(d1)
            post2.mul_(d2)
            p1_before[t], p2_before[t] = post1, post2
            torch.maximum(post1, out[t], out=post1)
            torch.maximum(post2, out[t], out=post2)
        tt, bb = (out.sum(2) > 0).nonzero(as_tuple=True)  # rows with a post spike, sorted by (t, b)
        dw = torch.zeros_like(self.input.weight)
        if len(tt) == 0:
            return dw
        s_rows = out[tt, bb]  # [R, N]
        q_pot = s_rows * (r.a2_plus + r.a3_plus * p2_before[tt, bb])
        q_dep = s_rows * (r.a2_minus * d1) * (1.0 - p1_before[tt, bb])
        pre_rows, y_rows = _rows_of_traces(spikes, tt, bb, d_pre, d1)  # [R, A] each
        full = torch.zeros(2, len(tt), self.n_input, dtype=dw.dtype, device=dw.device)
        full[0].scatter_(1, index[bb], pre_rows)
        full[1].scatter_(1, index[bb], y_rows)
        return dw.addmm_(q_pot.t(), full[0]).addmm_(q_dep.t(), full[1], alpha=-1.0)

    def _theta_decay(self, presentations: int) -> float:
        p = self.params
        return V.decay(p.tau_theta, (p.time + p.rest) * presentations)

    @torch.no_grad()
    def attempt(
        self,
        x: torch.Tensor,
        rates: torch.Tensor,
        *,
        learn: bool = False,
        mode: str = "batch",
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """One presentation of each image of ``x`` ``[B, n_input]`` at its own rate ``rates [B]`` (Hz).

        With ``learn``: the weights are normalised, the images shown (weights fixed in ``"batch"`` mode,
        updated every step in ``"online"`` mode), the STDP changes applied and the thresholds raised.
        Returns the spike counts ``[B, N]``; :meth:`present` adds the retries.
        """
        mode = check_choice(mode, "DiehlCook.attempt: mode", MODES)
        p = self.params
        if learn:
            normalize_weights(self.input, self.norm)
        if learn and mode == "online":
            s_out, theta_end = self.run_online(self.encode(x, rates, generator), self._plastic())
        else:
            s_in, index = self.encode_active(x, rates, generator)
            s_out, theta_end = self.run_layer(self.currents(s_in, index))
            if learn:
                new = self.input.weight + self.stdp_active(s_in, index, s_out)
                check_finite_update(new, f"DiehlCook ({type(self.rule).__name__})")
                self.input.weight.copy_(new.clamp_(0.0, p.w_max))
        if learn:
            added = (theta_end - self.theta).sum(0)  # every copy's increments, summed
            self.theta.mul_(self._theta_decay(len(x))).add_(added)
        return s_out.sum(0)

    @torch.no_grad()
    def present(
        self,
        images: torch.Tensor,
        *,
        learn: bool = False,
        mode: str = "batch",
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Show a batch of images with the paper's retries; return spike counts ``[B, N]`` (of the last try).

        An image that makes fewer than ``min_spikes`` spikes is shown again at ``rate_step`` Hz more, up to
        ``max_retries`` times.

        Args:
            learn: apply STDP and the threshold adaptation (training); ``False``: weights and thresholds
                stay as they are (labelling, testing).
            mode: ``"batch"`` (weights fixed during a presentation, changes summed over the batch and
                applied after it) or ``"online"`` (weights updated at every step, the copies' changes
                summed per step; with ``B = 1`` the paper's sequential algorithm).
            generator: for the Poisson input.
        """
        mode = check_choice(mode, "DiehlCook.present: mode", MODES)
        p = self.params
        x = self.flatten_images(images)
        counts = x.new_zeros(x.shape[0], self.n_neurons)
        todo = torch.arange(x.shape[0], device=x.device)
        rate = p.rate
        for _attempt in range(p.max_retries + 1):
            c = self.attempt(
                x[todo], x.new_full((len(todo),), rate), learn=learn, mode=mode, generator=generator
            )
            counts[todo] = c
            todo = todo[c.sum(1) < p.min_spikes]
            if len(todo) == 0:
                break
            rate += p.rate_step
        if learn:
            normalize_weights(self.input, self.norm)
        return counts

    def _plastic(self) -> Plastic:
        # not rule.attach: normalisation may lift a weight above w_max, which the first step clips
        return Plastic(self.rule, Connection(self.input, owner="DiehlCook"))

    def learn(
        self, images: torch.Tensor, *, mode: str = "batch", generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Train on one batch (see :meth:`present`); returns the spike counts ``[B, N]``."""
        return self.present(images, learn=True, mode=mode, generator=generator)

    def forward(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Spike counts ``[B, N]`` of a batch of images, without learning."""
        return self.present(images, learn=False, generator=generator)

    # --- labels -----------------------------------------------------------------------------------
    @torch.no_grad()
    def assign_labels(self, counts: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
        """Label each neuron with the class it answers most (stored in ``self.labels``)."""
        labels = assign_labels(counts, targets, self.num_classes)
        self.labels.copy_(labels.to(self.labels.device))
        return self.labels

    def predict(self, counts: torch.Tensor) -> torch.Tensor:
        """Classes voted by the labelled neurons ``[B]``; call :meth:`assign_labels` first."""
        if bool((self.labels < 0).all()):
            raise RuntimeError(
                "DiehlCook.predict: no neuron has a label yet; call assign_labels(counts, targets) on a "
                "labelled set first"
            )
        return vote(counts, self.labels, self.num_classes)

    def responses(
        self,
        images: torch.Tensor,
        *,
        batch_size: int = 1000,
        generator: torch.Generator | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> torch.Tensor:
        """Spike counts ``[N_images, N]`` of many images, without learning.

        Images are shown ``batch_size`` at a time; one that makes too few spikes is queued and shown again
        (at ``rate_step`` Hz more) in the next batch, so every batch stays full. Without learning, this
        gives each image the same treatment as :meth:`present`.

        Args:
            progress: called with the number of new images taken into each batch.
        """
        batch_size = check_positive_int(batch_size, "batch_size")
        x = self.flatten_images(images)
        counts = x.new_zeros(len(x), self.n_neurons)
        queue, pos = RetryQueue.empty(x.device), 0
        order = torch.arange(len(x), device=x.device)
        while pos < len(x) or len(queue):
            idx, rates, tries, pos = queue.fill(order, pos, batch_size, self.params.rate)
            c = self.attempt(x[idx], rates.to(x.dtype), learn=False, generator=generator)
            counts[idx] = c
            queue.requeue(idx, rates, tries, c, self.params)
            if progress is not None:
                progress(int((tries == 0).sum()))
        return counts

    def extra_repr(self) -> str:
        p = self.params
        return f"n_input={self.n_input}, n_neurons={self.n_neurons}, dt={p.dt}, time={p.time}"

    def config(self) -> dict:
        """Sizes and every parameter, for JSON results and checkpoints."""
        return {
            "n_input": self.n_input,
            "n_neurons": self.n_neurons,
            "num_classes": self.num_classes,
            **asdict(self.params),
        }


class RetryQueue:
    """Images waiting to be shown again at a higher rate (the paper's retry, carried into the next batch).

    Holds ``index`` (into the image set), ``rate`` (Hz, for the next try) and ``tries`` (retries so far),
    each ``[Q]``. :meth:`fill` takes the queue's head first, then new images; :meth:`requeue` puts back the
    images that made fewer than ``min_spikes`` spikes and have retries left.
    """

    def __init__(self, index: torch.Tensor, rate: torch.Tensor, tries: torch.Tensor) -> None:
        self.index, self.rate, self.tries = index, rate, tries

    @classmethod
    def empty(cls, device: torch.device | str = "cpu") -> RetryQueue:
        return cls(
            torch.zeros(0, dtype=torch.int64, device=device),
            torch.zeros(0, dtype=torch.float64, device=device),
            torch.zeros(0, dtype=torch.int64, device=device),
        )

    def __len__(self) -> int:
        return len(self.index)

    def fill(
        self, order: torch.Tensor, pos: int, batch_size: int, rate: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """The next batch: ``(index, rate, tries, new pos)``, retries first, then ``order[pos:]``."""
        k = min(batch_size, len(self))
        head = (self.index[:k], self.rate[:k], self.tries[:k])
        self.index, self.rate, self.tries = self.index[k:], self.rate[k:], self.tries[k:]
        new = order[pos : pos + batch_size - k].to(self.index.device)
        index = torch.cat([head[0], new])
        rates = torch.cat(
            [head[1], torch.full((len(new),), float(rate), dtype=torch.float64, device=new.device)]
        )
        tries = torch.cat([head[2], torch.zeros(len(new), dtype=torch.int64, device=new.device)])
        return index, rates, tries, pos + len(new)

    def requeue(
        self,
        index: torch.Tensor,
        rates: torch.Tensor,
        tries: torch.Tensor,
        counts: torch.Tensor,
        p: DiehlCookParams,
    ) -> None:
        """Queue the images of this batch that fired fewer than ``min_spikes`` times and may retry."""
        again = (counts.sum(1) < p.min_spikes).to(index.device) & (tries < p.max_retries)
        self.index = torch.cat([self.index, index[again]])
        self.rate = torch.cat([self.rate, rates[again] + p.rate_step])
        self.tries = torch.cat([self.tries, tries[again] + 1])

    def state(self) -> dict:
        return {"index": self.index.cpu(), "rate": self.rate.cpu(), "tries": self.tries.cpu()}

    @classmethod
    def from_state(cls, state: dict, device: torch.device | str = "cpu") -> RetryQueue:
        return cls(*(state[k].to(device) for k in ("index", "rate", "tries")))


def _rows_of_traces(
    spikes: torch.Tensor, tt: torch.Tensor, bb: torch.Tensor, d_pre: float, d_rev: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two traces of ``spikes [T, B, A]`` read at rows ``(tt, bb)`` (sorted by ``tt``):

    - the nearest-spike pre trace ``pre[t] = max(d_pre * pre[t - 1], s[t])`` at ``(t, b)``;
    - the reverse-time trace ``Y[t] = s[t] + d_rev * Y[t + 1]`` (``Y[T] = 0``) at ``(t + 1, b)``.
    """
    steps = spikes.shape[0]
    rows = len(tt)
    pre_rows = spikes.new_empty(rows, spikes.shape[2])
    y_rows = spikes.new_zeros(rows, spikes.shape[2])
    bounds = torch.searchsorted(tt, torch.arange(steps + 1, device=tt.device)).tolist()  # rows of step t
    pre = torch.zeros_like(spikes[0])
    for t in range(steps):
        pre.mul_(d_pre)
        torch.maximum(pre, spikes[t], out=pre)
        lo, hi = bounds[t], bounds[t + 1]
        if hi > lo:
            pre_rows[lo:hi] = pre[bb[lo:hi]]
    y = torch.zeros_like(spikes[0])
    for t in range(steps - 1, 0, -1):
        y.mul_(d_rev).add_(spikes[t])
        lo, hi = bounds[t - 1], bounds[t]  # rows whose post spike was at t - 1 read Y[t]
        if hi > lo:
            y_rows[lo:hi] = y[bb[lo:hi]]
    return pre_rows, y_rows


def _run_fused(
    currents: torch.Tensor, theta: torch.Tensor, p: DiehlCookParams
) -> tuple[torch.Tensor, torch.Tensor]:
    """The loop of :func:`diehl_cook_step` with in-place updates of its own buffers (same equations)."""
    steps, batch, n = currents.shape
    v = currents.new_full((batch, n), p.v_rest)
    ge, gi, inh = (currents.new_zeros(batch, n) for _ in range(3))
    refr = currents.new_zeros(batch, n)
    thr = (p.v_thresh + theta).expand(batch, n).clone()
    dv, tmp, over = (torch.empty_like(v) for _ in range(3))
    out = torch.empty_like(currents)
    c_ge, c_gi, k = math.exp(-p.dt / p.tau_ge), math.exp(-p.dt / p.tau_gi), p.dt / p.tau_m
    neg_inf = currents.new_tensor(float("-inf"))
    for t in range(steps):
        ge.mul_(c_ge).add_(currents[t])
        gi.mul_(c_gi).add_(inh)
        # dv = (v_rest - v) + ge (e_exc - v) + gi (e_inh - v) = v_rest + ge e_exc + gi e_inh - v (1 + ge + gi)
        torch.add(ge, gi, out=tmp).add_(1.0)
        torch.mul(tmp, v, out=dv).neg_().add_(gi, alpha=p.e_inh).add_(p.v_rest)
        if p.e_exc != 0.0:
            dv.add_(ge, alpha=p.e_exc)
        free = refr <= 0
        torch.where(free, v.add(dv, alpha=k).clamp_(p.e_inh, p.e_exc), v, out=v)
        torch.sub(v, thr, out=over)
        can = (over > 0) & free
        s = out[t]
        if p.one_spike_per_step:
            masked = torch.where(can, over, neg_inf)
            best = masked.argmax(1, keepdim=True)  # the first maximum; not max(dim): slow multithreaded
            s.zero_().scatter_(1, best, (masked.gather(1, best) > 0).to(s.dtype))
        else:
            s.copy_(can)
        fired = s > 0
        v.masked_fill_(fired, p.v_reset)
        refr.sub_(1).masked_fill_(fired, float(p.refractory_steps))
        thr.add_(s, alpha=p.theta_plus)
        torch.sub(s.sum(1, keepdim=True), s, out=inh).mul_(p.w_inh)
    return out, thr - p.v_thresh
