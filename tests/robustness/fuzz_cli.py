"""Bad inputs to every ``spikekit`` subcommand: nonsense option values, missing/empty/garbage/truncated/
corrupt/malicious files, outputs that cannot be written, a finished run re-run, a resume that does not
match its checkpoint. Each case must fail fast with one line ``error: ...`` and exit 1 or 2.

The files a case needs are made in its ``tmp``; the one real checkpoint (a tiny ``seed-ann`` run on the
embedded digits) is trained once per process (:func:`_real_checkpoint`).
"""

from __future__ import annotations

import functools
import io
import os
import pathlib
import pickle
import tempfile
from pathlib import Path

from harness import Case

CASES: list[Case] = []

# a quick run: whatever a case gets wrong, the rest of the command line would finish in seconds
QUICK = ["--epochs", "1", "--train-limit", "64", "--test-limit", "32", "--no-progress"]
BENCH = ["--quick", "--no-grid", "--no-train", "--shape", "4x2x8", "--peers", "snntorch"]
STDP = ["--neurons", "5", "--dataset", "digits", "--train-limit", "20", "--test-limit", "10", "--no-plots"]
STDP += ["--no-progress"]
WINDOW = ["--neurons", "LIF", "--surrogates", "atan", "--losses", "post", "--remedies", "", "--max-dt", "3"]
WINDOW += ["--steps-after", "5", "--no-progress"]
CONVERT = ["--ann", "mlp", "--epochs", "1", "--train-limit", "64", "--test-limit", "32", "--steps", "4"]
CONVERT += ["--calibration", "32", "--no-progress"]


def _add(name: str, argv) -> None:
    CASES.append(Case("cli", name, argv=argv))


# --- files ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _real_checkpoint() -> bytes:
    """The bytes of a real ``spikekit train --out`` checkpoint (trained once: ~2 s)."""
    from spikekit.cli import main

    with tempfile.TemporaryDirectory() as d:
        argv = ["train", "--model", "seed-ann", "--dataset", "digits", *QUICK, "--out", d]
        code = main(argv)
        assert code == 0, f"the fixture run failed: {code}"
        return (Path(d) / "checkpoint.pt").read_bytes()


def real(tmp: Path, name: str = "real.pt") -> str:
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(_real_checkpoint())
    return str(p)


def empty(tmp: Path) -> str:
    p = tmp / "empty.pt"
    p.write_bytes(b"")
    return str(p)


def garbage(tmp: Path) -> str:
    p = tmp / "garbage.pt"
    p.write_bytes(bytes(range(256)) * 7)
    return str(p)


def text(tmp: Path) -> str:
    p = tmp / "notes.txt"
    p.write_text("this is not a checkpoint\n")
    return str(p)


def truncated(tmp: Path) -> str:
    p = tmp / "truncated.pt"
    data = _real_checkpoint()
    p.write_bytes(data[: len(data) // 2])
    return str(p)


def flipped(tmp: Path) -> str:
    """The real checkpoint with one byte flipped in the middle (inside the tensor data)."""
    p = tmp / "flipped.pt"
    data = bytearray(_real_checkpoint())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    return str(p)


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def malicious(tmp: Path) -> str:
    """A pickle whose loading would create ``tmp/PWNED`` (the cases only see whether it was refused)."""
    p = tmp / "evil.pt"
    with open(p, "wb") as f:
        pickle.dump({"model": _Evil(tmp / "PWNED"), "epoch": 1, "config": {}}, f, protocol=2)
    return str(p)


def malicious_zip(tmp: Path) -> str:
    """The same in ``torch.save``'s zip container."""
    import torch

    p = tmp / "evil-zip.pt"
    buf = io.BytesIO()
    torch.save({"model": _Evil(tmp / "PWNED"), "epoch": 1, "config": {}}, buf)
    p.write_bytes(buf.getvalue())
    return str(p)


def edited(tmp: Path, **changes) -> str:
    """The real checkpoint with some top-level fields changed, re-saved the way spikekit saves them."""
    import torch

    from spikekit import _io

    src = real(tmp, "src.pt")
    try:
        ckpt = _io.load_checkpoint(src)  # type: ignore[attr-defined]
    except AttributeError:
        ckpt = torch.load(src, weights_only=True)
    ckpt.update(changes)
    p = tmp / "edited.pt"
    save = getattr(_io, "save_checkpoint", None)
    if save is not None:
        save(ckpt, p)
    else:
        torch.save(ckpt, p)
    return str(p)


def folder(tmp: Path, name: str = "folder") -> str:
    p = tmp / name
    p.mkdir(parents=True, exist_ok=True)
    return str(p)


def a_file(tmp: Path, name: str = "file.txt") -> str:
    p = tmp / name
    p.write_text("x\n")
    return str(p)


def under_file(tmp: Path, leaf: str = "out.json") -> str:
    """A path whose parent is a regular file (so it can never be written)."""
    return str(Path(a_file(tmp, "blocker")) / leaf)


def run_dir(tmp: Path) -> str:
    """A ``--out`` folder holding a finished run."""
    d = tmp / "run"
    real(d, "checkpoint.pt")
    (d / "metrics.jsonl").write_text("{}\n")
    return str(d)


def bad_mnist(tmp: Path) -> str:
    """A folder with MNIST-like files of the wrong names and contents."""
    d = tmp / "mnist"
    d.mkdir()
    for name in ("train-images.gz", "train-labels.gz", "t10k-images", "labels.idx"):
        (d / name).write_bytes(b"\x00\x01garbage")
    return str(d)


LOADERS = {
    "missing": lambda tmp: str(tmp / "missing.pt"),
    "empty": empty,
    "garbage": garbage,
    "text": text,
    "truncated": truncated,
    "flipped byte": flipped,
    "malicious pickle": malicious,
    "malicious torch.save": malicious_zip,
    "a folder": folder,
    "negative epoch": lambda tmp: edited(tmp, epoch=-1),
    "no model": lambda tmp: edited(tmp, model="not a state dict"),
}

# --- global --------------------------------------------------------------------------------------------
_add("no command", lambda tmp: [])
_add("unknown command", lambda tmp: ["frobnicate"])
_add("unknown option", lambda tmp: ["train", "--model", "seed-ann", "--frobnicate"])

# --- demo, train, compare: shared training options -----------------------------------------------------
BAD_TRAIN_OPTIONS = {
    "epochs 0": ["--epochs", "0"],
    "epochs -3": ["--epochs", "-3"],
    "epochs not a number": ["--epochs", "many"],
    "batch-size 0": ["--batch-size", "0"],
    "lr 0": ["--lr", "0"],
    "lr -1": ["--lr", "-1"],
    "lr nan": ["--lr", "nan"],
    "lr inf": ["--lr", "inf"],
    "lr 1e30 (diverges)": ["--lr", "1e30"],
    "momentum 1.5": ["--momentum", "1.5"],
    "weight-decay -1": ["--weight-decay", "-1"],
    "weight-decay nan": ["--weight-decay", "nan"],
    "device cuda:99": ["--device", "cuda:99"],
    "device tpu": ["--device", "tpu"],
    "device empty": ["--device", ""],
    "train-limit 0": ["--train-limit", "0"],
    "test-limit -1": ["--test-limit", "-1"],
    "time-bins 0": ["--time-bins", "0"],
    "time-window -5": ["--time-window", "-5"],
    "steps 0": ["--steps", "0"],
    "model-arg without =": ["--model-arg", "hidden"],
    "model-arg unknown key": ["--model-arg", "frobnicate=3"],
    "dataset cifar10": ["--dataset", "cifar10"],
    "tbptt 0": ["--tbptt", "0"],
    "tbptt -4": ["--tbptt", "-4"],
    "checkpoint-every 0": ["--checkpoint-every", "0"],
    "checkpoint-every not a number": ["--checkpoint-every", "often"],
}
TAIL = ["--epochs", "1", "--train-limit", "64", "--test-limit", "32", "--no-progress"]


def _with_tail(opts: list[str]) -> list[str]:
    """``opts`` after the quick tail, so that ``opts`` wins where both set an option."""
    return [*TAIL, *opts]


for label, opts in BAD_TRAIN_OPTIONS.items():
    _add(f"train: {label}", lambda tmp, o=opts: ["train", "--model", "seed-ann", *_with_tail(o)])
for label in ("epochs 0", "lr nan", "lr 1e30 (diverges)", "device cuda:99", "batch-size 0", "steps 0"):
    opts = BAD_TRAIN_OPTIONS[label]
    _add(f"demo: {label}", lambda tmp, o=opts: ["demo", *_with_tail(o)])
    _add(f"compare: {label}", lambda tmp, o=opts: ["compare", "--models", "seed-ann", *_with_tail(o)])

_add("train: no --model", lambda tmp: ["train", *QUICK])
_add(
    "train: --checkpoint-every on a model with nothing to chunk",
    lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--checkpoint-every", "5"],
)
_add(
    "train: --tbptt on a model without neurons",
    lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--tbptt", "5"],
)
_add("train: unknown model", lambda tmp: ["train", "--model", "resnet", *QUICK])
_add(
    "train: model-arg steps=0",
    lambda tmp: ["train", "--model", "spiking-mlp", *QUICK, "--model-arg", "steps=0"],
)
_add(
    "train: model-arg hidden=(0,)",
    lambda tmp: ["train", "--model", "spiking-mlp", *QUICK, "--model-arg", "hidden=(0,)"],
)
_add(
    "train: --lr one per epoch, wrong count",
    lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--lr", "0.1", "0.2"],
)
# (--preset seed with --epochs alone is valid now: the per-epoch rates are stretched to --epochs)
_add(
    "train: --preset seed with --epochs and a wrong number of --lr",
    lambda tmp: ["train", "--model", "seed-ann", "--preset", "seed", *QUICK, "--lr", "0.1", "0.2", "0.3"],
)
_add("stdp: --batch (old spelling) 0", lambda tmp: ["stdp", *STDP, "--batch", "0"])
_add(
    "report: --stdp-batch (old spelling) 0",
    lambda tmp: ["report", "--checkpoint", a_file(tmp), "--stdp-batch", "0"],
)
_add("train: --log-every 0", lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--log-every", "0"])
_add("train: --quiet with --verbose", lambda tmp: ["--quiet", "train", "--model", "seed-ann", *QUICK, "-v"])
_add("train: --out is a file", lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--out", a_file(tmp)])
_add(
    "train: --out under a file",
    lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--out", under_file(tmp, "d")],
)
_add(
    "train: --json under a file",
    lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--json", under_file(tmp)],
)
_add("train: --json is a folder", lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--json", folder(tmp)])
_add(
    "train: --out holds a finished run",
    lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--out", run_dir(tmp)],
)
_add("train: --resume without --out", lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--resume"])
_add(
    "train: --resume from an empty folder",
    lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--resume", "--out", folder(tmp)],
)
_add(
    "train: --resume with another model",
    lambda tmp: ["train", "--model", "spiking-mlp", *QUICK, "--resume", "--out", run_dir(tmp)],
)
_add(
    "train: --resume with another model-arg",
    lambda tmp: [
        "train",
        "--model",
        "seed-ann",
        *QUICK,
        "--model-arg",
        "hidden=7",
        "--resume",
        "--out",
        run_dir(tmp),
    ],
)
_add(
    "train: --resume with another lr",
    lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--lr", "0.5", "--resume", "--out", run_dir(tmp)],
)
_add(
    "train: --resume with another dataset",
    lambda tmp: [
        "train",
        "--model",
        "seed-ann",
        *QUICK,
        "--dataset",
        "mnist-10k",
        "--resume",
        "--out",
        run_dir(tmp),
    ],
)


def _resume_from(kind: str):
    def argv(tmp: Path) -> list[str]:
        d = tmp / "run"
        d.mkdir()
        src = Path(LOADERS[kind](tmp))
        (d / "checkpoint.pt").write_bytes(src.read_bytes())
        return ["train", "--model", "seed-ann", *QUICK, "--epochs", "2", "--resume", "--out", str(d)]

    return argv


for kind in ("empty", "garbage", "truncated", "flipped byte", "malicious pickle", "malicious torch.save"):
    _add(f"train: --resume from a {kind} checkpoint", _resume_from(kind))
_add("train: --resume from a negative-epoch checkpoint", _resume_from("negative epoch"))
_add(
    "train: mnist --data-dir is an empty folder",
    lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--dataset", "mnist", "--data-dir", folder(tmp)],
)
_add(
    "train: mnist --data-dir is a file",
    lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--dataset", "mnist", "--data-dir", a_file(tmp)],
)
_add(
    "train: idx --data-dir with wrong file names",
    lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--dataset", "idx", "--data-dir", bad_mnist(tmp)],
)
_add(
    "train: mnist --data-dir with garbage files",
    lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--dataset", "mnist", "--data-dir", bad_mnist(tmp)],
)
_add("train: --seed not a number", lambda tmp: ["train", "--model", "seed-ann", *QUICK, "--seed", "x"])

_add("compare: --models ''", lambda tmp: ["compare", "--models", "", *QUICK])
_add("compare: --models ',,'", lambda tmp: ["compare", "--models", " , ,", *QUICK])
_add("compare: unknown model", lambda tmp: ["compare", "--models", "seed-ann,resnet", *QUICK])
_add("compare: --seeds x", lambda tmp: ["compare", "--models", "seed-ann", "--seeds", "x", *QUICK])
_add("compare: --seeds ''", lambda tmp: ["compare", "--models", "seed-ann", "--seeds", "", *QUICK])
_add(
    "compare: --out is a file", lambda tmp: ["compare", "--models", "seed-ann", *QUICK, "--out", a_file(tmp)]
)
_add(
    "compare: --json under a file",
    lambda tmp: ["compare", "--models", "seed-ann", *QUICK, "--json", under_file(tmp)],
)
_add("demo: --json under a file", lambda tmp: ["demo", *QUICK, "--json", under_file(tmp)])
_add("demo: --out is a file", lambda tmp: ["demo", *QUICK, "--out", a_file(tmp)])

# --- checkpoint readers: plot model, report, export-nir, stdp-window --checkpoint ---------------------
READERS = {
    "plot model": lambda ck, tmp: ["plot", "model", "--checkpoint", ck, "--out", str(tmp / "p"), "--no-gif"],
    "report": lambda ck, tmp: [
        "report",
        "--checkpoint",
        ck,
        "--out",
        str(tmp / "r.html"),
        "--eval-limit",
        "8",
    ],
    "export-nir": lambda ck, tmp: ["export-nir", "--checkpoint", ck, "--out", str(tmp / "m.nir")],
    "stdp-window": lambda ck, tmp: ["stdp-window", "--checkpoint", ck, "--batch-size", "4", "--max-dt", "3"],
}
for reader, cmd in READERS.items():
    for kind, make in LOADERS.items():
        _add(f"{reader}: {kind} checkpoint", lambda tmp, c=cmd, m=make: c(m(tmp), tmp))

_add("plot model: --index -1", lambda tmp: [*READERS["plot model"](real(tmp), tmp), "--index", "-1"])
_add("plot model: --fields 0", lambda tmp: [*READERS["plot model"](real(tmp), tmp), "--fields", "0"])
_add(
    "plot model: --out is a file",
    lambda tmp: ["plot", "model", "--checkpoint", real(tmp), "--out", a_file(tmp)],
)
_add(
    "plot model: --dataset cifar10",
    lambda tmp: [*READERS["plot model"](real(tmp), tmp), "--dataset", "cifar10"],
)
_add(
    "plot model: --json under a file",
    lambda tmp: [*READERS["plot model"](real(tmp), tmp), "--json", under_file(tmp)],
)
_add("report: --index -1", lambda tmp: [*READERS["report"](real(tmp), tmp), "--index", "-1"])
_add("report: --stdp-batch 0", lambda tmp: [*READERS["report"](real(tmp), tmp), "--stdp-batch", "0"])
_add("report: --eval-limit 0", lambda tmp: [*READERS["report"](real(tmp), tmp), "--eval-limit", "0"])
_add("report: --out is a folder", lambda tmp: ["report", "--checkpoint", real(tmp), "--out", folder(tmp)])
_add(
    "report: --out under a file",
    lambda tmp: ["report", "--checkpoint", real(tmp), "--out", under_file(tmp, "r.html")],
)
_add("export-nir: --dt 0", lambda tmp: [*READERS["export-nir"](real(tmp), tmp), "--dt", "0"])
_add("export-nir: --dt nan", lambda tmp: [*READERS["export-nir"](real(tmp), tmp), "--dt", "nan"])
_add(
    "export-nir: --verify-batch 0",
    lambda tmp: [*READERS["export-nir"](real(tmp), tmp), "--verify-batch", "0"],
)
_add(
    "export-nir: --out is a folder",
    lambda tmp: ["export-nir", "--checkpoint", real(tmp), "--out", folder(tmp)],
)
_add(
    "export-nir: --out under a file",
    lambda tmp: ["export-nir", "--checkpoint", real(tmp), "--out", under_file(tmp, "m.nir")],
)
_add(
    "stdp-window: --batch-size 0 in a network",
    lambda tmp: [*READERS["stdp-window"](real(tmp), tmp)[:-4], "--batch-size", "0"],
)

# --- plot events ---------------------------------------------------------------------------------------
_add("plot events: missing file", lambda tmp: ["plot", "events", str(tmp / "none.bin"), "--out", str(tmp)])
_add("plot events: empty file", lambda tmp: ["plot", "events", empty(tmp), "--out", str(tmp)])
_add("plot events: garbage file", lambda tmp: ["plot", "events", garbage(tmp), "--out", str(tmp)])
_add(
    "plot events: bad DATASET:SPLIT:INDEX",
    lambda tmp: ["plot", "events", "nmnist-small:train:x", "--out", str(tmp)],
)
_add("plot events: unknown dataset", lambda tmp: ["plot", "events", "cifar:train:0", "--out", str(tmp)])
_add(
    "plot events: --fps 0",
    lambda tmp: ["plot", "events", "nmnist-small:train:0", "--fps", "0", "--out", str(tmp)],
)
_add(
    "plot events: --bins 0",
    lambda tmp: ["plot", "events", "nmnist-small:train:0", "--bins", "0", "--out", str(tmp)],
)
_add(
    "plot events: --time-window -1",
    lambda tmp: ["plot", "events", "nmnist-small:train:0", "--time-window", "-1", "--out", str(tmp)],
)

# --- stdp-window (controlled) --------------------------------------------------------------------------
BAD_WINDOW = {
    "--neurons ''": ["--neurons", ""],
    "unknown neuron": ["--neurons", "Frob"],
    "unknown surrogate": ["--surrogates", "frob"],
    "unknown loss": ["--losses", "frob"],
    "unknown remedy": ["--remedies", "frob"],
    "--decay 0": ["--decay", "0"],
    "--decay 1.5": ["--decay", "1.5"],
    "--threshold -1": ["--threshold", "-1"],
    "--max-dt 0": ["--max-dt", "0"],
    "--steps-after 0": ["--steps-after", "0"],
    "--weight nan": ["--weight", "nan"],
    "--target-rate 2": ["--target-rate", "2"],
    "--figure with a bad suffix": ["--figure", "window.txt"],
}
for label, opts in BAD_WINDOW.items():
    _add(f"stdp-window: {label}", lambda tmp, o=opts: ["stdp-window", *WINDOW, *o])
_add("stdp-window: --json under a file", lambda tmp: ["stdp-window", *WINDOW, "--json", under_file(tmp)])
_add(
    "stdp-window: --figure under a file",
    lambda tmp: ["stdp-window", *WINDOW, "--figure", under_file(tmp, "w.png")],
)

# --- stdp ----------------------------------------------------------------------------------------------
BAD_STDP = {
    "--neurons 0": ["--neurons", "0"],
    "--epochs 0": ["--epochs", "0"],
    "--batch 0": ["--batch", "0"],
    "--mode frob": ["--mode", "frob"],
    "--train-limit 0": ["--train-limit", "0"],
    "--test-limit -1": ["--test-limit", "-1"],
    "dataset cifar10": ["--dataset", "cifar10"],
    "--resume without --out": ["--resume"],
}
for label, opts in BAD_STDP.items():
    _add(f"stdp: {label}", lambda tmp, o=opts: ["stdp", *STDP, *o])
_add("stdp: --out is a file", lambda tmp: ["stdp", *STDP, "--out", a_file(tmp)])
_add("stdp: --json under a file", lambda tmp: ["stdp", *STDP, "--json", under_file(tmp)])


def _stdp_resume(kind: str):
    def argv(tmp: Path) -> list[str]:
        d = tmp / "stdp"
        d.mkdir()
        (d / "checkpoint.pt").write_bytes(Path(LOADERS[kind](tmp)).read_bytes())
        return ["stdp", *STDP, "--resume", "--out", str(d)]

    return argv


for kind in ("empty", "garbage", "truncated", "malicious pickle", "malicious torch.save", "flipped byte"):
    _add(f"stdp: --resume from a {kind} checkpoint", _stdp_resume(kind))
_add("stdp: --resume from a train checkpoint", _stdp_resume("negative epoch"))

# --- convert -------------------------------------------------------------------------------------------
for kind in ("missing", "empty", "garbage", "truncated", "malicious pickle", "malicious torch.save"):
    _add(
        f"convert: --ann-checkpoint {kind}",
        lambda tmp, k=kind: ["convert", *CONVERT, "--ann-checkpoint", LOADERS[k](tmp)],
    )
_add(
    "convert: --ann-checkpoint is a train checkpoint",
    lambda tmp: ["convert", *CONVERT, "--ann-checkpoint", real(tmp)],
)
BAD_CONVERT = {
    "--steps ''": ["--steps", ""],
    "--steps 0": ["--steps", "0"],
    "--steps x": ["--steps", "4,x"],
    "--epochs 0": ["--epochs", "0"],
    "--lr 0": ["--lr", "0"],
    "--lr 1e30": ["--lr", "1e30"],
    "--percentile 0": ["--percentile", "0"],
    "--percentile 101": ["--percentile", "101"],
    "--calibration 0": ["--calibration", "0"],
    "--batch-size 0": ["--batch-size", "0"],
    "--eval-batch-size 0": ["--eval-batch-size", "0"],
    "--device cuda:99": ["--device", "cuda:99"],
    "--train-limit 0": ["--train-limit", "0"],
    "dataset cifar10": ["--dataset", "cifar10"],
}
for label, opts in BAD_CONVERT.items():
    _add(f"convert: {label}", lambda tmp, o=opts: ["convert", *CONVERT, *o])
_add("convert: --save-ann is a folder", lambda tmp: ["convert", *CONVERT, "--save-ann", folder(tmp)])
_add("convert: --json under a file", lambda tmp: ["convert", *CONVERT, "--json", under_file(tmp)])

# --- bench ---------------------------------------------------------------------------------------------
BAD_BENCH = {
    "--repeats 0": ["--repeats", "0"],
    "--repeats -1": ["--repeats", "-1"],
    "--warmup -1": ["--warmup", "-1"],
    "--threads 0": ["--threads", "0"],
    "--threads -2": ["--threads", "-2"],
    "--shape 0x1x1": ["--shape", "0x1x1"],
    "--shape abc": ["--shape", "abc"],
    "--peers frob": ["--peers", "frob"],
    "--device cuda:99": ["--device", "cuda:99"],
    "--device tpu": ["--device", "tpu"],
}
for label, opts in BAD_BENCH.items():
    _add(f"bench: {label}", lambda tmp, o=opts: ["bench", *BENCH, *o])
_add("bench: --json under a file", lambda tmp: ["bench", *BENCH, "--json", under_file(tmp)])
_add("bench: --json is a folder", lambda tmp: ["bench", *BENCH, "--json", folder(tmp)])

os.environ.setdefault("SPIKEKIT_NO_PROGRESS", "1")
