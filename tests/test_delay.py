"""sk.nn.Delay / DelayedLinear: the interpolated shift, its gradient (finite differences), chunking, delay
recovery, bad input, and NIR's Delay node."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as tf

import spikekit as sk
from spikekit.nn.delay import DelayState, delay_shift


def smooth(t: int, b: int, n: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    k = torch.arange(-12, 13, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (k / 4.0) ** 2)
    white = torch.randn(b * n, 1, t + 24, generator=gen, dtype=torch.float64)
    return (
        tf.conv1d(white, (kernel / kernel.norm()).view(1, 1, -1)).view(b, n, t).permute(2, 0, 1).contiguous()
    )


def test_gradcheck_delays_and_input():
    x = smooth(16, 2, 3).requires_grad_()
    d = torch.tensor([0.3, 2.6, 4.45], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, d: delay_shift(x, d, 5)[0], (x, d))


def test_derivative_is_neighbour_difference():
    x = smooth(12, 1, 1)
    d = torch.tensor([2.25], dtype=torch.float64, requires_grad=True)
    y, _ = delay_shift(x, d, 4)
    y[10].sum().backward()
    assert torch.allclose(d.grad, x[10 - 3, 0] - x[10 - 2, 0])  # x[t - k - 1] - x[t - k], k = 2


def test_integer_delays_shift_exactly_with_zero_padding():
    x = torch.randn(10, 2, 3)
    y = sk.nn.Delay(3, max_delay=4, init=torch.tensor([0.0, 3.0, 4.0]))(x)
    assert torch.equal(y[:, :, 0], x[:, :, 0])
    assert torch.equal(y[3:, :, 1], x[:-3, :, 1]) and not y[:3, :, 1].any()
    assert torch.equal(y[4:, :, 2], x[:-4, :, 2]) and not y[:4, :, 2].any()


def test_fraction_interpolates():
    x = torch.randn(8, 1, 1, dtype=torch.float64)
    y = sk.nn.Delay(1, 3, init=1.25).double()(x)
    assert torch.allclose(y[5:], 0.75 * x[4:7] + 0.25 * x[3:6])


def test_chunks_equal_whole_and_conv_shapes():
    delay = sk.nn.Delay((3, 1, 1), max_delay=5, init="random")
    x = torch.randn(12, 2, 3, 4, 4)
    a, state = delay.run(x[:5])
    b, _ = delay.run(x[5:], state)
    assert torch.allclose(torch.cat([a, b]), delay(x), atol=1e-6)
    assert isinstance(state, DelayState) and state.history.shape == (5, 2, 3, 4, 4)


def test_delayed_linear_is_per_synapse():
    layer = sk.nn.DelayedLinear(3, 2, max_delay=4, init=torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 0.0]]))
    x = torch.randn(9, 2, 3)
    y = layer(x)
    w, b = layer.linear.weight, layer.linear.bias
    pad = torch.cat([torch.zeros(4, 2, 3), x])
    ref = torch.stack(
        [
            torch.stack(
                [
                    sum(w[j, i] * pad[t + 4 - int(layer.delay.delay[j, i]), :, i] for i in range(3))
                    for j in range(2)
                ],
                -1,
            )
            for t in range(9)
        ]
    )
    assert torch.allclose(y, ref + b, atol=1e-6)


@pytest.mark.parametrize("init", ["zero", "random"])
def test_recovers_known_delays_within_half_a_step(init):
    torch.manual_seed(0)
    true = torch.tensor([0.0, 2.5, 5.0, 8.0], dtype=torch.float64)
    teacher = sk.nn.Delay(4, 10, init=true, learnable=False).double()
    student = sk.nn.Delay(4, 10, init=0.0 if init == "zero" else "random").double()
    opt = torch.optim.Adam(student.parameters(), lr=0.1)
    for step in range(120):
        x = smooth(64, 4, 4, seed=step)
        loss = tf.mse_loss(student(x), teacher(x))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float((student.delays() - true).abs().max()) < 0.5


def test_bad_input():
    delay = sk.nn.Delay(3, 4)
    with pytest.raises(ValueError, match="time-first"):
        delay(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="floating"):
        delay(torch.zeros(4, 2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="finite"):
        delay(torch.full((4, 2, 3), float("nan")))
    with pytest.raises(ValueError, match="broadcast"):
        delay(torch.zeros(4, 2, 5))
    with pytest.raises(ValueError, match="history"):
        delay.run(torch.zeros(4, 2, 3), DelayState(torch.zeros(2, 2, 3)))
    with pytest.raises(TypeError, match="DelayState"):
        delay.run(torch.zeros(4, 2, 3), (torch.zeros(4, 2, 3),))
    with pytest.raises(ValueError, match="max_delay"):
        sk.nn.Delay(3, 0)
    with pytest.raises(ValueError, match=r"\[0, max_delay=4\]"):
        sk.nn.Delay(3, 4, init=5.0)
    with pytest.raises(ValueError, match="random"):
        sk.nn.Delay(3, 4, init="uniform")


def test_nir_round_trip():
    pytest.importorskip("nir")
    from spikekit.interop import nir as sknir

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 3),
        sk.nn.LIF(0.9, reset="zero"),
        sk.nn.Delay(3, 6, init=torch.tensor([0.0, 2.0, 4.5])),
        torch.nn.Linear(3, 2),
        sk.nn.LIF(0.8, reset="zero"),
    )
    x = torch.rand(30, 2, 4) * 2
    graph = sknir.export(model, x, dt=1e-3)
    node = next(n for n in graph.nodes.values() if type(n).__name__ == "Delay")
    assert node.delay.tolist() == pytest.approx([0.0, 2e-3, 4.5e-3])
    back = sknir.import_(graph)
    delay = back[2]
    assert isinstance(delay, sk.nn.Delay) and delay.max_delay == 6
    assert delay.delays().tolist() == pytest.approx([0.0, 2.0, 4.5])
    assert torch.equal(back(x), model(x))
