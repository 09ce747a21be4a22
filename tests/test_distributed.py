"""Multi-process training: `spikekit train` under torchrun (2 CPU processes, gloo on 127.0.0.1) gives the
weights of a 1-process run with the same global batch; resume; rank 0 alone writes; bad batch sizes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist

from spikekit import distributed
from spikekit import train as T
from spikekit.cli import main
from spikekit.data import ImageDataset
from spikekit.models import build_model

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()),
    reason="this PyTorch build has no torch.distributed with the gloo backend",
)

# spiking-mlp with the "direct" encoder draws no random numbers, so 2 processes must end with the
# 1-process weights. 199 samples in batches of 32: a last batch of 7, split 4 + 3 over the two ranks.
# 101 test samples: uneven evaluation shards.
ARGS = [
    "train",
    "--model",
    "spiking-mlp",
    "--dataset",
    "digits",
    "--steps",
    "4",
    "--model-arg",
    "hidden=(16,)",
    "--train-limit",
    "199",
    "--test-limit",
    "101",
    "--batch-size",
    "32",
    "--device",
    "cpu",
    "--no-progress",
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Runs `spikekit train` (the CLI's main) several times in one process group: one launch, imports paid once.
HARNESS = """
import json, sys
from spikekit import distributed
from spikekit.cli import main
distributed.init("cpu")
for argv, expected in json.loads(sys.argv[1]):
    if main(argv) != expected:
        sys.exit(1)
distributed.cleanup()
"""


def _torchrun(target: list[str], nproc: int = 2) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc_per_node",
        str(nproc),
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        *target,
    ]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)


def _weights(path) -> dict[str, torch.Tensor]:
    return torch.load(path / "checkpoint.pt", weights_only=True)["model"]


def _one_left_over(out) -> list[str]:
    """193 = 6 x 32 + 1: rank 1 has no share of the last batch (it runs a stand-in sample counted 0 times)."""
    return [*ARGS, "--train-limit", "193", "--epochs", "1", "--out", str(out)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two torchrun launches of 2 processes: `-m spikekit train` for 2 epochs; then one launch of the
    harness running, in turn, 1 epoch, its resumption to 2 epochs, a last batch of 1, and a bad batch."""
    root = tmp_path_factory.mktemp("ddp")
    full = _torchrun(
        [
            "-m",
            "spikekit",
            *ARGS,
            "--epochs",
            "2",
            "--out",
            str(root / "full"),
            "--json",
            str(root / "full.json"),
        ]
    )
    assert full.returncode == 0, full.stderr[-3000:]
    out = str(root / "resumed")
    steps = [  # (argv, expected exit status)
        ([*ARGS, "--epochs", "1", "--out", out], 0),
        ([*ARGS, "--epochs", "2", "--out", out, "--resume"], 0),
        (_one_left_over(root / "tail1"), 0),
        ([*ARGS, "--epochs", "1", "--batch-size", "31", "--out", str(root / "odd")], 2),
    ]
    (root / "harness.py").write_text(HARNESS)
    launch = _torchrun([str(root / "harness.py"), json.dumps(steps)])
    assert launch.returncode == 0, launch.stderr[-3000:]
    return root, full, launch


def test_two_processes_give_the_weights_of_one(runs, tmp_path):
    root, _, _ = runs
    assert main([*ARGS, "--epochs", "2", "--out", str(tmp_path / "one")]) == 0
    one, two = _weights(tmp_path / "one"), _weights(root / "full")
    assert one.keys() == two.keys()
    for k in one:
        torch.testing.assert_close(two[k], one[k], rtol=0, atol=1e-5, msg=k)
    torch.manual_seed(0)  # the CLI's initial weights
    init = build_model("spiking-mlp", (1, 8, 8), 10, hidden=(16,), steps=4).state_dict()
    assert (two["first.weight"] - init["first.weight"]).abs().max() > 1e-3, "no training happened"
    # The logged numbers are global ones: all-reduced training loss and accuracy, gathered evaluation.
    h1 = [json.loads(line) for line in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    h2 = [json.loads(line) for line in (root / "full" / "metrics.jsonl").read_text().splitlines()]
    for a, b in zip(h1, h2, strict=True):
        for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
            assert b[key] == pytest.approx(a[key], abs=1e-5), key
        assert b["rates"] == pytest.approx(a["rates"], abs=1e-6)


def test_a_rank_without_a_share_of_the_last_batch(runs, tmp_path):
    root, _, _ = runs
    assert main(_one_left_over(tmp_path / "one")) == 0
    one, two = _weights(tmp_path / "one"), _weights(root / "tail1")
    for k in one:
        torch.testing.assert_close(two[k], one[k], rtol=0, atol=1e-5, msg=k)


def test_rank_zero_alone_prints_and_writes(runs):
    root, full, _ = runs
    assert full.stdout.count("spiking-mlp on digits: test accuracy") == 1
    assert full.stdout.count(f"wrote {root / 'full.json'}") == 1
    assert sorted(p.name for p in (root / "full").iterdir()) == ["checkpoint.pt", "metrics.jsonl"]
    assert len((root / "full" / "metrics.jsonl").read_text().splitlines()) == 2
    assert json.loads((root / "full.json").read_text())["epochs"] == 2
    ckpt = torch.load(root / "full" / "checkpoint.pt", weights_only=True)
    assert len(ckpt["rng"]["ranks"]) == 2  # each rank's RNG state, for exact resume


def test_resume_under_two_processes_equals_an_uninterrupted_run(runs):
    root, _, resumed = runs
    assert resumed.stdout.count("checkpoint and metrics in") == 3  # rank 0's, once per run of the launch
    full, res = _weights(root / "full"), _weights(root / "resumed")
    for k in full:
        torch.testing.assert_close(res[k], full[k], rtol=0, atol=0, msg=k)
    assert len((root / "resumed" / "metrics.jsonl").read_text().splitlines()) == 2


def test_a_batch_not_divisible_by_the_processes_is_refused_by_every_rank(runs):
    root, _, launch = runs
    msg = "error: batch_size is the global batch, split evenly over the processes: batch_size=31 is not"
    assert launch.stderr.count(msg) == 2
    assert not (root / "odd").exists(), "the error comes before any work"


def test_shards_cover_each_global_batch_exactly_once():
    order = torch.randperm(103, generator=torch.Generator().manual_seed(0))
    for world, batch in ((2, 32), (4, 8), (3, 9)):
        shards = [list(T._shard_batches(order, batch, world, r)) for r in range(world)]
        globals_ = [order[i : i + batch] for i in range(0, len(order), batch)]
        for k, g in enumerate(globals_):
            parts = [shards[r][k] for r in range(world)]
            assert all(n == len(g) for _, n in parts)
            assert sorted(torch.cat([p for p, _ in parts]).tolist()) == sorted(g.tolist())


def test_a_batch_not_divisible_by_the_world_size_fails_before_any_work(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    assert distributed.world_size() == 3 and not distributed.is_initialized()
    x, y = torch.rand(12, 1, 2, 2), torch.zeros(12, dtype=torch.long)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    cfg = T.TrainConfig(epochs=1, batch_size=16, device="cpu")
    with pytest.raises(ValueError, match=r"batch_size=16 is not divisible by the 3 processes"):
        T.fit(model, ImageDataset(x, y), None, cfg, progress=False)
    assert not distributed.is_initialized()


def test_a_single_process_starts_no_process_group(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed.init("cpu") is False and not distributed.is_initialized()
    assert (distributed.world_size(), distributed.rank(), distributed.is_main()) == (1, 0, True)
    assert distributed.all_reduce_sum([1.0, 2.0]).tolist() == [1.0, 2.0]
    assert distributed.all_gather_object("x") == ["x"] and distributed.broadcast_object(3) == 3
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert distributed.init("cpu") is False
