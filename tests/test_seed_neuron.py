"""RefractoryLIF against the original experiment's layer, transcribed as it ran (stateful, reset_state)."""

from __future__ import annotations

import torch
import torch.nn.functional as tF
from torch import nn

import spikekit as sk


class OriginalLayer(nn.Module):
    """``SpikingNeuronLayerRNN`` from the original notebook, kept as written (hidden state and all)."""

    def __init__(self, fc: nn.Linear, decay_multiplier=0.9, threshold=1.0, penalty_threshold=1.5):
        super().__init__()
        self.fc = fc
        self.decay_multiplier, self.threshold, self.penalty_threshold = (
            decay_multiplier,
            threshold,
            penalty_threshold,
        )
        self.n_hidden = fc.out_features

    def reset_state(self):
        self.prev_inner = torch.zeros([self.n_hidden], dtype=self.fc.weight.dtype)
        self.prev_outer = torch.zeros([self.n_hidden], dtype=self.fc.weight.dtype)

    def forward(self, x):
        if self.prev_inner.dim() == 1:
            batch_size = x.shape[0]
            self.prev_inner = torch.stack(batch_size * [self.prev_inner])
            self.prev_outer = torch.stack(batch_size * [self.prev_outer])
        input_excitation = self.fc(x)
        inner_excitation = input_excitation + self.prev_inner * self.decay_multiplier
        outer_excitation = tF.relu(inner_excitation - self.threshold)
        do_penalize_gate = (outer_excitation > 0).float()
        inner_excitation = (
            inner_excitation - (self.penalty_threshold / self.threshold * inner_excitation) * do_penalize_gate
        )
        delayed_return_state = self.prev_inner
        delayed_return_output = self.prev_outer
        self.prev_inner = inner_excitation
        self.prev_outer = outer_excitation
        return delayed_return_state, delayed_return_output


def test_two_layers_match_the_original_code_outputs_and_gradients():
    torch.manual_seed(0)
    fc1, fc2 = nn.Linear(20, 12), nn.Linear(12, 5)
    x = (torch.rand(30, 4, 20) - 0.2) * 1.5  # [T, B, F]

    orig1, orig2 = OriginalLayer(fc1), OriginalLayer(fc2)
    orig1.reset_state(), orig2.reset_state()
    states2, outs2 = [], []
    for x_t in x:
        _, o1 = orig1(x_t)
        s2, o2 = orig2(o1)
        states2.append(s2), outs2.append(o2)
    states2, outs2 = torch.stack(states2), torch.stack(outs2)
    loss_orig = states2.mean(0).logsumexp(-1).sum() + outs2.sum()
    g_orig = torch.autograd.grad(loss_orig, [fc1.weight, fc2.weight])

    model = nn.Sequential(fc1, sk.nn.RefractoryLIF(), fc2, sk.nn.RefractoryLIF())
    with sk.record(model, detach=False) as rec:
        out = model(x)
    states = rec["3"].v
    torch.testing.assert_close(out, outs2, rtol=0, atol=0)
    torch.testing.assert_close(states, states2, rtol=0, atol=0)
    assert outs2.gt(0).float().mean() > 0.01  # the layers did fire
    loss = states.mean(0).logsumexp(-1).sum() + out.sum()
    g = torch.autograd.grad(loss, [fc1.weight, fc2.weight])
    for a, b in zip(g, g_orig, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_first_step_returns_zeros_the_one_step_delay():
    m = sk.nn.RefractoryLIF()
    x = torch.full((3, 1, 2), 5.0)
    with sk.record(m) as rec:
        out = m(x)
    assert (out[0] == 0).all() and (rec[""].v[0] == 0).all()
    torch.testing.assert_close(rec[""].v[1], torch.full((1, 2), 5.0 - 1.5 * 5.0))  # fired, penalised
    torch.testing.assert_close(out[1], torch.full((1, 2), 4.0))  # relu(5 - 1)


def test_binary_spikes_are_zero_or_one_and_prose_reset_differs():
    x = torch.rand(20, 3, 4, generator=torch.Generator().manual_seed(1)) * 1.2
    binary = sk.nn.RefractoryLIF(spike="binary")(x)
    assert set(binary.unique().tolist()) <= {0.0, 1.0} and binary.sum() > 0
    assert not torch.equal(sk.nn.RefractoryLIF(reset="prose")(x), sk.nn.RefractoryLIF()(x))
