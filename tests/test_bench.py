"""The peer benchmark at toy sizes: it runs, its rows compute the same thing, and it reports the targets."""

from __future__ import annotations

import json

import torch

from spikekit.cli import main
from spikekit.cli._bench_measure import bench_train, run_bench


def test_training_step_rows_compute_the_original_mathematics():
    result = bench_train(repeats=1, warmup=0, device=torch.device("cpu"), batch=6, steps=5)
    assert {"original code", "spikekit[torch]", "spikekit[fused]", "spikekit[fused] streamed"} <= set(
        result["rows"]
    )
    for name, diff in result["same_mathematics"].items():
        assert diff < 1e-5, (name, diff)


def test_layer_rows_agree_and_recompute_keeps_only_the_input():
    result = run_bench([(6, 3, 16)], peers=(), repeats=1, warmup=0, train=False)
    rows = result["layer"][0]["rows"]
    x_bytes = 6 * 3 * 16 * 4
    assert rows["Linear alone"]["saved_bytes"] == x_bytes  # parameters are not activations
    assert rows["spikekit[fused] recompute"]["saved_bytes"] == x_bytes
    assert rows["spikekit[fused]"]["saved_bytes"] > x_bytes
    for name, row in rows.items():
        if name.startswith("spikekit") and name != "spikekit[torch]":
            assert row["spikes_equal_reference"], name


def test_bench_command_writes_json(tmp_path, capsys):
    path = tmp_path / "b.json"
    args = ["bench", "--shape", "4x2x8", "--no-grid", "--no-train", "--repeats", "1", "--warmup", "0"]
    assert main([*args, "--peers", "", "--json", str(path)]) == 0
    assert "Linear alone" in capsys.readouterr().out
    data = json.loads(path.read_text())
    assert data["layer"][0]["T"] == 4 and "spikekit[fused]" in data["layer"][0]["rows"]
