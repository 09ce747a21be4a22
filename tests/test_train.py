"""Trainer: exact resume, atomic checkpoints, metrics, weights-only loading, bad hyperparameters."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

import spikekit as sk
from spikekit import train as T
from spikekit.data import ImageDataset


def tiny_data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.rand(n, 1, 4, 4, generator=g) * 0.3
    x[torch.arange(n), 0, y, y] = 1.0  # a learnable pattern
    return ImageDataset(x[: n * 3 // 4], y[: n * 3 // 4]), ImageDataset(x[n * 3 // 4 :], y[n * 3 // 4 :])


def make_model():
    torch.manual_seed(0)
    # poisson encoding: the run consumes the global RNG, so resume must restore it
    return sk.models.SpikingMLP(n_in=16, hidden=(12,), n_out=3, steps=4, encoder="poisson")


CFG = T.TrainConfig(epochs=3, batch_size=16, optimizer="sgd", lr=0.2, momentum=0.9, seed=3)


def test_learns_and_writes_metrics(tmp_path):
    train, test = tiny_data()
    result = T.fit(make_model(), train, test, CFG, out_dir=tmp_path, progress=False)
    assert result.final["test_acc"] > 0.6
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert {"lr", "train_loss", "train_acc", "test_loss", "test_acc", "seconds", "rates"} <= set(rows[0])
    assert set(rows[0]["rates"]) == {"hidden.0", "out_lif"}
    assert not list(tmp_path.glob("*.tmp")), "atomic writes leave no temporary file"


def test_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    train, test = tiny_data()
    full = make_model()
    ref = T.fit(full, train, test, CFG, out_dir=tmp_path / "full", progress=False)

    real = T._train_epoch
    calls = {"n": 0}

    def crash_in_third_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(T, "_train_epoch", crash_in_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        T.fit(make_model(), train, test, CFG, out_dir=tmp_path / "cut", progress=False)
    assert T.load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["epoch"] == 2
    monkeypatch.setattr(T, "_train_epoch", real)

    torch.manual_seed(12345)  # whatever the caller's RNG, resume restores the saved one
    resumed = make_model()
    out = T.fit(resumed, train, test, CFG, out_dir=tmp_path / "cut", resume=True, progress=False)
    for (name, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    for key in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
        assert [h[key] for h in out.history] == [h[key] for h in ref.history], key
    assert len((tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()) == 3


def test_seed_preset_uses_a_fresh_optimizer_each_epoch_and_resumes(tmp_path, monkeypatch):
    cfg = T.PRESETS["seed"]
    assert cfg.lr == (0.1, 0.05, 0.01) and cfg.momentum == 0.5 and cfg.batch_size == 1000
    assert [cfg.lr_at(e) for e in range(3)] == [0.1, 0.05, 0.01]
    small = T.TrainConfig(**{**cfg.to_dict(), "batch_size": 16})
    train, test = tiny_data()
    full = make_model()
    T.fit(full, train, test, small, out_dir=tmp_path / "a", progress=False)
    real = T._train_epoch
    calls = {"n": 0}

    def crash(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(T, "_train_epoch", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        T.fit(make_model(), train, test, small, out_dir=tmp_path / "b", progress=False)
    monkeypatch.setattr(T, "_train_epoch", real)
    resumed = make_model()
    T.fit(resumed, train, test, small, out_dir=tmp_path / "b", resume=True, progress=False)
    for a, b in zip(full.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)


def test_checkpoints_load_with_weights_only(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("code ran",))

    bad = tmp_path / "evil.pt"
    with open(bad, "wb") as f:
        pickle.dump({"model": Evil(), "epoch": 1, "config": {}}, f, protocol=2)
    with pytest.raises(T.CheckpointError, match="was refused: it holds objects other than tensors"):
        T.load_checkpoint(bad)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        T.load_checkpoint(tmp_path / "missing.pt")


def test_resume_refuses_a_different_configuration(tmp_path):
    train, test = tiny_data()
    T.fit(make_model(), train, test, CFG, out_dir=tmp_path, progress=False)
    other = T.TrainConfig(**{**CFG.to_dict(), "lr": 0.5})
    with pytest.raises(ValueError, match="resume: the checkpoint was trained with"):
        T.fit(make_model(), train, test, other, out_dir=tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match="resume=True needs out_dir"):
        T.fit(make_model(), train, test, CFG, resume=True, progress=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": -0.1}, r"lr must be a positive finite number, got -0.1"),
        ({"epochs": 0}, r"epochs must be an int >= 1, got 0"),
        ({"batch_size": 0}, r"batch_size must be an int >= 1, got 0"),
        ({"optimizer": "lbfgs"}, r"optimizer must be one of 'sgd', 'adam', 'adamw'; got 'lbfgs'"),
        ({"schedule": "per-epoch", "lr": (0.1, 0.2)}, r"needs one lr per epoch"),
        ({"momentum": 1.0}, r"momentum must lie in \[0, 1\)"),
        ({"weight_decay": -1.0}, r"weight_decay must be >= 0"),
    ],
)
def test_bad_hyperparameters_fail_before_any_work(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        T.TrainConfig(**kwargs)


def test_evaluate_counts_and_rates():
    train, test = tiny_data()
    model = make_model()
    ev = T.evaluate(model, test, batch_size=7)
    assert 0 <= ev["acc"] <= 1 and ev["loss"] > 0
    assert all(0 <= r <= 1 for r in ev["rates"].values())
    with pytest.raises(TypeError, match="dataset must hold"):
        T.evaluate(model, [1, 2, 3])


def test_logs_one_line_per_epoch_and_batch_lines_without_a_bar(capsys):
    import spikekit as sk

    train, test = sk.data.load("digits", train_limit=96, test_limit=32)
    model = sk.models.SpikingMLP(n_in=64, hidden=(8,), n_out=10, steps=2)
    lines: list[str] = []
    cfg = T.TrainConfig(epochs=2, batch_size=32)
    T.fit(model, train, test, cfg, log=lines.append, log_every=2)
    assert [line.split(":")[0] for line in lines] == [
        "epoch 1/2 batch 2/3",
        "epoch 1/2",
        "epoch 2/2 batch 2/3",
        "epoch 2/2",
    ]
    assert "test loss" in lines[1] and "lr 0.001" in lines[1]
    T.fit(model, train, None, cfg)  # the default: lines on stderr, a bar only on a terminal (not here)
    err = capsys.readouterr().err
    assert "\r" not in err and err.count("epoch ") == 2 and "test loss" not in err
    T.fit(model, train, None, cfg, log=False)
    assert capsys.readouterr().err == ""
    with pytest.raises(TypeError, match="log must be"):
        T.fit(model, train, None, cfg, log="yes")


def test_fit_checkpoints_say_how_to_rebuild_the_model(tmp_path):
    import spikekit as sk

    train, _ = sk.data.load("digits", train_limit=64, test_limit=8)
    model = sk.models.build_model("spiking-cnn", (1, 8, 8), 10, steps=2)
    T.fit(model, train, None, T.TrainConfig(epochs=1, batch_size=32), out_dir=tmp_path, log=False)
    extra = T.load_checkpoint(tmp_path / "checkpoint.pt")["extra"]
    assert extra["init_config"]["class"] == "SpikingCNN" and extra["dataset"] == "digits"
    assert extra["input_shape"] == [1, 8, 8] and extra["num_classes"] == 10
    again = sk.models.load(tmp_path / "checkpoint.pt")
    assert type(again).__name__ == "SpikingCNN" and not again.training
