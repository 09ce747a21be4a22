"""One vocabulary for the ``spikekit`` command: help on every option, defaults shown, old spellings
kept, ``--version``, ``--quiet`` / ``--verbose``, logs made for files, one checkpoint format for all."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from spikekit.cli import _common, build_parser, main


def _leaves(parser: argparse.ArgumentParser, prog: str = "spikekit"):
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _leaves(sub, f"{prog} {name}")


def _options(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, (argparse._SubParsersAction, argparse._HelpAction)):
            continue
        yield action


def test_every_option_of_every_command_has_help_text():
    missing, hidden_without_twin = [], []
    for prog, parser in _leaves(build_parser()):
        visible = {a.dest for a in _options(parser) if a.help is not argparse.SUPPRESS}
        for action in _options(parser):
            if action.help is argparse.SUPPRESS:  # a deprecated spelling: a visible option stores the same
                if action.dest not in visible:
                    hidden_without_twin.append((prog, action.option_strings))
            elif not (action.help or "").strip():
                missing.append((prog, action.option_strings or [action.dest]))
    assert missing == []
    assert hidden_without_twin == []


def test_help_shows_defaults_and_examples():
    parser = build_parser()
    for prog, sub in _leaves(parser):
        if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions) and prog != "spikekit":
            continue
        assert "examples:" in (sub.epilog or ""), prog
    text = dict(_leaves(parser))["spikekit stdp-window"].format_help()
    assert "(default: 30)" in text and "--figure" not in text  # the old spelling is hidden
    text = dict(_leaves(parser))["spikekit stdp"].format_help()
    assert "--batch-size" in text and "(default: 10)" in text and "--batch " not in text


def test_version_prints_spikekit_and_torch(capsys):
    import torch

    import spikekit

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"spikekit {spikekit.__version__} (torch {torch.__version__})"


@pytest.mark.parametrize(
    "old, new, dest, value",
    [
        (["stdp", "--batch", "5"], ["stdp", "--batch-size", "5"], "batch_size", 5),
        (["report", "--checkpoint", ".", "--stdp-batch", "7"], None, "batch_size", 7),
        (["report", "--checkpoint", ".", "--eval-limit", "9"], None, "test_limit", 9),
        (["export-nir", "--checkpoint", ".", "--out", "m.nir", "--verify-batch", "3"], None, "batch_size", 3),
        (["stdp-window", "--figure", "w.png"], ["stdp-window", "--out", "w.png"], "out", "w.png"),
    ],
)
def test_old_spellings_still_work(old, new, dest, value):
    parser = build_parser()
    assert getattr(parser.parse_args(old), dest) == value
    if new is not None:
        assert getattr(parser.parse_args(new), dest) == value


def test_quiet_and_verbose_before_or_after_the_command(capsys):
    parser = build_parser()
    for argv in (["-q", "stdp-window"], ["stdp-window", "--quiet"]):
        args = parser.parse_args(argv)
        assert _common.verbosity(args) == 0 and _common.show_progress(args) is False
    args = parser.parse_args(["train", "--model", "spiking-mlp", "-v"])
    assert _common.fit_logging(args)["log_every"] == 1
    args = parser.parse_args(["train", "--model", "spiking-mlp", "--log-every", "4"])
    assert _common.fit_logging(args)["log_every"] == 4 and _common.show_progress(args) is None
    assert main(["-q", "train", "--model", "spiking-mlp", "--verbose"]) == 2
    assert "--quiet and --verbose exclude each other" in capsys.readouterr().err


def test_epochs_alone_stretches_a_per_epoch_schedule(capsys):
    assert _common.stretch_schedule((0.1, 0.05, 0.01), 1) == (0.1,)
    assert _common.stretch_schedule((0.1, 0.05, 0.01), 6) == (0.1, 0.1, 0.05, 0.05, 0.01, 0.01)
    args = build_parser().parse_args(["compare", "--dataset", "mnist", "--epochs", "1", "--preset", "seed"])
    _, cfg = _common.config(args, "seed-snn", (1, 28, 28), 0)
    assert cfg.epochs == 1 and cfg.lr == (0.1,) and cfg.schedule == "per-epoch"
    assert "stretches the per-epoch learning rates 0.1, 0.05, 0.01 to 0.1" in capsys.readouterr().out
    args = build_parser().parse_args(["compare", "--epochs", "2", "--preset", "seed", "--lr", "0.3", "0.2"])
    assert _common.config(args, "seed-snn", (1, 28, 28), 0)[1].lr == (0.3, 0.2)  # explicit rates win


def test_batchnorm_hint_when_few_batches_per_epoch(capsys):
    from spikekit.models import build_model
    from spikekit.train import TrainConfig

    args = build_parser().parse_args(["train", "--model", "spiking-cnn"])
    cnn = build_model("spiking-cnn", (1, 8, 8), 10, steps=2)
    assert _common.batchnorm_hint(args, "spiking-cnn", cnn, 300, TrainConfig(epochs=2, batch_size=32))
    assert "BatchNorm" in capsys.readouterr().err
    assert not _common.batchnorm_hint(args, "spiking-cnn", cnn, 60_000, TrainConfig(batch_size=32))
    # the embedded digits' recipe: 45 batches per epoch, but 15 epochs
    assert not _common.batchnorm_hint(args, "spiking-cnn", cnn, 1437, TrainConfig(epochs=15, batch_size=32))
    mlp = build_model("spiking-mlp", (1, 8, 8), 10, steps=2)
    assert not _common.batchnorm_hint(args, "spiking-mlp", mlp, 300, TrainConfig(batch_size=32))


def test_a_log_file_gets_one_line_per_epoch_and_no_carriage_returns(tmp_path):
    argv = ["train", "--model", "spiking-mlp", "--epochs", "2", "--steps", "3", "--train-limit", "200"]
    argv += ["--test-limit", "50", "--log-every", "3"]
    code = f"import sys; from spikekit.cli import main; sys.exit(main({argv!r}))"
    with open(tmp_path / "log", "w") as log:  # stderr is a file: no bars
        subprocess.run([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT, check=True)
    text = (tmp_path / "log").read_text()
    assert "\r" not in text
    assert "epoch 1/2: train loss" in text and "epoch 2/2: train loss" in text and ", lr " in text
    assert "epoch 1/2 batch 3/7: train loss" in text
    assert len(text) < 3000


def test_a_model_trained_by_fit_is_read_by_every_command(tmp_path, capsys):
    import torch

    import spikekit as sk

    train, test = sk.data.load("digits", train_limit=96, test_limit=40)
    torch.manual_seed(0)
    model = sk.models.SpikingMLP(n_in=64, hidden=(16,), n_out=10, steps=3, reset="zero")
    cfg = sk.train.TrainConfig(epochs=1, batch_size=32)
    lines: list[str] = []
    sk.train.fit(model, train, test, cfg, out_dir=tmp_path / "run", progress=False, log=lines.append)
    assert len(lines) == 1 and lines[0].startswith("epoch 1/1: train loss")
    ckpt = tmp_path / "run" / "checkpoint.pt"

    again = sk.models.load(tmp_path / "run")
    assert type(again) is sk.models.SpikingMLP and not again.training
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a.cpu(), b)
    assert again.init_config == model.init_config

    report = tmp_path / "report.html"
    argv = ["report", "--checkpoint", str(ckpt), "--out", str(report), "--test-limit", "20"]
    assert main([*argv, "--batch-size", "8"]) == 0
    assert report.read_text().startswith("<!DOCTYPE html>") or report.stat().st_size > 1000
    argv = ["plot", "model", "--checkpoint", str(tmp_path / "run"), "--out", str(tmp_path / "p")]
    assert main([*argv, "--no-gif"]) == 0
    assert (tmp_path / "p" / "heatmaps.png").is_file()
    js = tmp_path / "nir.json"
    argv = ["export-nir", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.nir"), "--json", str(js)]
    assert main(argv) == 0
    assert json.loads(js.read_text())["model"] == "SpikingMLP"
    assert main(["stdp-window", "--checkpoint", str(ckpt), "--batch-size", "8"]) == 0
    assert "out -> out_lif" in capsys.readouterr().out


def test_load_refuses_what_it_cannot_rebuild(tmp_path):
    import torch

    import spikekit as sk
    from spikekit._io import save_checkpoint

    train, _ = sk.data.load("digits", train_limit=32, test_limit=8)
    own = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    sk.train.fit(own, train, None, sk.train.TrainConfig(epochs=1), out_dir=tmp_path / "own", log=False)
    with pytest.raises(ValueError, match="does not say how to rebuild its model"):
        sk.models.load(tmp_path / "own")
    save_checkpoint(own.state_dict(), tmp_path / "bare.pt")
    with pytest.raises(ValueError, match="bare state dict"):
        sk.models.load(tmp_path / "bare.pt")


def test_models_remember_their_constructor_arguments():
    import spikekit as sk

    m = sk.models.SpikingMLP(n_in=64, hidden=[32], n_out=10, surrogate=sk.surrogate.atan(alpha=3.0))
    assert m.init_config == {
        "class": "SpikingMLP",
        "kwargs": {"n_in": 64, "hidden": [32], "n_out": 10, "surrogate": {"surrogate": "atan", "alpha": 3.0}},
    }
    by_name = sk.models.build_model("spiking-cnn", (1, 8, 8), 10, steps=2)
    assert by_name.init_config["class"] == "SpikingCNN" and by_name.init_config["kwargs"]["image_size"] == 8

    class Mine(sk.models.SpikingMLP):  # a subclass of its own: saved, but not rebuilt by name
        pass

    assert Mine(n_in=4, n_out=2).init_config is None


def test_recipes_for_the_generated_temporal_tasks_and_a_clear_error_for_missing_ones():
    from spikekit.cli.recipes import recipe

    kwargs, cfg = recipe("spiking-mlp", (4,), dataset="yin-yang")
    assert kwargs["hidden"] == (64,) and cfg.epochs == 30
    kwargs, cfg = recipe("spiking-rnn", (32,), events=False, dataset="store_recall")
    assert kwargs == {"hidden": 100} and cfg.epochs == 50
    with pytest.raises(ValueError, match=r"model 'spiking-rnn' has no recipe for the 'randman' dataset"):
        recipe("spiking-rnn", (20,), dataset="randman")
    with pytest.raises(ValueError, match=r"unknown model 'resnet'"):
        recipe("resnet", (1, 28, 28))
