"""ANN-to-SNN conversion: BatchNorm folding, the IF-vs-ReLU error bound, layer-wise normalisation against a
reference computed here, the converted network's convergence to the ANN, evaluation over T, and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

import spikekit as sk
from spikekit.cli.convert import run_convert
from spikekit.convert import (
    ConvertedSNN,
    accuracy_over_time,
    ann_accuracy,
    check_steps,
    convert,
    convertible_cnn,
    convertible_mlp,
    fold_batchnorm,
)
from spikekit.interop import loihi_check
from spikekit.nn import TimeDistributed


def rand(*shape, scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g) * scale


def trained_bn(bn: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    n = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
        bn.running_var.copy_(torch.rand(n, generator=g) + 0.5)
        if bn.affine:
            bn.weight.copy_(torch.rand(n, generator=g) + 0.5)
            bn.bias.copy_(torch.rand(n, generator=g) - 0.5)
    return bn


# --- BatchNorm folding ---------------------------------------------------------------------------------
@pytest.mark.parametrize("affine", [True, False])
def test_fold_batchnorm_computes_what_the_eval_model_computes(affine):
    torch.manual_seed(0)
    ann = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, bias=False),
        trained_bn(nn.BatchNorm2d(4, affine=affine), 1),
        nn.ReLU(),
        nn.Sequential(nn.Conv2d(4, 3, 3), trained_bn(nn.BatchNorm2d(3), 2)),  # nested, with a conv bias
        nn.Flatten(),
        nn.Linear(3 * 4 * 4, 5),
        trained_bn(nn.BatchNorm1d(5, affine=affine), 3),
    ).eval()
    folded = fold_batchnorm(ann)
    assert not any(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in ann.modules())  # the original is untouched
    x = rand(8, 2, 6, 6, seed=4)
    torch.testing.assert_close(folded(x), ann(x), rtol=1e-5, atol=1e-6)


def test_fold_batchnorm_sees_through_time_distributed():
    torch.manual_seed(1)
    snn = nn.Sequential(
        TimeDistributed(nn.Conv2d(1, 3, 3)), TimeDistributed(trained_bn(nn.BatchNorm2d(3), 5)), sk.nn.LIF()
    ).eval()
    folded = fold_batchnorm(snn)
    x = rand(5, 2, 1, 6, 6, scale=3.0, seed=6)
    torch.testing.assert_close(folded[0](x), snn[1](snn[0](x)), rtol=1e-5, atol=1e-6)


def test_fold_batchnorm_refuses_a_batchnorm_it_cannot_fold():
    with pytest.raises(ValueError, match=r"BatchNorm '1' follows ReLU '0', not a Conv2d or Linear"):
        fold_batchnorm(nn.Sequential(nn.ReLU(), nn.BatchNorm1d(3)))
    with pytest.raises(ValueError, match=r"BatchNorm '0' follows nothing, not a Conv2d or Linear"):
        fold_batchnorm(nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm '1' has no running statistics"):
        fold_batchnorm(nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3, track_running_stats=False)))
    with pytest.raises(
        ValueError, match=r"BatchNorm '1' normalises 4 features but the Linear before it has 3"
    ):
        fold_batchnorm(nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(4)))


# --- the IF neuron against the ReLU it replaces ------------------------------------------------------------
@pytest.mark.parametrize("steps", [1, 5, 32, 100, 257])
@pytest.mark.parametrize("threshold", [1.0, 0.37])
def test_if_rate_is_within_threshold_over_t_of_the_relu(steps, threshold):
    """v_T = T x - N thr lies in [0, thr) for x <= thr, so |N thr / T - relu(x)| < thr / T: 20,001 inputs."""
    x = torch.linspace(-threshold, threshold, 20_001, dtype=torch.float64)
    neuron = sk.nn.IF(threshold=threshold, reset="subtract").double()
    spikes = neuron(x.expand(steps, 1, -1))  # a constant current [T, 1, N]
    rate_times_thr = spikes.sum(0)[0] * threshold / steps
    err = (rate_times_thr - torch.relu(x)).abs()
    assert float(err.max()) <= threshold / steps * (1 + 1e-9)
    if steps >= 5:  # the bound is tight: some input comes within 10 % of it
        assert float(err.max()) > 0.9 * threshold / steps


@pytest.mark.parametrize("steps", [4, 16, 64, 200])
def test_converted_single_neuron_is_within_one_over_t_of_the_threshold(steps):
    """A Linear(1, 1) + ReLU converted with max normalisation: lam = the largest activation, the IF's
    threshold in the ANN's units; the SNN's output is within lam / T of the ReLU for every calibrated
    input."""
    ann = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    with torch.no_grad():
        ann[0].weight.fill_(1.7), ann[0].bias.fill_(-0.2)
    x = torch.linspace(-1, 1, 4001).unsqueeze(1)
    snn = convert(ann, x, percentile=100.0)
    lam = float(torch.relu(1.7 * x - 0.2).max())
    assert snn.lambdas == [pytest.approx(lam)] and snn.output_scale == pytest.approx(lam)
    with torch.no_grad():
        err = (snn(x, steps=steps) - ann(x)).abs()
    assert float(err.max()) <= lam / steps * (1 + 1e-5)


# --- normalisation ---------------------------------------------------------------------------------------
def _small_cnn() -> nn.Sequential:
    torch.manual_seed(2)
    ann = convertible_cnn(in_channels=1, image_size=8, n_out=4, channels=(4,), hidden=12)
    ann.train()
    for _ in range(3):
        ann(rand(16, 1, 8, 8, seed=7))  # running statistics
    return ann.eval()


@pytest.mark.parametrize("percentile", [100.0, 99.0, 90.0])
def test_lambdas_are_the_percentiles_of_positive_activations(percentile):
    ann = _small_cnn()
    calib = rand(64, 1, 8, 8, seed=8)
    snn = convert(ann, calib, percentile=percentile)
    acts = []
    h = calib
    with torch.no_grad():
        for m in ann:
            h = m(h)
            if isinstance(m, nn.ReLU):
                acts.append(h[h > 0].numpy())
    expected = [np.percentile(a, percentile, method="inverted_cdf") for a in acts]  # nearest rank
    np.testing.assert_allclose(snn.lambdas, expected, rtol=1e-6)


def test_weights_are_rescaled_layer_by_layer():
    ann = _small_cnn()
    calib = rand(64, 1, 8, 8, seed=9)
    snn = convert(ann, calib, percentile=99.5)
    lam1, lam2 = snn.lambdas
    folded = fold_batchnorm(ann)
    convs = [m.layer if isinstance(m, TimeDistributed) else m for m in snn.net]
    weighted = [m for m in convs if isinstance(m, nn.Conv2d | nn.Linear)]
    src = [m for m in folded if isinstance(m, nn.Conv2d | nn.Linear)]
    torch.testing.assert_close(weighted[0].weight, src[0].weight / lam1)
    torch.testing.assert_close(weighted[0].bias, src[0].bias / lam1)
    torch.testing.assert_close(weighted[1].weight, src[1].weight * lam1 / lam2)
    torch.testing.assert_close(weighted[1].bias, src[1].bias / lam2)
    torch.testing.assert_close(weighted[2].weight, src[2].weight * lam2)  # the output layer: lam_out = 1
    torch.testing.assert_close(weighted[2].bias, src[2].bias)
    assert [type(m).__name__ for m in snn.net] == [
        "TimeDistributed", "TimeDistributed", "IF", "TimeDistributed", "Linear", "IF", "Linear"
    ]  # fmt: skip
    assert all(
        m.reset == "subtract" and float(m.threshold) == 1.0 for m in snn.net if isinstance(m, sk.nn.IF)
    )


def test_bias_free_conversion_has_no_bias():
    ann = _small_cnn()
    snn = convert(ann, rand(32, 1, 8, 8, seed=10), bias=False)
    layers = [m.layer if isinstance(m, TimeDistributed) else m for m in snn.net]
    assert all(m.bias is None for m in layers if isinstance(m, nn.Conv2d | nn.Linear))
    assert all("bias" not in issue for issue in loihi_check(snn))


# --- the converted network -----------------------------------------------------------------------------
def test_converted_network_converges_to_the_ann():
    ann = _small_cnn()
    calib = rand(200, 1, 8, 8, seed=11)
    x = rand(60, 1, 8, 8, seed=12)
    snn = convert(ann, calib, percentile=100.0)
    with torch.no_grad():
        target = ann(x)
    out = snn.logits_over_time(x, [8, 64, 512])
    errors = [float((out[t] - target).abs().mean()) for t in (8, 64, 512)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.02 * float(target.abs().mean())
    assert float((out[512].argmax(1) == target.argmax(1)).float().mean()) >= 0.95


def test_logits_over_time_equal_separate_runs_and_the_time_first_net():
    ann = _small_cnn()
    snn = convert(ann, rand(50, 1, 8, 8, seed=13))
    x = rand(6, 1, 8, 8, seed=14)
    out = snn.logits_over_time(x, [3, 10, 17])
    for t in (3, 10, 17):
        torch.testing.assert_close(out[t], snn(x, steps=t), rtol=0, atol=0)
        seq = x.unsqueeze(0).expand(t, *x.shape)
        with torch.no_grad():
            torch.testing.assert_close(snn.net(seq).mean(0) * snn.output_scale, out[t], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(snn(x.unsqueeze(0).expand(10, *x.shape), steps=10), out[10])  # a sequence


def test_accuracy_over_time_counts_correct_predictions():
    ann = _small_cnn()
    snn = convert(ann, rand(50, 1, 8, 8, seed=15))
    x = rand(30, 1, 8, 8, seed=16)
    logits = snn.logits_over_time(x, [4, 12])
    y = logits[12].argmax(1).clone()
    y[:7] = (y[:7] + 1) % 4  # 7 of 30 wrong at T = 12
    data = torch.utils.data.TensorDataset(x, y)
    accs = accuracy_over_time(snn, data, steps=[12, 4], batch_size=8)
    assert list(accs) == [4, 12]
    assert accs[12] == pytest.approx(23 / 30)
    assert accs[4] == pytest.approx(float((logits[4].argmax(1) == y).float().mean()))
    assert ann_accuracy(ann, data) == pytest.approx(float((ann(x).argmax(1) == y).float().mean()))


def test_mlp_conversion_and_flat_calibration():
    torch.manual_seed(3)
    ann = convertible_mlp(n_in=16, hidden=(10, 8), n_out=3).eval()
    calib = rand(100, 1, 4, 4, seed=17)
    snn = convert(ann, calib, percentile=100.0)
    assert len(snn.lambdas) == 2
    x = rand(20, 1, 4, 4, seed=18)
    out = snn(x, steps=400)
    torch.testing.assert_close(out, ann(x), rtol=0, atol=0.05)


# --- bad input -------------------------------------------------------------------------------------------
def test_bad_calibration_is_refused_with_the_expected_shape():
    ann = _small_cnn()
    with pytest.raises(
        ValueError,
        match=r"calibration must be images \[N, 1, H, W\] for the first Conv2d .* got shape \(5, 3, 8, 8\)",
    ):
        convert(ann, torch.rand(5, 3, 8, 8))
    with pytest.raises(ValueError, match=r"calibration must be images \[N, 1, H, W\] .* got shape \(5, 64\)"):
        convert(ann, torch.rand(5, 64))
    with pytest.raises(
        ValueError,
        match=r"calibration must be a batch of inputs \[N, \.\.\.\] with N >= 1, got shape \(0, 1, 8, 8\)",
    ):
        convert(ann, torch.rand(0, 1, 8, 8))
    with pytest.raises(TypeError, match=r"calibration must hold float inputs, got torch\.int64"):
        convert(ann, torch.ones(5, 1, 8, 8, dtype=torch.long))
    nan = torch.rand(5, 1, 8, 8)
    nan[2, 0, 3, 4] = float("nan")
    with pytest.raises(ValueError, match=r"calibration must be finite, got 1 NaN and 0 infinite value\(s\)"):
        convert(ann, nan)
    with pytest.raises(TypeError, match=r"calibration must be a torch\.Tensor, got list"):
        convert(ann, [[0.0]])
    mlp = convertible_mlp(n_in=16, hidden=(4,), n_out=2)
    with pytest.raises(
        ValueError,
        match=r"calibration must be inputs \[N, \.\.\.\] with 16 values each .* got shape \(3, 15\)",
    ):
        convert(mlp, torch.rand(3, 15))
    bare = nn.Sequential(nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))
    with pytest.raises(
        ValueError, match=r"calibration must be \[N, 6\] for the first Linear, got shape \(3, 1, 6\)"
    ):
        convert(bare, torch.rand(3, 1, 6))


def test_bad_networks_and_options_are_refused():
    calib = torch.rand(4, 1, 8, 8)
    maxpool = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(18, 2))
    with pytest.raises(ValueError, match=r"layer '2' is MaxPool2d; max pooling of spikes over-estimates"):
        convert(maxpool, calib)
    sigmoid = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sigmoid())
    with pytest.raises(
        ValueError, match=r"layer '1' is Sigmoid, which has no spiking counterpart here; accepted"
    ):
        convert(sigmoid, calib)
    relu_first = nn.Sequential(nn.ReLU(), nn.Flatten(), nn.Linear(64, 2))
    with pytest.raises(ValueError, match=r"ReLU '0' must follow a Conv2d or Linear layer"):
        convert(relu_first, calib)
    with pytest.raises(TypeError, match=r"ann must be an nn\.Sequential .* got SeedANN"):
        convert(sk.models.SeedANN(n_in=64), calib)
    ann = _small_cnn()
    for bad in (0.0, 100.5, float("nan")):
        with pytest.raises(ValueError, match=r"percentile must lie in \(0, 100\]"):
            convert(ann, calib, percentile=bad)
    snn = convert(ann, calib)
    with pytest.raises(ValueError, match=r"ConvertedSNN: steps must be an int >= 1, got 0"):
        snn(calib, steps=0)
    with pytest.raises(ValueError, match=r"steps \(each T\) must be an int >= 1, got -5"):
        accuracy_over_time(
            snn, torch.utils.data.TensorDataset(calib, torch.zeros(4, dtype=torch.long)), [8, -5]
        )
    with pytest.raises(ValueError, match=r"steps must be an int >= 1 or a non-empty list of them, got \[\]"):
        check_steps([])
    with pytest.raises(
        ValueError, match=r"images must be static inputs with 4 dims \[B, \.\.\.\] or a sequence"
    ):
        snn(torch.rand(8, 64))
    with pytest.raises(ValueError, match=r"a sequence of 3 steps cannot give T = 5"):
        snn(torch.rand(3, 2, 1, 8, 8), steps=5)
    with pytest.raises(ValueError, match=r"ConvertedSNN: steps must be an int >= 1, got 0"):
        ConvertedSNN(nn.Sequential(nn.Linear(2, 2)), steps=0)


# --- the command ---------------------------------------------------------------------------------------
def test_run_convert_on_the_embedded_digits(tmp_path, capsys):
    pytest.importorskip("sklearn", reason="scikit-learn (the embedded digits) is not installed")
    out = tmp_path / "convert.json"
    run_convert(
        dataset="digits",
        ann="mlp",
        epochs=1,
        steps=(8, 32),
        calibration_size=200,
        test_limit=120,
        progress=False,
        json_path=str(out),
        save_ann=str(tmp_path / "ann.pt"),
    )
    text = capsys.readouterr().out
    assert "network  T   test acc %  vs ANN (pp)" in text and "SNN      32" in text
    saved = json.loads(out.read_text())
    assert saved["snn_acc"].keys() == {"8", "32"} and saved["test_size"] == 120
    assert saved["ann_acc"] > 0.3 and all(0 <= a <= 1 for a in saved["snn_acc"].values())
    ckpt = str(tmp_path / "ann.pt")
    again = run_convert(
        dataset="digits", ann="mlp", ann_checkpoint=ckpt, steps=(32,), calibration_size=200, test_limit=120,
        progress=False,
    )  # fmt: skip
    assert again["ann_acc"] == saved["ann_acc"] and again["snn_acc"]["32"] == saved["snn_acc"]["32"]
    with pytest.raises(ValueError, match=r"ann must be one of 'cnn', 'mlp'; got 'vgg'"):
        run_convert(dataset="digits", ann="vgg")
    assert math.isfinite(saved["lambdas"][0])


# ------------------------------------------------------------------- bad input (issue 14)
def test_bad_models_calibration_and_steps_are_refused_clearly():
    from spikekit.convert import MAX_STEPS

    x = torch.rand(8, 4)
    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    with pytest.raises(ValueError, match=r"ann has no Conv2d or Linear layer \(it has Flatten\)"):
        convert(nn.Sequential(nn.Flatten()), x)
    with pytest.raises(ValueError, match=r"has no Conv2d or Linear layer \(it has no layers at all\)"):
        convert(nn.Sequential(), x)
    with pytest.raises(ValueError, match=r"layer '2' \(Linear\)"):
        convert(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(9, 3)), x)
    bad = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    with torch.no_grad():
        bad[2].weight[0, 0] = float("nan")
    with pytest.raises(
        ValueError, match=r"layer '2' \(Linear\) has 1 NaN or infinite value\(s\) in its weight"
    ):
        convert(bad, x)
    with pytest.raises(ValueError, match=r"steps must be at most 2\*\*24"):
        convert(mlp, x, steps=MAX_STEPS + 1)
    with pytest.raises(TypeError, match=r"percentile must be a number in \(0, 100\], got str"):
        convert(mlp, x, percentile="99")
    snn = convert(mlp, x, steps=4)
    with pytest.raises(ValueError, match=r"images of shape \(2, 7\) does not fit the network"):
        snn(torch.rand(2, 7))
    with pytest.raises(ValueError, match=r"steps must be at most 2\*\*24"):
        ConvertedSNN(nn.Sequential(), steps=2**25)
    empty = torch.utils.data.TensorDataset(torch.rand(0, 4), torch.zeros(0, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"dataset must hold at least one sample"):
        accuracy_over_time(snn, empty, steps=(2,))
    with pytest.raises(TypeError, match=r"fold_batchnorm: model must be an nn.Module, got str"):
        fold_batchnorm("net")
