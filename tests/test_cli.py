"""The spikekit command, end to end on the embedded digits (small and fast)."""

from __future__ import annotations

import json

from spikekit._io import format_table
from spikekit.cli import main


def test_train_writes_checkpoint_metrics_and_json_then_resumes(tmp_path, capsys):
    out, js = tmp_path / "run", tmp_path / "r.json"
    args = [
        "train",
        "--model",
        "spiking-mlp",
        "--dataset",
        "digits",
        "--epochs",
        "2",
        "--steps",
        "4",
        "--train-limit",
        "300",
        "--test-limit",
        "100",
        "--no-progress",
        "--out",
        str(out),
        "--json",
        str(js),
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "spiking-mlp on digits: test accuracy" in text
    row = json.loads(js.read_text())
    assert row["epochs"] == 2 and 0 <= row["test_acc"] <= 1 and len(row["history"]) == 2
    assert (out / "checkpoint.pt").is_file() and len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert main(args[:-2] + ["--epochs", "3", "--resume"]) == 0  # continue for one more epoch
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3


def test_compare_table_and_json(tmp_path, capsys):
    js = tmp_path / "cmp.json"
    assert (
        main(
            [
                "compare",
                "--models",
                "seed-ann,spiking-mlp",
                "--seeds",
                "0,1",
                "--epochs",
                "1",
                "--steps",
                "3",
                "--train-limit",
                "200",
                "--test-limit",
                "50",
                "--no-progress",
                "--json",
                str(js),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "model" in text and "seed-ann" in text and "±" in text and "firing rate per layer" in text
    data = json.loads(js.read_text())
    assert [s["model"] for s in data["summary"]] == ["seed-ann", "spiking-mlp"]
    assert len(data["runs"]) == 4


def test_unknown_model_and_bad_hyperparameters_give_clear_errors(capsys):
    assert main(["compare", "--models", "resnet", "--no-progress"]) == 2
    assert "error: unknown model(s) ['resnet']; valid models: seed-snn" in capsys.readouterr().err
    assert main(["train", "--model", "spiking-mlp", "--lr", "-1", "--no-progress"]) == 2  # while parsing
    assert "argument --lr: expected a learning rate in (0, 10]" in capsys.readouterr().err
    assert main(["train", "--model", "spiking-mlp", "--dataset", "cifar10", "--no-progress"]) == 2
    assert "unknown dataset 'cifar10'" in capsys.readouterr().err


def test_format_table_aligns_columns():
    assert format_table(["a", "bb"], [[1, 2], [333, 4]]).splitlines() == [
        "a    bb",
        "---  --",
        "1    2",
        "333  4",
    ]


def test_plot_and_network_stdp_window_from_a_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--model",
                "seed-snn",
                "--dataset",
                "digits",
                "--epochs",
                "1",
                "--steps",
                "8",
                "--train-limit",
                "200",
                "--test-limit",
                "40",
                "--no-progress",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    ckpt = str(run / "checkpoint.pt")
    assert (
        main(["plot", "model", "--checkpoint", ckpt, "--index", "2", "--out", str(tmp_path / "plots")]) == 0
    )
    for name in (
        "heatmaps.png",
        "raster.png",
        "neuron.png",
        "rates.png",
        "receptive_fields.png",
        "curves.png",
    ):
        assert (tmp_path / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert (tmp_path / "plots" / "activity.gif").read_bytes()[:6] == b"GIF89a"
    js = tmp_path / "w.json"
    fig = tmp_path / "w.png"
    assert (
        main(
            [
                "stdp-window",
                "--checkpoint",
                ckpt,
                "--batch-size",
                "16",
                "--json",
                str(js),
                "--figure",
                str(fig),
            ]
        )
        == 0
    )
    assert "fc1 -> lif1" in capsys.readouterr().out and js.is_file()
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        main(["plot", "model", "--checkpoint", ckpt, "--index", "100000", "--out", str(tmp_path / "p2")]) == 2
    )
    assert "--index must lie in [0, 359]" in capsys.readouterr().err


def test_controlled_stdp_window_table(tmp_path, capsys):
    js = tmp_path / "c.json"
    assert (
        main(
            [
                "stdp-window",
                "--neurons",
                "LIF",
                "--surrogates",
                "atan",
                "--losses",
                "post",
                "--remedies",
                "",
                "--max-dt",
                "8",
                "--steps-after",
                "10",
                "--no-progress",
                "--json",
                str(js),
                "--figure",
                str(tmp_path / "c.png"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "LIF" in out and "atan" in out and js.is_file()
    assert "Conclusion: No setting of the 1 produces a depression lobe." in out  # drawn from the rows
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the figure's option is --out now, as in every command; --figure (above) still works
    argv = ["stdp-window", "--neurons", "LIF", "--surrogates", "atan", "--losses", "post", "--remedies", ""]
    assert main([*argv, "--max-dt", "8", "--steps-after", "10", "--out", str(tmp_path / "d.png"), "-q"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "d.png").is_file() and "wrote" not in out and "Conclusion:" in out


def test_convert_and_export_nir_commands(tmp_path, capsys):
    js = tmp_path / "conv.json"
    assert (
        main(
            [
                "convert",
                "--dataset",
                "digits",
                "--ann",
                "mlp",
                "--epochs",
                "1",
                "--steps",
                "8,16",
                "--train-limit",
                "300",
                "--test-limit",
                "60",
                "--no-progress",
                "--json",
                str(js),
            ]
        )
        == 0
    )
    assert "SNN" in capsys.readouterr().out and js.is_file()
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--model",
                "spiking-mlp",
                "--dataset",
                "digits",
                "--epochs",
                "1",
                "--steps",
                "4",
                "--train-limit",
                "100",
                "--test-limit",
                "20",
                "--model-arg",
                "reset=zero",
                "--no-progress",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    assert (
        main(["export-nir", "--checkpoint", str(run / "checkpoint.pt"), "--out", str(tmp_path / "m.nir")])
        == 0
    )
    assert (tmp_path / "m.nir").stat().st_size > 0
    # the default resets by subtraction, which NIR cannot express: refused, not exported as something else
    run2 = tmp_path / "run2"
    assert (
        main(
            [
                "train",
                "--model",
                "spiking-mlp",
                "--dataset",
                "digits",
                "--epochs",
                "1",
                "--steps",
                "4",
                "--train-limit",
                "100",
                "--test-limit",
                "20",
                "--no-progress",
                "--out",
                str(run2),
            ]
        )
        == 0
    )
    assert (
        main(["export-nir", "--checkpoint", str(run2 / "checkpoint.pt"), "--out", str(tmp_path / "x.nir")])
        == 2
    )
    assert "subtract" in capsys.readouterr().err


def test_compare_epochs_alone_needs_no_lr_under_a_per_epoch_schedule(tmp_path, capsys):
    # the seed preset's 3 per-epoch rates follow --epochs 1 (0.1) instead of refusing it
    argv = ["compare", "--models", "seed-ann", "--preset", "seed", "--epochs", "1", "--batch-size", "100"]
    js = tmp_path / "c.json"
    assert main([*argv, "--train-limit", "200", "--test-limit", "50", "--json", str(js)]) == 0
    assert json.loads(js.read_text())["runs"][0]["config"]["lr"] == [0.1]
    assert "stretches the per-epoch learning rates" in capsys.readouterr().out


def test_stdp_command_trains_labels_and_reports(tmp_path, capsys):
    js = tmp_path / "stdp.json"
    assert (
        main(
            [
                "stdp",
                "--neurons",
                "10",
                "--batch-size",
                "10",
                "--dataset",
                "digits",
                "--train-limit",
                "100",
                "--test-limit",
                "40",
                "--no-plots",
                "--no-progress",
                "--json",
                str(js),
            ]
        )
        == 0
    )
    assert "accuracy_vote" in capsys.readouterr().out
    data = json.loads(js.read_text())
    assert data["neurons"] == 10 and 0 <= data["accuracy_vote"] <= 1


def test_compare_resume_reuses_finished_runs_and_continues_the_rest(tmp_path):
    out, first, second = tmp_path / "runs", tmp_path / "a.json", tmp_path / "b.json"
    base = ["compare", "--models", "spiking-mlp", "--steps", "3", "--train-limit", "200"]
    base += ["--test-limit", "50", "--no-progress", "--out", str(out)]
    assert main([*base, "--seeds", "0", "--epochs", "1", "--json", str(first)]) == 0
    # seed 0 continues from its checkpoint for a second epoch; seed 1 has none and starts fresh
    assert main([*base, "--seeds", "0,1", "--epochs", "2", "--resume", "--json", str(second)]) == 0
    a, b = json.loads(first.read_text())["runs"], json.loads(second.read_text())["runs"]
    assert [len(r["history"]) for r in b] == [2, 2]
    assert b[0]["history"][0] == a[0]["history"][0]  # epoch 1 was not retrained
    assert len((out / "spiking-mlp-seed0" / "metrics.jsonl").read_text().splitlines()) == 2


def test_demo_prints_the_comparison_table(tmp_path, capsys):
    args = ["demo", "--epochs", "1", "--steps", "3", "--train-limit", "200", "--test-limit", "50"]
    assert main([*args, "--no-progress", "--out", str(tmp_path / "runs")]) == 0
    text = capsys.readouterr().out
    for name in ("seed-snn", "seed-ann", "spiking-mlp", "test acc %", "done in"):
        assert name in text
    assert (tmp_path / "runs" / "spiking-mlp-seed0" / "checkpoint.pt").is_file()


def test_every_command_has_add_parser_and_run_and_help_imports_nothing_heavy():
    import subprocess
    import sys

    from spikekit import cli

    for command in cli.COMMANDS:
        assert callable(command.add_parser) and callable(command.run), command.__name__
    code = (
        "import sys\n"
        "from spikekit.cli import build_parser\n"
        "build_parser()\n"
        "print(sorted(m for m in ('torch', 'numpy', 'matplotlib', 'tqdm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_errors_become_exit_codes(tmp_path, capsys):
    assert main(["report", "--checkpoint", str(tmp_path / "missing.pt")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
