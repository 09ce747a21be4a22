"""Nothing unsafe, nothing silent (issue 14): files are loaded with ``weights_only=True`` only (checked in the
source and against a malicious pickle given to every loader), every write is atomic and never follows a
planted link, checkpoints carry a SHA-256 that catches any flipped byte, and a run killed with SIGKILL at
random times resumes to the weights of an uninterrupted run."""

from __future__ import annotations

import ast
import io
import os
import pathlib
import pickle
import sys
from pathlib import Path

import pytest
import torch

from spikekit import _io
from spikekit import train as T
from spikekit.cli import main
from spikekit.models import model_from_checkpoint

SRC = Path(__file__).resolve().parents[1] / "src" / "spikekit"
ROOT = Path(__file__).resolve().parents[1]


def test_every_torch_load_in_the_source_passes_weights_only_true():
    calls = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "torch"
            ):
                kw = {k.arg: k.value for k in node.keywords}
                ok = isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True
                calls.append((f"{path.relative_to(SRC)}:{node.lineno}", ok))
    assert calls, "the scan found no torch.load at all"
    assert [c for c, ok in calls if not ok] == []


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def _evil_files(tmp: Path) -> list[Path]:
    marker = tmp / "PWNED"
    raw = tmp / "evil-pickle.pt"
    raw.write_bytes(pickle.dumps({"model": _Evil(marker), "epoch": 1, "config": {}}, protocol=2))
    buf = io.BytesIO()
    torch.save({"model": _Evil(marker), "epoch": 1, "config": {}, "spikekit_sha256": "0"}, buf)
    zipped = tmp / "evil-zip.pt"
    zipped.write_bytes(buf.getvalue())
    return [raw, zipped]


LOADERS = {
    "train.load_checkpoint": lambda p, tmp: T.load_checkpoint(p),
    "_io.load_checkpoint": lambda p, tmp: _io.load_checkpoint(p),
    "model_from_checkpoint": lambda p, tmp: model_from_checkpoint(T.load_checkpoint(p)),
}
COMMANDS = {
    "train --resume": lambda p, tmp: [
        "train",
        "--model",
        "seed-ann",
        "--epochs",
        "1",
        "--resume",
        "--out",
        str(p.parent),
    ],
    "stdp --resume": lambda p, tmp: [
        "stdp",
        "--neurons",
        "5",
        "--dataset",
        "digits",
        "--train-limit",
        "10",
        "--test-limit",
        "5",
        "--no-plots",
        "--no-progress",
        "--resume",
        "--out",
        str(p.parent),
    ],  # fmt: skip
    "report": lambda p, tmp: ["report", "--checkpoint", str(p), "--out", str(tmp / "r.html")],
    "plot model": lambda p, tmp: ["plot", "model", "--checkpoint", str(p), "--out", str(tmp / "plots")],
    "export-nir": lambda p, tmp: ["export-nir", "--checkpoint", str(p), "--out", str(tmp / "m.nir")],
    "stdp-window --checkpoint": lambda p, tmp: ["stdp-window", "--checkpoint", str(p)],
    "convert --ann-checkpoint": lambda p, tmp: [
        "convert",
        "--ann",
        "mlp",
        "--ann-checkpoint",
        str(p),
        "--train-limit",
        "32",
        "--test-limit",
        "16",
        "--steps",
        "4",
    ],  # fmt: skip
}


@pytest.mark.parametrize("loader", LOADERS)
def test_a_malicious_pickle_is_refused_by_every_loading_function(loader, tmp_path):
    for evil in _evil_files(tmp_path):
        with pytest.raises(_io.CheckpointError, match="refused: it holds objects other than tensors"):
            LOADERS[loader](evil, tmp_path)
        assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_malicious_pickle_is_refused_by_every_command(command, tmp_path, capsys):
    for evil in _evil_files(tmp_path):
        run = tmp_path / "run"
        run.mkdir(exist_ok=True)
        (run / "checkpoint.pt").write_bytes(evil.read_bytes())
        target = run / "checkpoint.pt" if command in ("train --resume", "stdp --resume") else evil
        assert main(COMMANDS[command](target, tmp_path)) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("error: checkpoint ") and "refused" in err[-1], err
        assert not (tmp_path / "PWNED").exists()


def _checkpoint(tmp: Path) -> Path:
    obj = {"model": {"w": torch.randn(4, 3)}, "epoch": 1, "config": {}, "history": [{"a": 1.0}]}
    return _io.save_checkpoint(obj, tmp / "c.pt")


def test_a_planted_symlink_is_replaced_never_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    for name in ("checkpoint.pt.tmp", ".checkpoint.pt.tmp", "checkpoint.pt", "metrics.jsonl"):
        (out / name).symlink_to(victim)
    train, test = _tiny()
    T.fit(_model(), train, test, T.TrainConfig(epochs=1, batch_size=16), out_dir=out, progress=False)
    assert victim.read_text() == "precious\n"
    assert not (out / "checkpoint.pt").is_symlink() and T.load_checkpoint(out / "checkpoint.pt")["epoch"] == 1
    assert not list(out.glob(".checkpoint.pt.*.tmp*")), "no temporary file left behind"
    link = tmp_path / "fig.png"
    link.symlink_to(victim)
    from spikekit.plot import _figure

    fig = _figure.figure(1, 1)
    _figure.save(fig, link)
    assert victim.read_text() == "precious\n" and link.read_bytes()[:4] == b"\x89PNG"


def test_atomic_open_keeps_the_old_file_when_the_write_fails(tmp_path):
    p = tmp_path / "a.json"
    _io.atomic_write_text(p, "old")
    with pytest.raises(RuntimeError), _io.atomic_open(p, "w", durable=False) as f:
        f.write("half")
        raise RuntimeError("crash")
    assert p.read_text() == "old" and [x.name for x in tmp_path.iterdir()] == ["a.json"]
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        _io.atomic_write_text(p / "x.json", "{}")
    with pytest.raises(IsADirectoryError):
        _io.atomic_write_text(tmp_path, "{}")


def test_every_flipped_byte_and_every_truncation_of_a_checkpoint_is_refused(tmp_path):
    path = _checkpoint(tmp_path)
    good = path.read_bytes()
    assert torch.load(path, weights_only=True)["epoch"] == 1  # still a plain torch.save file
    assert _io.load_checkpoint(path)["epoch"] == 1
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0xFF
        path.write_bytes(bytes(bad))
        with pytest.raises(_io.CheckpointError, match=str(path)):
            _io.load_checkpoint(path)
    for n in range(0, len(good), 37):
        path.write_bytes(good[:n])
        with pytest.raises(_io.CheckpointError, match=str(path)):
            _io.load_checkpoint(path)
    path.write_bytes(good)
    bad = bytearray(good)
    bad[len(good) // 2] ^= 1
    path.write_bytes(bytes(bad))
    with pytest.raises(_io.CheckpointError, match="is corrupt: its SHA-256 does not match"):
        _io.load_checkpoint(path)


def test_a_checkpoint_without_a_digest_still_loads(tmp_path):
    """Files written before the digest (a plain torch.save) load, with weights_only=True."""
    p = tmp_path / "old.pt"
    torch.save({"model": {"w": torch.ones(2)}, "epoch": 1, "config": {}, "history": [{}]}, p)
    assert T.load_checkpoint(p)["epoch"] == 1


def test_a_negative_epoch_or_inconsistent_checkpoint_is_refused(tmp_path):
    for change, match in (
        ({"epoch": -1}, "epoch must be an int >= 0"),
        ({"epoch": 5}, "epoch 5 but a history of 1"),
        ({"model": "x"}, "'model' is not a state dict"),
    ):
        obj = {"model": {"w": torch.randn(2)}, "epoch": 1, "config": {}, "history": [{}], **change}
        with pytest.raises(T.CheckpointError, match=match):
            T.load_checkpoint(_io.save_checkpoint(obj, tmp_path / "c.pt"))


def _tiny():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 1, 4, 4, generator=g), torch.randint(0, 3, (64,), generator=g)
    ds = torch.utils.data.TensorDataset(x, y)
    return ds, ds


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))


def test_diverging_training_stops_with_a_clear_error_naming_epoch_and_step():
    train, test = _tiny()
    model = _model()
    with torch.no_grad():
        model[1].weight.fill_(float("inf"))
    with pytest.raises(T.TrainingDiverged, match=r"in epoch 1, step 1; lower the learning rate"):
        T.fit(model, train, test, T.TrainConfig(epochs=1, batch_size=16), progress=False)


def test_cli_errors_are_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    assert main(["report", "--checkpoint", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: checkpoint ") and "Traceback" not in err
    with pytest.raises(T.CheckpointError):
        main(["report", "--checkpoint", str(bad), "--debug"])
    assert main(["bench", "--repeats", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: argument --repeats: expected an integer >= 1, got 0")


def test_out_holding_a_run_is_refused_unless_resume_or_overwrite(tmp_path, capsys):
    args = ["train", "--model", "seed-ann", "--epochs", "1", "--train-limit", "64", "--test-limit", "32"]
    args += ["--no-progress", "--out", str(tmp_path)]
    assert main(args) == 0
    before = (tmp_path / "checkpoint.pt").read_bytes()
    assert main(args) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    assert main([*args, "--resume"]) == 0
    assert main([*args, "--overwrite"]) == 0
    assert main([*args, "--resume", "--model-arg", "hidden=7"]) == 2
    assert "other model arguments (model_kwargs" in capsys.readouterr().err


def test_kill_9_during_training_then_resume_gives_the_uninterrupted_weights(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import kill_resume
    finally:
        sys.path.pop(0)
    env_path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env_path}"
    try:
        result = kill_resume.run(
            kills=3, epochs=3, train_limit=1437, test_limit=100, root=tmp_path, log=print
        )
    finally:
        os.environ["PATH"] = env_path
    assert result["kills"] == 3
    assert result["identical_weights"], result["differing_tensors"]
    assert result["identical_history"] and result["metrics_lines"] == 3
