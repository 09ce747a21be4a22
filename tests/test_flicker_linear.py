"""The streamed flicker input: flicker_linear == (x * masks) @ W^T + b; SeedSNN(input="streamed")."""

from __future__ import annotations

import pytest
import torch

import spikekit as sk
from spikekit.kernels import flicker_linear, flicker_masks, rng


def _plain(x, w, b, masks):
    out = (x * masks) @ w.t()
    return out if b is None else out + b


def _inputs(batch=5, features=13, hidden=7, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, features, generator=g, dtype=dtype).requires_grad_()
    w = torch.randn(hidden, features, generator=g, dtype=dtype).requires_grad_()
    b = torch.randn(hidden, generator=g, dtype=dtype).requires_grad_()
    return x, w, b


@pytest.mark.parametrize("chunk", [1, 2, 4, 9, 100, None])
@pytest.mark.parametrize("bias", [True, False])
def test_forward_and_gradients_equal_the_plain_computation_on_the_same_masks(chunk, bias):
    steps, seed = 9, 1234
    x, w, b = _inputs()
    b = b if bias else None
    masks = flicker_masks(x.shape, steps, seed, dtype=torch.float64)
    out = flicker_linear(x, w, b, steps, seed, chunk=chunk)
    ref = _plain(x, w, b, masks)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(ref)
    params = (x, w) if b is None else (x, w, b)
    got, want = torch.autograd.grad(out, params, g), torch.autograd.grad(ref, params, g)
    for a, e in zip(got, want, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-12, atol=1e-12)


def test_float32_with_a_row_length_that_is_not_a_multiple_of_the_generator_block():
    steps, seed = 5, 99
    x, w, b = _inputs(batch=3, features=70, hidden=11, dtype=torch.float32)
    masks = flicker_masks(x.shape, steps, seed)
    out, ref = flicker_linear(x, w, b, steps, seed, chunk=2), _plain(x, w, b, masks)
    torch.testing.assert_close(out, ref)
    g = torch.randn_like(ref)
    for a, e in zip(
        torch.autograd.grad(out, (x, w, b), g), torch.autograd.grad(ref, (x, w, b), g), strict=True
    ):
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-5)


def test_gradcheck():
    x, w, b = _inputs(batch=3, features=4, hidden=2)
    assert torch.autograd.gradcheck(lambda x, w, b: flicker_linear(x, w, b, 5, 77, chunk=2), (x, w, b))


def test_chunk_size_does_not_change_the_result():
    x, w, b = _inputs(batch=4, features=30, hidden=6)
    outs = [flicker_linear(x, w, b, 12, 5, chunk=c) for c in (1, 5, 12)]
    for out in outs[1:]:
        torch.testing.assert_close(out, outs[0], rtol=1e-13, atol=1e-13)


def test_only_the_inputs_that_need_it_get_gradients():
    x, w, _ = _inputs()
    x.requires_grad_(False)
    flicker_linear(x, w, None, 4, 3).sum().backward()
    assert x.grad is None and w.grad is not None
    x, w, b = _inputs()
    w.requires_grad_(False)
    flicker_linear(x, w, b, 4, 3).sum().backward()
    assert x.grad is not None and w.grad is None and b.grad is not None


def test_saves_only_x_and_the_weight_for_backward():
    x, w, b = _inputs(batch=6, features=20, hidden=4)
    saved = []

    def pack(t):
        saved.append(tuple(t.shape))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        flicker_linear(x, w, b, 50, 8)
    assert sorted(saved) == sorted([(6, 20), (4, 20)])


def test_masks_are_the_generator_stream_in_time_batch_feature_order():
    masks = flicker_masks((3, 5), 4, 21)
    assert masks.shape == (4, 3, 5) and masks.dtype == torch.float32
    assert torch.equal(masks.reshape(-1), rng.philox_reference(60, 21))
    assert ((masks >= 0) & (masks < 1)).all()


def test_the_pytorch_fallback_gives_the_same_result(monkeypatch):
    x, w, b = _inputs()
    out = flicker_linear(x, w, b, 6, 4, chunk=4)
    grads = torch.autograd.grad(out.sum(), (x, w, b))
    monkeypatch.setattr(rng, "_use_cpp", lambda t: False)
    out2 = flicker_linear(x, w, b, 6, 4, chunk=4)
    torch.testing.assert_close(out2, out, rtol=0, atol=0)
    for a, e in zip(torch.autograd.grad(out2.sum(), (x, w, b)), grads, strict=True):
        torch.testing.assert_close(a, e, rtol=0, atol=0)


def test_bad_input_raises_clear_errors():
    x, w, b = _inputs()
    with pytest.raises(ValueError, match="flicker_linear: steps must be an int >= 1, got 0"):
        flicker_linear(x, w, b, 0, 1)
    with pytest.raises(TypeError, match="flicker_linear: steps must be an int >= 1, got float"):
        flicker_linear(x, w, b, 2.0, 1)
    with pytest.raises(ValueError, match="flicker_linear: chunk must be an int >= 1, got -1"):
        flicker_linear(x, w, b, 2, 1, chunk=-1)
    with pytest.raises(ValueError, match="flicker_linear: chunk must be an int >= 1, got 0"):
        flicker_linear(x, w, b, 2, 1, chunk=0)
    with pytest.raises(
        ValueError, match=r"x must be one static input per sample, \[B, F\], got shape \(2, 5, 13\)"
    ):
        flicker_linear(x.detach().expand(2, 5, 13), w, b, 2, 1)
    with pytest.raises(ValueError, match=r"weight must be \[out_features, 13\] .* got \(7, 12\)"):
        flicker_linear(x, w[:, :12], b, 2, 1)
    with pytest.raises(ValueError, match=r"bias must have shape \(7,\), got \(6,\)"):
        flicker_linear(x, w, b[:6], 2, 1)
    with pytest.raises(TypeError, match="x must be a floating-point tensor, got torch.int64"):
        flicker_linear(torch.ones(5, 13, dtype=torch.int64), w, b, 2, 1)
    with pytest.raises(TypeError, match="weight must have x's dtype and device"):
        flicker_linear(x, w.float(), b, 2, 1)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        flicker_linear([[1.0]], w, b, 2, 1)
    with pytest.raises(ValueError, match=r"flicker_linear: seed must be an int in \[0, 2\*\*63\), got -1"):
        flicker_linear(x, w, b, 2, -1)
    with pytest.raises(ValueError, match="flicker_masks: shape must be a tuple of ints"):
        flicker_masks((2, -1), 3, 0)
    with pytest.raises(TypeError, match="flicker_masks: dtype must be floating point"):
        flicker_masks((2, 3), 3, 0, dtype=torch.int32)


# --- SeedSNN(input="streamed") ---------------------------------------------------------------------------
def _seed_pair(**kw):
    torch.manual_seed(0)
    plain = sk.models.SeedSNN(n_in=64, hidden=20, n_out=10, steps=6, **kw).double()
    streamed = sk.models.SeedSNN(n_in=64, hidden=20, n_out=10, steps=6, input="streamed", **kw).double()
    streamed.load_state_dict(plain.state_dict())
    return plain, streamed


def test_streamed_seed_snn_equals_materialized_on_the_same_masks(monkeypatch):
    import spikekit.models.seed as seed_module

    plain, streamed = _seed_pair()
    images = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    torch.manual_seed(3)
    out_streamed = streamed(images)
    torch.manual_seed(3)
    seed = int(torch.randint(0, 2**62, (1,)))  # the seed the streamed model drew
    masks = flicker_masks((4, 64), 6, seed, dtype=torch.float64)
    monkeypatch.setattr(seed_module, "flicker", lambda x, steps: x * masks)
    out_plain = plain(images)
    torch.testing.assert_close(out_streamed, out_plain, rtol=1e-12, atol=1e-12)
    target = torch.tensor([0, 3, 5, 9])
    for out in (out_plain, out_streamed):
        torch.nn.functional.cross_entropy(out, target).backward()
    for (name, p), q in zip(plain.named_parameters(), streamed.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-10, atol=1e-12, msg=name)


def test_streamed_seed_snn_is_reproducible_from_the_global_seed_and_fused_equals_torch():
    _, streamed = _seed_pair()
    _, fused = _seed_pair(backend="fused")
    images = torch.rand(3, 64, dtype=torch.float64)
    torch.manual_seed(5)
    a = streamed(images)
    torch.manual_seed(5)
    b = streamed(images)
    torch.manual_seed(5)
    c = fused(images)
    assert torch.equal(a, b)
    torch.testing.assert_close(c, a, rtol=1e-12, atol=1e-12)
    assert not torch.equal(streamed(images), a)  # a fresh mask at every call


def test_streamed_seed_snn_trains():
    torch.manual_seed(0)
    model = sk.models.SeedSNN(n_in=16, hidden=12, n_out=2, steps=8, input="streamed")
    images = torch.rand(32, 16)
    target = (images[:, :8].mean(1) > images[:, 8:].mean(1)).long()
    images[target == 1, :8] += 0.5
    images[target == 0, 8:] += 0.5
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.5)
    losses = []
    for _ in range(25):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(images.clamp(0, 1)), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5


def test_seed_snn_input_option_through_the_registry():
    model = sk.models.build_model("seed-snn", (1, 8, 8), 10, input="streamed", steps=4)
    assert model.input == "streamed" and model(torch.rand(2, 1, 8, 8)).shape == (2, 10)
    assert sk.models.SeedSNN().input == "materialized"
    with pytest.raises(
        ValueError, match="SeedSNN: input must be one of 'materialized', 'streamed'; got 'lazy'"
    ):
        sk.models.SeedSNN(input="lazy")


def test_bench_streamed_row_matches_the_original_on_shared_masks():
    from spikekit.cli._bench_measure import SeedNetOriginal, SeedNetSpikekit, _copy_weights, _same_mathematics

    torch.manual_seed(0)
    images, target = torch.rand(6, 1, 28, 28) - 0.5, torch.randint(0, 10, (6,))
    models = {"original code": SeedNetOriginal(5)}
    models["streamed"] = SeedNetSpikekit(5, "fused", input="streamed")
    _copy_weights(models["original code"], models["streamed"])
    assert _same_mathematics(models, images, target, 5)["streamed"] < 1e-5


def test_non_finite_meta_and_huge_inputs_are_refused():
    x, w = torch.rand(2, 5), torch.rand(3, 5)
    with pytest.raises(ValueError, match=r"flicker_linear: x must be finite"):
        flicker_linear(torch.full((2, 5), float("nan")), w, None, 4, 1)
    with pytest.raises(ValueError, match=r"flicker_linear: weight must be finite"):
        flicker_linear(x, torch.full((3, 5), float("inf")), None, 4, 1)
    with pytest.raises(ValueError, match=r"'meta' device"):
        flicker_linear(x.to("meta"), w.to("meta"), None, 4, 1)
    with pytest.raises(ValueError, match=r"flicker_linear: the output would need .*more than"):
        flicker_linear(x, w, None, 2**50, 1)
    with pytest.raises(ValueError, match=r"flicker_linear: the current .* became non-finite"):
        flicker_linear(torch.full((2, 5), 3e38), torch.full((3, 5), 10.0), None, 4, 1)
