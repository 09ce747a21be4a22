"""``spikekit export-nir``: a model trained with ``spikekit train --out DIR`` -> a ``.nir`` file, checked by
reading it back and running it against the model (:mod:`spikekit.interop.nir`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from . import _common


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    c = _common
    p = c.add_command(
        subparsers,
        "export-nir",
        "export a trained model to a NIR file (and verify it)",
        "spikekit train --model spiking-mlp --model-arg reset=zero --out runs/nir   # NIR needs reset=zero",
        "spikekit export-nir --checkpoint runs/nir --out model.nir",
    )
    p.add_argument(
        "--checkpoint",
        type=_common.existing_path,
        required=True,
        help="checkpoint.pt written by spikekit train or spikekit.train.fit (or the folder holding it)",
    )
    p.add_argument("--out", type=_common.output_file, required=True, help="the .nir file to write")
    p.add_argument(
        "--dt",
        type=_common.positive_float,
        default=1e-4,
        help="time step in seconds for NIR's time constants",
    )
    p.add_argument("--no-readout", action="store_true", help="end the graph at the output layer's current")
    p.add_argument(
        "--batch-size",
        type=c.positive_int,
        default=4,
        help="random inputs on which the file read back is run against the model",
    )
    c.deprecated_alias(p, "--verify-batch", "batch_size", type=c.positive_int)
    c.add_seed_arg(p, "seeds those random inputs")
    c.add_json_arg(p, "also write the graph's nodes and the check's result as JSON to PATH")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    run_export_nir(
        checkpoint=args.checkpoint,
        out=args.out,
        dt=args.dt,
        include_readout=not args.no_readout,
        verify_batch=args.batch_size,
        seed=args.seed,
        json_path=args.json,
    )
    return 0


def _shape_of(node: Any) -> str:
    import numpy as np

    out = getattr(node, "output_type", None) or {}
    value = next(iter(out.values()), None)
    return "-" if value is None else "x".join(str(int(v)) for v in np.atleast_1d(value))


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
    """Export the model of a spikekit checkpoint (``spikekit train`` or ``fit``) to NIR and verify the file.

    Rebuilds the model from the checkpoint (:func:`spikekit.models.model_from_checkpoint`), writes the graph
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
    import torch

    from ..interop import nir as sknir

    path = Path(checkpoint)
    ckpt, model = _common.load_trained(path)
    extra = ckpt.get("extra") or {}
    if "input_shape" not in extra:
        raise ValueError(
            f"export-nir: {path} does not say what input its model takes (no input_shape); train it with "
            "spikekit train or spikekit.train.fit"
        )
    shape = tuple(int(s) for s in extra["input_shape"])
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
    print(_common.format_table(["node", "NIR type", "output shape"], rows))
    what = "logits" if include_readout else "output-layer current"
    print(
        f"wrote {written} ({os.path.getsize(written):,} bytes, dt = {dt:g} s); read back and run on "
        f"{verify_batch} random inputs: max |difference| in {what} = {diff:.3g}"
    )
    result = {
        "checkpoint": str(path),
        "model": extra.get("model", type(model).__name__),
        "out": str(written),
        "dt": dt,
        "include_readout": include_readout,
        "nodes": [{"name": r[0], "type": r[1], "shape": r[2]} for r in rows],
        "max_abs_diff": diff,
        "argmax_agreement": agree,
    }
    _common.write_json_output(json_path, result)
    return result
