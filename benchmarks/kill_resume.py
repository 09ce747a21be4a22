"""No data lost on a crash: train, kill the run with SIGKILL at random times (some during checkpoint writes),
resume it each time, and compare the final weights with an uninterrupted run's, exactly.

    python benchmarks/kill_resume.py --kills 20 --json kill_resume.json

Each round starts ``spikekit train --model spiking-mlp --dataset digits --epochs E --out RUN`` (with
``--resume`` once RUN holds a checkpoint; batch 4 and 32 steps, so that an epoch takes about a second) and
kills it: every other time at a random point of the training still to do, counted from the run's first
line (``training ...``, printed when start-up is over), otherwise as soon as a checkpoint write begins (its
temporary file appears). The training time is measured on the uninterrupted reference run first, and
shortened whenever a run gets to its end before its kill, so that a machine busier during the reference
than after it cannot starve the kills. After ``--kills`` kills the run is resumed to the end; its
checkpoint must hold the reference's weights bit for bit, and the same per-epoch metrics.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def _command(out: Path, epochs: int, train_limit: int, test_limit: int, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "spikekit", "train", "--model", "spiking-mlp", "--dataset", "digits"]
    cmd += ["--epochs", str(epochs), "--train-limit", str(train_limit), "--test-limit", str(test_limit)]
    cmd += ["--batch-size", "4", "--steps", "32", "--no-progress", "--out", str(out)]
    return [*cmd, "--resume"] if resume else cmd


def _env() -> dict[str, str]:
    return {**os.environ, "SPIKEKIT_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


class _Run:
    """``cmd`` started with its output read as it comes: ``started`` is set at its first line (start-up
    over) or its end, ``epoch_ends`` holds the time of each ``epoch i/n`` line."""

    def __init__(self, cmd: list[str]) -> None:
        self.proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.started, self.epoch_ends, self.lines = threading.Event(), [], []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.started.set()
            self.lines.append(line.decode(errors="replace"))
            if re.match(rb"epoch \d+/\d+:", line):
                self.epoch_ends.append(time.perf_counter())
        self.started.set()

    def output(self) -> str:
        self.reader.join()
        return "".join(self.lines)[-2000:]


def _kill_when(proc: subprocess.Popen, ready, timeout: float) -> bool:
    """SIGKILL ``proc`` as soon as ``ready()`` holds, or after ``timeout`` s; ``False`` if it ended first."""
    deadline = time.perf_counter() + timeout
    while proc.poll() is None:
        if ready() or time.perf_counter() >= deadline:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.0002)
    return False


def _weights(path: Path) -> dict[str, Any]:
    from spikekit.train import load_checkpoint

    return load_checkpoint(path / "checkpoint.pt")


def run(
    kills: int = 20,
    epochs: int = 6,
    train_limit: int = 1437,
    test_limit: int = 360,
    seed: int = 0,
    root: Path | None = None,
    log=print,
) -> dict[str, Any]:
    """Kill a training run ``kills`` times, resume it to the end, compare with an uninterrupted run."""
    import torch

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(root) if root is not None else Path(tmp)
        ref, cut = base / "reference", base / "killed"
        t0 = time.perf_counter()
        run = _Run(_command(ref, epochs, train_limit, test_limit, False))
        run.started.wait()
        t1 = time.perf_counter()
        code, out = run.proc.wait(), run.output()
        if code != 0 or len(run.epoch_ends) != epochs:
            raise RuntimeError(f"the reference run failed (exit {code}): {out}")
        per_epoch = max((run.epoch_ends[-1] - t1) / epochs, 0.02)
        total = time.perf_counter() - t0
        log(f"reference: {total:.1f} s ({t1 - t0:.1f} s start-up, {per_epoch:.2f} s per epoch)")
        landed, wasted, mid_write, rounds = 0, 0, 0, 0
        while landed < kills:
            rounds += 1
            if rounds > 5 * kills:
                raise RuntimeError(f"only {landed} of {kills} kills landed in {rounds - 1} rounds")
            resume = (cut / "checkpoint.pt").exists()
            before = _epoch(cut)
            run = _Run(_command(cut, epochs, train_limit, test_limit, resume))
            t_start = time.perf_counter()
            if landed % 2 == 1:
                # every other kill aims at a checkpoint write: SIGKILL as soon as its temporary file appears
                delay = 60 + (epochs - before + 1) * per_epoch * 3
                killed = _kill_when(run.proc, lambda: any(cut.glob(".checkpoint.pt.*")), delay)
            else:
                # anywhere in the training still to do (each epoch's end writes a checkpoint)
                run.started.wait()
                delay = rng.uniform(0.05, 0.9) * (epochs - before) * per_epoch
                killed = _kill_when(run.proc, lambda: False, delay)
            delay = time.perf_counter() - t_start
            if killed:
                temps = list(cut.glob(".checkpoint.pt.*")) if cut.exists() else []
                for t in temps:  # a write cut short leaves its temporary file, never a half checkpoint
                    t.unlink()
                after = _epoch(cut)  # the checkpoint left behind must always load
                if after < epochs:
                    landed += 1
                    mid_write += bool(temps)
                    note = " (during a checkpoint write)" if temps else ""
                    log(f"kill {landed}/{kills} after {delay:.2f} s: epoch {before} -> {after}{note}")
                    continue
            elif run.proc.returncode != 0:
                raise RuntimeError(f"a resumed run failed (exit {run.proc.returncode}): {run.output()}")
            wasted += 1  # the run got to its end before the kill: start a fresh one, aim earlier
            per_epoch *= 0.7
            log(f"round {rounds}: the run finished before its kill; starting a fresh run")
            for f in ("checkpoint.pt", "metrics.jsonl"):
                (cut / f).unlink(missing_ok=True)
        subprocess.run(_command(cut, epochs, train_limit, test_limit, (cut / "checkpoint.pt").exists()),
                       env=_env(), check=True, capture_output=True)  # fmt: skip
        a, b = _weights(ref), _weights(cut)
        differ = [k for k in a["model"] if not torch.equal(a["model"][k], b["model"][k])]
        keys = ("train_loss", "train_acc", "test_loss", "test_acc", "lr")
        same_history = [[h[k] for k in keys] for h in a["history"]] == [
            [h[k] for k in keys] for h in b["history"]
        ]
        metrics = len((cut / "metrics.jsonl").read_text().splitlines())
        result = {
            "kills": landed,
            "kills_during_checkpoint_write": mid_write,
            "runs_finished_before_their_kill": wasted,
            "epochs": epochs,
            "train_limit": train_limit,
            "identical_weights": not differ and a["model"].keys() == b["model"].keys(),
            "differing_tensors": differ,
            "identical_history": same_history,
            "metrics_lines": metrics,
            "seconds": time.perf_counter() - t0,
        }
    return result


def _epoch(out: Path) -> int:
    try:
        return int(_weights(out)["epoch"])
    except FileNotFoundError:
        return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--train-limit", type=int, default=1437)
    ap.add_argument("--test-limit", type=int, default=360)
    ap.add_argument("--seed", type=int, default=0, help="seeds the kill times")
    ap.add_argument("--json", default=None, metavar="PATH")
    args = ap.parse_args(argv)
    result = run(args.kills, args.epochs, args.train_limit, args.test_limit, args.seed)
    ok = (
        result["identical_weights"] and result["identical_history"] and result["metrics_lines"] == args.epochs
    )
    print(
        f"{result['kills']} SIGKILLs ({result['kills_during_checkpoint_write']} during a checkpoint write), "
        f"then --resume: final weights {'IDENTICAL to' if result['identical_weights'] else 'DIFFERENT from'} "
        f"an uninterrupted run's; metrics {'identical' if result['identical_history'] else 'DIFFERENT'} "
        f"({result['seconds']:.0f} s)"
    )
    if args.json:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from spikekit._io import write_json

        write_json(args.json, result)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
