"""Registry of neuron modules for the generic suite (in the style of PyTorch's ``ModuleInfo``).

Each entry says how to build the module, which of its tensors are learnable, what input drives it to a
useful firing rate, and a float64 *reference* written here, from the equations, as a plain loop over
time. The reference is independent of the library's code: it shares only the surrogate's primitive ``P``,
through ``spike_ref`` (forward ``H(x)``, gradient ``P'(x)`` by autograd on ``P``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

import spikekit as sk


def spike_ref(x: torch.Tensor, surrogate: sk.surrogate.Surrogate) -> torch.Tensor:
    """``H(x) = [x >= 0]`` forward; ``d/dx P(x)`` backward, by autograd on the primitive."""
    p = surrogate.primitive(x)
    return (x >= 0).to(x.dtype) + (p - p.detach())


def reset_ref(v, s, thr, mode, detach):
    s = s.detach() if detach else s
    if mode == "subtract":
        return v - s * thr
    if mode == "zero":
        return v - s * v
    return v


@dataclass
class NeuronInfo:
    id: str
    build: Callable[[], sk.nn.Neuron]
    reference: Callable[[sk.nn.Neuron, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    features: int = 6
    scale: float = 0.6
    bias: float = 0.25
    learnable: tuple[str, ...] = field(default_factory=tuple)

    def sample(self, steps=12, batch=3, dtype=torch.float64, seed=0):
        g = torch.Generator().manual_seed(seed)
        x = (
            torch.randn(steps, batch, self.features, generator=g, dtype=torch.float64) * self.scale
            + self.bias
        )
        return x.to(dtype)


# --- references, from the equations -------------------------------------------------------------------
def ref_if(m, x):
    v, out, vs = torch.zeros_like(x[0]), [], []
    for t in range(x.shape[0]):
        v = v + x[t]
        s = spike_ref(v - m.threshold, m.surrogate)
        out.append(s), vs.append(v)
        v = reset_ref(v, s, m.threshold, m.reset, m.detach_reset)
    return torch.stack(out), torch.stack(vs)


def ref_lif(m, x):
    v, out, vs = torch.zeros_like(x[0]), [], []
    for t in range(x.shape[0]):
        v = m.beta * v + x[t]
        s = spike_ref(v - m.threshold, m.surrogate)
        out.append(s), vs.append(v)
        v = reset_ref(v, s, m.threshold, m.reset, m.detach_reset)
    return torch.stack(out), torch.stack(vs)


def ref_plif(m, x):
    k = 1 / (1 + torch.exp(-m.w))  # 1 / tau
    v, out, vs = torch.zeros_like(x[0]), [], []
    for t in range(x.shape[0]):
        v = v + k * (x[t] - v) if m.decay_input else (1 - k) * v + x[t]
        s = spike_ref(v - m.threshold, m.surrogate)
        out.append(s), vs.append(v)
        v = reset_ref(v, s, m.threshold, m.reset, m.detach_reset)
    return torch.stack(out), torch.stack(vs)


def ref_alif(m, x):
    v, a, out, vs = torch.zeros_like(x[0]), torch.zeros_like(x[0]), [], []
    for t in range(x.shape[0]):
        v = m.beta * v + x[t]
        thr = m.threshold + m.adapt * a
        s = spike_ref(v - thr, m.surrogate)
        out.append(s), vs.append(v)
        v = reset_ref(v, s, thr, m.reset, m.detach_reset)
        a = m.rho * a + (1 - m.rho) * s
    return torch.stack(out), torch.stack(vs)


def ref_synaptic(m, x):
    i, v, out, vs = torch.zeros_like(x[0]), torch.zeros_like(x[0]), [], []
    for t in range(x.shape[0]):
        i = m.alpha * i + x[t]
        v = m.beta * v + i
        s = spike_ref(v - m.threshold, m.surrogate)
        out.append(s), vs.append(v)
        v = reset_ref(v, s, m.threshold, m.reset, m.detach_reset)
    return torch.stack(out), torch.stack(vs)


def ref_rlif(m, x):
    v, s, out, vs = torch.zeros_like(x[0]), torch.zeros_like(x[0]), [], []
    w = m.weight
    for t in range(x.shape[0]):
        if w.dim() == 2:  # rec[b, i] = sum_j W[i, j] s[b, j]
            rec = torch.einsum("ij,bj->bi", w, s)
        else:
            rec = w * s
        v = m.beta * v + x[t] + rec
        s = spike_ref(v - m.threshold, m.surrogate)
        out.append(s), vs.append(v)
        v = reset_ref(v, s, m.threshold, m.reset, m.detach_reset)
    return torch.stack(out), torch.stack(vs)


def ref_refractory(m, x):
    inner, outer = torch.zeros_like(x[0]), torch.zeros_like(x[0])
    outs, vs = [], []
    for t in range(x.shape[0]):
        outs.append(outer), vs.append(inner)  # the one-step delay
        inner = x[t] + inner * m.decay
        if m.spike == "graded":
            outer = torch.relu(inner - m.threshold)
        else:
            outer = spike_ref(inner - m.threshold, m.surrogate)
        gate = (outer > 0).to(x.dtype)
        if m.reset == "seed":
            inner = inner - (m.penalty / m.threshold * inner) * gate
        else:
            inner = inner - (m.penalty + outer) * gate
    return torch.stack(outs), torch.stack(vs)


def ref_srm(m, x):
    """From u(t) = eta(t - t_last) + sum_{t' <= t} eps(t - t') x(t'), with eta's state written as a trace."""
    steps = x.shape[0]
    eps = [math.exp(-s / m.tau_m) - math.exp(-s / m.tau_s) for s in range(steps)]
    r = torch.zeros_like(x[0])  # eta(t - t_last), zero before the first spike
    outs, us = [], []
    for t in range(steps):
        psp = sum(eps[t - tp] * x[tp] for tp in range(t + 1))
        r = r * math.exp(-1 / m.tau_r)
        u = psp + r
        s = spike_ref(u - m.threshold, m.surrogate)
        s_r = s.detach() if m.detach_reset else s
        r = r * (1 - s_r) - m.threshold * s_r  # eta(0) = -threshold at the spike
        outs.append(s), us.append(u)
    return torch.stack(outs), torch.stack(us)


def ref_izhikevich(m, x):
    """Izhikevich (2003): v' = 0.04 v^2 + 5 v + 140 - u + I, u' = a (b v - u); v in two half-steps of
    dt/2, the second (and u) with v capped at the peak; at v >= v_peak: v = c, u += d. Starts at v = -65,
    u = b v."""
    h, cap = m.dt / 2, m.v_peak
    v = torch.full_like(x[0], -65.0)
    u = m.b * v
    out, vs = [], []
    for t in range(x.shape[0]):
        v = v + h * (0.04 * v**2 + 5 * v + 140 - u + x[t])
        vc = torch.minimum(v, cap.expand_as(v))
        v = v + h * (0.04 * vc**2 + 5 * vc + 140 - u + x[t])
        u = u + m.dt * m.a * (m.b * torch.minimum(v, cap.expand_as(v)) - u)
        s = spike_ref((v - m.v_peak) / m.v_scale, m.surrogate)
        out.append(s), vs.append(v)
        s = s.detach() if m.detach_reset else s
        v = (1 - s) * v + s * m.c
        u = u + s * m.d
    return torch.stack(out), torch.stack(vs)


def ref_adex(m, x):
    """Brette & Gerstner (2005), forward Euler: C V' = -g_L (V - E_L) + g_L D exp((V - V_T) / D) - w + I,
    tau_w w' = a (V - E_L) - w, the exponential at min(V, V_peak); at V >= V_peak: V = V_r, w += b."""
    V, w = torch.zeros_like(x[0]) + m.E_L, torch.zeros_like(x[0])
    out, vs = [], []
    for t in range(x.shape[0]):
        growth = m.g_L * m.delta_T * torch.exp((torch.minimum(V, m.V_peak.expand_as(V)) - m.V_T) / m.delta_T)
        V_new = V + m.dt / m.C * (-m.g_L * (V - m.E_L) + growth - w + x[t])
        w = w + m.dt / m.tau_w * (m.a * (V - m.E_L) - w)
        V = V_new
        s = spike_ref((V - m.V_peak) / m.v_scale, m.surrogate)
        out.append(s), vs.append(V)
        s = s.detach() if m.detach_reset else s
        V = (1 - s) * V + s * m.V_r
        w = w + s * m.b
    return torch.stack(out), torch.stack(vs)


def ref_alpha(m, x):
    """snnTorch's Alpha: exc = alpha exc + x, inh = beta inh - x, v = tau (exc + inh) with
    tau = ln(alpha) / (ln(beta) - ln(alpha)) + 1; the spike of step t - 1 resets in step t (subtract:
    exc -= thr, inh = 0, v += inh of t - 1; zero: exc = inh = v = 0)."""
    tau = torch.log(m.alpha) / (torch.log(m.beta) - torch.log(m.alpha)) + 1
    exc, inh, r = torch.zeros_like(x[0]), torch.zeros_like(x[0]), torch.zeros_like(x[0])
    out, vs = [], []
    for t in range(x.shape[0]):
        r = r.detach() if m.detach_reset else r
        inh_prev = inh
        exc = m.alpha * exc + x[t]
        inh = m.beta * inh - x[t]
        v = tau * (exc + inh)
        if m.reset == "subtract":
            exc, inh, v = exc - m.threshold * r, (1 - r) * inh, v + r * inh_prev
        elif m.reset == "zero":
            exc, inh, v = (1 - r) * exc, (1 - r) * inh, (1 - r) * v
        r = spike_ref(v - m.threshold, m.surrogate)
        out.append(r), vs.append(v)
    return torch.stack(out), torch.stack(vs)


A = sk.surrogate
REGISTRY: list[NeuronInfo] = [
    NeuronInfo("IF", lambda: sk.nn.IF(threshold=1.0), ref_if, bias=0.2),
    NeuronInfo(
        "IF-zero-learn",
        lambda: sk.nn.IF(1.2, reset="zero", learn_threshold=True),
        ref_if,
        learnable=("threshold",),
    ),
    NeuronInfo("LIF-subtract", lambda: sk.nn.LIF(beta=0.8), ref_lif),
    NeuronInfo("LIF-zero-sigmoid", lambda: sk.nn.LIF(0.9, reset="zero", surrogate=A.sigmoid(5.0)), ref_lif),
    NeuronInfo("LIF-none-triangle", lambda: sk.nn.LIF(0.7, reset="none", surrogate=A.triangle(0.8)), ref_lif),
    NeuronInfo(
        "LIF-detach-rect", lambda: sk.nn.LIF(0.85, surrogate=A.rectangle(1.5), detach_reset=True), ref_lif
    ),
    NeuronInfo(
        "LIF-learn-per-neuron",
        lambda: sk.nn.LIF(
            0.9, 0.8, learn_beta=True, learn_threshold=True, shape=6, surrogate=A.fast_sigmoid()
        ),
        ref_lif,
        learnable=("beta", "threshold"),
    ),
    NeuronInfo("PLIF", lambda: sk.nn.PLIF(init_tau=2.5), ref_plif, bias=0.8, learnable=("w",)),
    NeuronInfo(
        "PLIF-no-decay-input-per-neuron",
        lambda: sk.nn.PLIF(3.0, decay_input=False, shape=6, reset="zero", surrogate=A.straight_through()),
        ref_plif,
        learnable=("w",),
    ),
    NeuronInfo("ALIF", lambda: sk.nn.ALIF(beta=0.9, rho=0.9, adapt=0.5), ref_alif, learnable=()),
    NeuronInfo(
        "ALIF-zero-learn",
        lambda: sk.nn.ALIF(0.85, 0.8, 1.0, reset="zero", learn_beta=True, learn_threshold=True),
        ref_alif,
        learnable=("beta", "threshold"),
    ),
    NeuronInfo("Synaptic", lambda: sk.nn.Synaptic(alpha=0.7, beta=0.8), ref_synaptic, bias=0.1),
    NeuronInfo(
        "Synaptic-learn",
        lambda: sk.nn.Synaptic(
            0.6, 0.9, learn_alpha=True, learn_beta=True, learn_threshold=True, reset="zero"
        ),
        ref_synaptic,
        bias=0.1,
        learnable=("alpha", "beta", "threshold"),
    ),
    NeuronInfo("RLIF-dense", lambda: sk.nn.RLIF(6, beta=0.85), ref_rlif, learnable=("weight",)),
    NeuronInfo(
        "RLIF-one-to-one",
        lambda: sk.nn.RLIF(6, all_to_all=False, learn_beta=True, reset="zero"),
        ref_rlif,
        learnable=("weight", "beta"),
    ),
    NeuronInfo("RefractoryLIF", lambda: sk.nn.RefractoryLIF(), ref_refractory, scale=0.8, bias=0.3),
    NeuronInfo("RefractoryLIF-prose", lambda: sk.nn.RefractoryLIF(reset="prose"), ref_refractory, scale=0.8),
    NeuronInfo(
        "RefractoryLIF-binary",
        lambda: sk.nn.RefractoryLIF(spike="binary", learn_threshold=True),
        ref_refractory,
        scale=0.8,
        learnable=("threshold",),
    ),
    NeuronInfo("SRM", lambda: sk.nn.SRM(tau_m=8.0, tau_s=2.0, tau_r=4.0), ref_srm, scale=1.0, bias=0.6),
    NeuronInfo(
        "SRM-learn-detach",
        lambda: sk.nn.SRM(learn_threshold=True, detach_reset=True, threshold=0.7),
        ref_srm,
        scale=1.0,
        bias=0.5,
        learnable=("threshold",),
    ),
    NeuronInfo(
        "Izhikevich-RS",
        lambda: sk.nn.Izhikevich("RS", dt=1.0),
        ref_izhikevich,
        scale=15.0,
        bias=30.0,
    ),
    NeuronInfo(
        "Izhikevich-CH-learn-per-neuron-detach",
        lambda: sk.nn.Izhikevich(
            "CH", learn_a=True, learn_b=True, learn_c=True, learn_d=True, shape=6, detach_reset=True
        ),
        ref_izhikevich,
        scale=15.0,
        bias=40.0,
        learnable=("a", "b", "c", "d"),
    ),
    NeuronInfo("AdEx", lambda: sk.nn.AdEx(dt=0.5), ref_adex, scale=3.0, bias=4.0),
    NeuronInfo(
        "AdEx-learn-per-neuron-sigmoid",
        lambda: sk.nn.AdEx(dt=1.0, learn_a=True, learn_b=True, shape=6, surrogate=A.sigmoid(2.0)),
        ref_adex,
        scale=2.0,
        bias=3.0,
        learnable=("a", "b"),
    ),
    NeuronInfo("Alpha-zero", lambda: sk.nn.Alpha(alpha=0.9, beta=0.8), ref_alpha, bias=0.3),
    NeuronInfo(
        "Alpha-subtract-learn",
        lambda: sk.nn.Alpha(
            0.85, 0.6, reset="subtract", learn_alpha=True, learn_beta=True, learn_threshold=True
        ),
        ref_alpha,
        bias=0.3,
        learnable=("alpha", "beta", "threshold"),
    ),
    NeuronInfo(
        "Alpha-none-per-neuron-detach",
        lambda: sk.nn.Alpha(0.95, 0.5, 1.5, reset="none", shape=6, detach_reset=True, surrogate=A.triangle()),
        ref_alpha,
        bias=0.2,
    ),
]

IDS = [info.id for info in REGISTRY]

# --- float64: every neuron with constants that float32 cannot hold (issue 15) ----------------------------
# ``.double()`` must give these numbers, not their float32 roundings (0.9 -> 0.89999997615814209).
EXACT: list[NeuronInfo] = [
    NeuronInfo("IF", lambda: sk.nn.IF(threshold=0.7), ref_if, bias=0.15),
    NeuronInfo("LIF", lambda: sk.nn.LIF(beta=0.9, threshold=0.7), ref_lif),
    NeuronInfo(
        "LIF-learn-per-neuron",
        lambda: sk.nn.LIF(0.9, torch.full((6,), 0.7, dtype=torch.float64), learn_beta=True, shape=6),
        ref_lif,
    ),
    NeuronInfo("PLIF", lambda: sk.nn.PLIF(init_tau=2.5, threshold=0.7), ref_plif, bias=0.6),
    NeuronInfo("ALIF", lambda: sk.nn.ALIF(beta=0.9, rho=0.95, adapt=0.3, threshold=0.7), ref_alif),
    NeuronInfo(
        "Synaptic", lambda: sk.nn.Synaptic(alpha=0.7, beta=0.9, threshold=0.7), ref_synaptic, bias=0.05
    ),
    NeuronInfo("RLIF", lambda: sk.nn.RLIF(6, beta=0.9, threshold=0.7), ref_rlif),
    NeuronInfo(
        "RefractoryLIF",
        lambda: sk.nn.RefractoryLIF(decay=0.9, threshold=0.7, penalty=1.3),
        ref_refractory,
        scale=0.8,
        bias=0.3,
    ),
    NeuronInfo(
        "SRM", lambda: sk.nn.SRM(tau_m=8.3, tau_s=2.1, tau_r=4.7, threshold=0.7), ref_srm, scale=1.0, bias=0.4
    ),
    NeuronInfo(
        "Izhikevich",
        lambda: sk.nn.Izhikevich("RS", a=0.021, b=0.19, c=-64.9, d=7.9, v_peak=30.1, dt=0.9, v_scale=99.9),
        ref_izhikevich,
        scale=15.0,
        bias=30.0,
    ),
    NeuronInfo("AdEx", lambda: sk.nn.AdEx(dt=0.3, v_scale=29.9), ref_adex, scale=3.0, bias=4.0),
    NeuronInfo("Alpha", lambda: sk.nn.Alpha(alpha=0.9, beta=0.7, threshold=0.7), ref_alpha, bias=0.3),
]

EXACT_IDS = [info.id for info in EXACT]
