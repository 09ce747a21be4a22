"""``spikekit export-nir``: a model trained with ``spikekit train --out DIR`` -> a ``.nir`` file, checked by
reading it back and running it against the model."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["run_export_nir"]


def _num_classes(state: dict[str, torch.Tensor]) -> int:
    for key in ("out.weight", "fc2.weight"):
        if key in state:
            return int(state[key].shape[0])
    weights = [v for k, v in state.items() if k.endswith("weight") and v.dim() == 2]
    if not weights:
        raise ValueError("export-nir: cannot tell the number of classes from the checkpoint")
    return int(weights[-1].shape[0])


def _shape_of(node: Any) -> str:
    out = getattr(node, "output_type", None) or {}
    value = next(iter(out.values()), None)
    return "-" if value is None else "x".join(str(int(v)) for v in np.atleast_1d(value))


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_export_nir(
    *,
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    dt: float = 1e-4,
    include_readout: bool = True,
    verify_batch: int = 4,
    seed: int = 0,
    json_path: str | None = None,
) -> dict[str, Any]:
    """Export the model of a ``spikekit train`` checkpoint to NIR and verify the file.

    Rebuilds the model from the checkpoint's ``extra`` (model name, arguments, input shape), writes the graph
    to ``out``, reads it back, imports it with :func:`spikekit.interop.nir.import_` and runs both on
    ``verify_batch`` random inputs: prints the graph's nodes and the largest difference between the model's
    logits and the graph's (``include_readout=False``: its output layer's current).

    Args:
        checkpoint: a ``checkpoint.pt`` or the folder holding it.
        out: the ``.nir`` file to write.
        dt: seconds per step (NIR's time constants are ``dt / (1 - beta)``).
        include_readout: keep the membrane readout (an ``LI`` node).
        verify_batch: random inputs for the check.
        seed: seeds those inputs.
        json_path: also write the result as JSON.
    """
    from ..models import build_model
    from ..train import load_checkpoint
    from . import nir as sknir

    path = Path(checkpoint)
    ckpt = load_checkpoint(path / "checkpoint.pt" if path.is_dir() else path)
    extra = ckpt.get("extra") or {}
    if "model" not in extra or "input_shape" not in extra:
        raise ValueError(
            f"export-nir: {path} does not say which model it holds (train it with spikekit train)"
        )
    shape = tuple(int(s) for s in extra["input_shape"])
    model = build_model(
        extra["model"], shape, _num_classes(ckpt["model"]), **(extra.get("model_kwargs") or {})
    )
    model.load_state_dict(ckpt["model"])
    model.eval()
    g = torch.Generator().manual_seed(seed)
    sample = torch.rand(verify_batch, *shape, generator=g)
    graph = sknir.export(model, sample, dt=dt, include_readout=include_readout)
    written = sknir.write(graph, out)
    imported = sknir.load(written)
    torch.manual_seed(seed)
    seq = sknir.model_input(model, sample)  # drawn once: stochastic encoders feed both the same spikes
    captured: list[torch.Tensor] = []
    hook = model.out.register_forward_hook(lambda m, i, o: captured.append(o))
    with torch.no_grad():
        logits = model(seq)
        graph_out = imported(seq)
    hook.remove()
    if include_readout:
        diff = float((sknir.readout(model, graph_out) - logits).abs().max())
        agree = float((sknir.readout(model, graph_out).argmax(1) == logits.argmax(1)).float().mean())
    else:
        diff, agree = float((graph_out - captured[0]).abs().max()), float("nan")
    rows = [[k, type(n).__name__, _shape_of(n)] for k, n in graph.nodes.items()]
    print(_table(["node", "NIR type", "output shape"], rows))
    what = "logits" if include_readout else "output-layer current"
    print(
        f"wrote {written} ({os.path.getsize(written):,} bytes, dt = {dt:g} s); read back and run on "
        f"{verify_batch} random inputs: max |difference| in {what} = {diff:.3g}"
    )
    result = {
        "checkpoint": str(path),
        "model": extra["model"],
        "out": str(written),
        "dt": dt,
        "include_readout": include_readout,
        "nodes": [{"name": r[0], "type": r[1], "shape": r[2]} for r in rows],
        "max_abs_diff": diff,
        "argmax_agreement": agree,
    }
    if json_path:
        p = Path(json_path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        os.replace(tmp, p)
        print(f"wrote {p}")
    return result
