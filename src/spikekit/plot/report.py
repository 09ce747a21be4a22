"""One self-contained HTML page about a trained model: accuracy, curves, what every layer did on one test
image, receptive fields and the backprop-vs-STDP analysis. Images are embedded as PNG data URIs, so the
page is a single file that opens anywhere, offline.

Example:
    >>> build_report("runs/mlp/checkpoint.pt", out="report.html", index=3)
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Any

import matplotlib
import torch

from .._io import atomic_write_text
from ._figure import STYLE, threshold_of

__all__ = ["build_report"]


def _png(fig) -> str:
    buf = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _img(title: str, fig) -> str:
    alt = html.escape(title)
    return f'<figure><img alt="{alt}" src="{_png(fig)}"><figcaption>{alt}</figcaption></figure>'


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _markdown_table(text: str) -> str:
    """The first pipe table in ``text`` as HTML (the analysis prints its results as Markdown)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("|")]
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    cells = [row for row in cells if not all(set(c) <= set("-: ") for c in row)]
    return _table(cells[0], cells[1:]) if cells else f"<pre>{html.escape(text)}</pre>"


def _profile_section(model: torch.nn.Module, test: Any, n: int, seed: int) -> str:
    """Spikes, synaptic operations and energy per layer on the first ``n`` test samples."""
    from ..analysis import profile

    x = test.images[: min(n, len(test))]
    if int(getattr(test, "time_axis", 0)):
        x = x.movedim(int(test.time_axis), 0)  # sequences time first, as the trainer feeds them
    torch.manual_seed(seed)
    try:
        prof = profile(model, x)
    except (ValueError, TypeError) as err:
        return (
            "<h2>Synaptic operations and energy</h2>"
            f'<p class="note">not available for this model: {html.escape(str(err))}</p>'
        )
    ops, ann = prof.synaptic_operations, prof.ann_operations
    ratio = prof.ann_energy_pj / prof.energy_pj if prof.energy_pj else float("nan")
    rows = [
        [r.name, r.module, r.op, f"{r.calls:g}", f"{r.events:,.1f}", f"{r.ops:,.0f}", f"{r.dense:,.0f}",
         f"{r.ann_ops:,.0f}"]
        for r in prof.connections
    ]  # fmt: skip
    neurons = [
        [r.name, r.module, r.neurons, r.steps, f"{r.spikes:,.1f}", f"{r.firing_rate:.4f}"]
        for r in prof.neurons
    ]
    return "".join(
        [
            "<h2>Synaptic operations and energy</h2>",
            f'<p class="note">Per test sample, over the first {prof.samples} test samples, in NeuroBench\'s '
            "vocabulary: an input element that is a spike costs one accumulate (AC) per synapse it reaches, "
            "any other non-zero input one multiply-accumulate (MAC); the equivalent ANN runs the same layers "
            "on dense activations once per sample (per input step for sequences). Energy counts "
            f"arithmetic only: AC {prof.ac_pj:g} pJ, MAC {prof.mac_pj:g} pJ "
            "(32-bit float, 45 nm; Horowitz, ISSCC 2014).</p>",
            _table(
                [
                    "Effective ACs",
                    "Effective MACs",
                    "Dense",
                    "ANN MACs",
                    "SNN energy",
                    "ANN energy",
                    "ANN / SNN",
                    "activation sparsity",
                    "footprint",
                ],
                [
                    [
                        f"{ops['Effective_ACs']:,.0f}",
                        f"{ops['Effective_MACs']:,.0f}",
                        f"{ops['Dense']:,.0f}",
                        f"{ann['MACs']:,.0f}",
                        f"{prof.energy_pj / 1e3:,.2f} nJ",
                        f"{prof.ann_energy_pj / 1e3:,.2f} nJ",
                        f"{ratio:.3g}",
                        f"{prof.activation_sparsity:.4f}",
                        f"{prof.footprint:,} bytes",
                    ]
                ],
            ),
            _table(["layer", "module", "op", "calls", "input events", "ops", "dense", "ANN ops"], rows),
            _table(["neuron layer", "module", "neurons", "steps", "spikes", "firing rate"], neurons),
        ]
    )


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0; } td, th { border: 1px solid #ccc; padding: .25em .6em; }
th { background: #f3f3f3; } figure { display: inline-block; margin: .5em; vertical-align: top; }
img { max-width: 100%; } figcaption { font-size: .85em; color: #555; text-align: center; }
.note { color: #555; font-size: .9em; }
"""


def build_report(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike = "report.html",
    *,
    dataset: str | None = None,
    data_dir: str | None = None,
    index: int = 0,
    stdp_batch: int = 64,
    profile_batch: int = 64,
    eval_limit: int | None = None,
    seed: int = 0,
) -> Path:
    """Write the report for ``checkpoint`` (from ``spikekit train --out``) to ``out``; return its path.

    Args:
        checkpoint: a spikekit checkpoint (loaded with ``weights_only=True``).
        out: the HTML file to write (atomically).
        dataset, data_dir: the test data (default: the checkpoint's).
        index: the test image whose activity is shown.
        stdp_batch: test images used for the backprop-vs-STDP comparison.
        profile_batch: test images whose synaptic operations and energy are counted
            (:func:`spikekit.analysis.profile`); 0 leaves the section out.
        eval_limit: evaluate on the first N test images only (default: all).
        seed: seeds the encoders' randomness.
    """
    from .. import data
    from ..analysis import network_window
    from ..models import count_parameters, model_from_checkpoint
    from ..nn import record
    from ..train import evaluate, load_checkpoint
    from . import activity as plot

    ckpt = load_checkpoint(checkpoint)
    extra = ckpt.get("extra", {})
    model = model_from_checkpoint(ckpt).eval()
    name = dataset or extra.get("dataset")
    if not name:
        raise ValueError("give dataset=: the checkpoint does not name its dataset")
    test = data.load(name, data_dir or extra.get("data_dir"), split="test")
    if not 0 <= index < len(test):
        raise ValueError(f"index must lie in [0, {len(test) - 1}], got {index}")
    torch.manual_seed(seed)
    ev = evaluate(model, test.subset(eval_limit) if eval_limit else test, batch_size=500)

    parts = [
        f"<h1>spikekit report: {html.escape(str(extra.get('model', type(model).__name__)))} on "
        f"{html.escape(name)}</h1>"
    ]
    parts.append(
        _table(
            ["test accuracy", "test loss", "parameters", "epochs trained", "test images"],
            [
                [
                    f"{100 * ev['acc']:.2f} %",
                    f"{ev['loss']:.4f}",
                    f"{count_parameters(model):,}",
                    ckpt["epoch"],
                    eval_limit or len(test),
                ]
            ],
        )
    )
    if ev["rates"]:
        parts.append(_table(["layer", "mean firing rate"], [[k, f"{v:.4f}"] for k, v in ev["rates"].items()]))

    if profile_batch:
        parts.append(_profile_section(model, test, profile_batch, seed))

    history = ckpt.get("history") or []
    if history:
        parts.append("<h2>Training</h2>" + _img("training curves", plot.training_curves(history)))

    x = test.images[index : index + 1]
    with torch.no_grad(), record(model) as rec:
        logits = model(x)
    parts.append(
        f"<h2>Test image {index}</h2><p>label {int(test.targets[index])}, predicted "
        f"{int(logits.argmax(1))}</p>"
    )
    first = next(iter(rec))
    example = plot.example_neuron(rec[first], sample=0)  # fires, but not at every step
    threshold = threshold_of(model.get_submodule(first), example)
    parts.append(_img("membrane and output of every layer", plot.layer_heatmap(rec)))
    parts.append(_img(f"spike raster of {first}", plot.raster(rec[first].spikes, sample=0)))
    parts.append(
        _img(
            f"{first}: neuron {example}",
            plot.neuron_trace(rec[first], neuron=example, threshold=threshold),
        )
    )
    parts.append(_img("firing rates", plot.rate_histogram(rec)))
    linear = next((m for m in model.modules() if isinstance(m, torch.nn.Linear)), None)
    if linear is not None and linear.in_features == x[0].numel():
        parts.append("<h2>Receptive fields</h2>")
        parts.append(
            _img(
                "input weights of the first 25 neurons",
                plot.receptive_fields(linear.weight.detach()[:25], tuple(x.shape[-2:])),
            )
        )

    parts.append("<h2>Does backpropagation engender STDP?</h2>")
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(test), generator=g)[:stdp_batch]
    try:
        torch.manual_seed(seed)
        win = network_window(model, test.images[idx], test.targets[idx])
    except (ValueError, TypeError) as err:
        parts.append(f'<p class="note">not available for this model: {html.escape(str(err))}</p>')
    else:
        parts.append(
            f'<p class="note">BPTT weight gradient vs a pair-based STDP rule on the same spike '
            f"trains, {len(idx)} test images.</p>"
        )
        parts.append(_markdown_table(win.markdown()))
        parts.append(_img("gradient-weighted window per layer", plot.stdp_window(win)))

    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>spikekit report</title>"
        f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
    return atomic_write_text(out, page)
