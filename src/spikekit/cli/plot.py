"""``spikekit plot model`` (what every layer of a trained model did on one test image) and ``spikekit plot
events SAMPLE`` (an event recording as a GIF, an x-y-t scatter, frames or a raster)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import _common

KINDS = ("all", "animation", "scatter", "frames", "raster")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    c = _common
    parser = c.add_command(
        subparsers,
        "plot",
        "plots: `plot model` (a trained model) or `plot events SAMPLE`",
        "spikekit plot model --checkpoint runs/mlp/checkpoint.pt --out plots",
        "spikekit plot events nmnist-small:train:0 --out figures",
    )
    plots = parser.add_subparsers(dest="what", required=True, metavar="WHAT")
    p = c.add_command(
        plots,
        "model",
        "what every layer of a trained model did on one test image",
        "spikekit plot model --checkpoint runs/mlp/checkpoint.pt --index 3 --out plots",
        "spikekit plot model --checkpoint runs/mlp --no-gif   # PNG files only",
    )
    p.add_argument(
        "--checkpoint",
        type=c.existing_path,
        required=True,
        help="checkpoint.pt written by spikekit train or spikekit.train.fit (or the folder holding it)",
    )
    c.add_dataset_arg(p, None)
    p.add_argument("--index", type=c.nonnegative_int, default=0, help="which test image")
    p.add_argument("--fields", type=c.positive_int, default=25, help="receptive fields to draw")
    p.add_argument("--out", type=c.output_dir, default="plots", help="output folder")
    c.add_seed_arg(p, "seeds the stochastic encoders")
    p.add_argument("--no-gif", action="store_true", help="skip the animation of every layer (activity.gif)")
    c.add_json_arg(p, "also write what was drawn as JSON to PATH")
    p.set_defaults(func=run)

    p = c.add_command(
        plots,
        "events",
        "an event recording as a GIF, an x-y-t scatter, frames or a raster",
        "spikekit plot events nmnist-small:train:0 --out figures",
        "spikekit plot events shd_test.h5 --index 3 --kind raster",
    )
    add_plot_events_arguments(p)
    p.set_defaults(func=run)
    return parser


def add_plot_events_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``spikekit plot events``."""
    p.add_argument(
        "sample",
        metavar="SAMPLE",
        help="an N-MNIST .bin/.bs2 file, an SHD .h5 file (with --index), or DATASET:SPLIT:INDEX "
        "(e.g. nmnist-small:train:0, shd:test:3; found through --data-dir / $SPIKEKIT_DATA)",
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="folder with the dataset, for DATASET:SPLIT:INDEX (default: $SPIKEKIT_DATA)",
    )
    p.add_argument(
        "--index", type=_common.nonnegative_int, default=0, help="recording index in an SHD .h5 file"
    )
    p.add_argument("--kind", choices=KINDS, default="all", help="which plot(s); all: every one that applies")
    p.add_argument(
        "--out",
        type=_common.output_dir,
        default=".",
        help="folder for the files (<name>.gif, <name>-xyt.png, ...)",
    )
    p.add_argument(
        "--time-window",
        type=_common.positive_float,
        default=10_000.0,
        help="animation: microseconds per frame",
    )
    p.add_argument("--fps", type=_common.positive_int, default=10, help="animation: frames per second")
    p.add_argument("--bins", type=_common.positive_int, default=8, help="frame grid: number of time bins")
    p.add_argument(
        "--json", type=_common.output_file, default=None, metavar="PATH", help="write what was drawn as JSON"
    )


def run(args: argparse.Namespace) -> int:
    return run_events(args) if args.what == "events" else run_model(args)


# --- plot model ----------------------------------------------------------------------------------------
def run_model(args: argparse.Namespace) -> int:
    """What every layer of a trained model did on one test image, as PNG files (and a GIF)."""
    import torch

    from .. import plot
    from ..nn import record

    ckpt, model = _common.load_trained(args.checkpoint)
    images, targets = _common.load_test_set(ckpt, args)
    if not 0 <= args.index < len(images):
        raise ValueError(f"--index must lie in [0, {len(images) - 1}], got {args.index}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    with torch.no_grad(), record(model) as rec:
        logits = model(images[args.index : args.index + 1])
    pred, label = int(logits.argmax(1)), int(targets[args.index])
    written = []

    def save(name: str, fn, *a, **kw) -> None:
        path = out / name
        fn(*a, path=path, **kw)
        written.append(str(path))

    save("heatmaps.png", plot.layer_heatmap, rec)
    save("rates.png", plot.rate_histogram, rec)
    first_layer = next(iter(rec))
    save("raster.png", plot.raster, rec[first_layer].spikes[:, 0])
    save(
        "neuron.png",
        plot.neuron_trace,
        rec[first_layer],
        neuron=int(rec[first_layer].spikes[:, 0].sum(0).argmax()),
    )
    linear = next((m for m in model.modules() if isinstance(m, torch.nn.Linear)), None)
    if linear is not None and linear.in_features == images[0].numel():
        save(
            "receptive_fields.png",
            plot.receptive_fields,
            linear.weight.detach()[: args.fields],
            tuple(images.shape[-2:]),
        )
    checkpoint = Path(args.checkpoint)
    metrics = checkpoint / "metrics.jsonl" if checkpoint.is_dir() else checkpoint.with_name("metrics.jsonl")
    if metrics.is_file():
        save("curves.png", plot.training_curves, metrics)
    if not args.no_gif:
        path = out / "activity.gif"
        plot.animate_layers(rec, path)
        written.append(str(path))
    print(f"test image {args.index}: label {label}, predicted {pred}")
    print("\n".join(f"wrote {p}" for p in written))
    _common.write_json_output(
        args.json, {"index": args.index, "label": label, "predicted": pred, "files": written}
    )
    return 0


# --- plot events ---------------------------------------------------------------------------------------
def run_events(args: argparse.Namespace) -> int:
    result = plot_events_command(args)
    for f in result["files"]:
        print(f"wrote {f}")
    _common.write_json_output(args.json, result)
    return 0


def load_sample(sample: str, data_dir: str | None = None, index: int = 0) -> tuple[Any, str, str]:
    """``(events, kind 'camera' | 'cochlea', name for the files)`` of a SAMPLE argument."""
    from ..data.events import EVENT_SPECS, ShdFile, load_events, normalize_event_name, read_nmnist

    path = Path(sample)
    if path.is_file():
        if path.suffix.lower() in (".h5", ".hdf5"):
            return ShdFile(path).read(index), "cochlea", f"{path.stem}-{index}"
        return read_nmnist(path), "camera", path.stem
    parts = sample.split(":")
    if len(parts) != 3 or not parts[2].lstrip("-").isdigit():
        raise ValueError(
            f"SAMPLE must be an existing file or DATASET:SPLIT:INDEX (e.g. nmnist-small:train:0), "
            f"got {sample!r}"
        )
    key = normalize_event_name(parts[0])
    dataset = load_events(key, data_dir, split=parts[1])
    i = int(parts[2])
    return dataset.events(i), EVENT_SPECS[key].kind, f"{key}-{parts[1]}-{i}"


def plot_events_command(args: argparse.Namespace) -> dict[str, Any]:
    """Draw and save ``spikekit plot events``' figures; return ``{"sample", "kind", "events", "files"}``."""
    from ..plot.events import plot_recording

    events, kind, name = load_sample(args.sample, args.data_dir, args.index)
    if len(events) == 0:
        raise ValueError(f"SAMPLE {args.sample!r} holds no events: nothing to draw")
    plots = None
    if args.kind != "all":
        if (args.kind == "raster") != (kind == "cochlea"):
            raise ValueError(f"--kind {args.kind} does not apply to a {kind} recording")
        plots = [args.kind]
    files = plot_recording(
        events,
        args.out,
        name,
        kind=kind,
        plots=plots,
        sensor_size=(34, 34, 2),  # N-MNIST's, the one camera format read here
        time_window=args.time_window,
        fps=args.fps,
        bins=args.bins,
    )
    return {"sample": args.sample, "kind": kind, "events": len(events), "files": [str(f) for f in files]}
