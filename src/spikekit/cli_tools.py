"""``spikekit`` subcommands beyond training: analysis, plots, report, conversion, NIR export, bench."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .cli import _write_json


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _load_trained(checkpoint: str):
    from .models import model_from_checkpoint
    from .train import load_checkpoint

    ckpt = load_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt)
    model.eval()
    return ckpt, model


def _test_batch(ckpt: dict[str, Any], args: argparse.Namespace):
    from . import data

    extra = ckpt.get("extra", {})
    name = args.dataset or extra.get("dataset")
    if not name:
        raise ValueError("give --dataset: the checkpoint does not name its dataset")
    test = data.load(name, args.data_dir or extra.get("data_dir"), split="test")
    return test.images, test.targets


# --- stdp-window -----------------------------------------------------------------------------------------
def cmd_stdp_window(args: argparse.Namespace) -> int:
    from .analysis import run_stdp_window

    if args.checkpoint:
        return _network_window(args)
    table = run_stdp_window(
        _csv(args.neurons),
        _csv(args.surrogates),
        _csv(args.losses),
        decay=args.decay,
        threshold=args.threshold,
        max_dt=args.max_dt,
        steps_after=args.steps_after,
        remedies=_csv(args.remedies),
        weight=args.weight,
        weight_decay=args.weight_decay,
        after_potential_tau=args.after_potential_tau,
        after_potential_scale=args.after_potential_scale,
        target_rate=args.target_rate,
        json_path=args.json,
        figure_path=args.figure,
        progress=not args.no_progress,
    )
    print(table.markdown())
    for path in (args.json, args.figure):
        if path:
            print(f"wrote {path}")
    return 0


def _network_window(args: argparse.Namespace) -> int:
    import torch

    from .analysis import network_window

    ckpt, model = _load_trained(args.checkpoint)
    images, targets = _test_batch(ckpt, args)
    g = torch.Generator().manual_seed(args.seed)
    idx = torch.randperm(len(images), generator=g)[: args.batch_size]
    torch.manual_seed(args.seed)
    res = network_window(
        model,
        images[idx],
        targets[idx],
        weight_decay=args.weight_decay if args.remedies and "weight_decay" in args.remedies else 0.0,
        max_dt=args.max_dt,
    )
    print(res.markdown())
    if args.figure:
        res.figure(args.figure)
        print(f"wrote {args.figure}")
    _write_json(args.json, res.to_dict())
    return 0


# --- plot ------------------------------------------------------------------------------------------------
def cmd_plot(args: argparse.Namespace) -> int:
    """What every layer of a trained model did on one test image, as PNG files (and a GIF)."""
    import torch

    from . import plot
    from .nn import record

    ckpt, model = _load_trained(args.checkpoint)
    images, targets = _test_batch(ckpt, args)
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
    metrics = Path(args.checkpoint).with_name("metrics.jsonl")
    if metrics.is_file():
        save("curves.png", plot.training_curves, metrics)
    if not args.no_gif:
        path = out / "activity.gif"
        plot.animate_layers(rec, path)
        written.append(str(path))
    print(f"test image {args.index}: label {label}, predicted {pred}")
    print("\n".join(f"wrote {p}" for p in written))
    _write_json(args.json, {"index": args.index, "label": label, "predicted": pred, "files": written})
    return 0


def cmd_plot_events(args: argparse.Namespace) -> int:
    from .plot.events import plot_events_command

    result = plot_events_command(args)
    for f in result.get("files", []):
        print(f"wrote {f}")
    _write_json(args.json, result)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .plot.report import build_report

    path = build_report(
        args.checkpoint,
        args.out,
        dataset=args.dataset,
        data_dir=args.data_dir,
        index=args.index,
        stdp_batch=args.stdp_batch,
        eval_limit=args.eval_limit,
        seed=args.seed,
    )
    print(f"wrote {path} (open it in a browser; it is one self-contained file)")
    _write_json(args.json, {"report": str(path)})
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from .convert import run_convert

    run_convert(
        dataset=args.dataset,
        data_dir=args.data_dir,
        download=args.download,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        ann=args.ann,
        ann_checkpoint=args.ann_checkpoint,
        save_ann=args.save_ann,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        steps=[int(t) for t in _csv(args.steps)],
        percentile=args.percentile,
        calibration_size=args.calibration,
        bias=not args.no_bias,
        eval_batch_size=args.eval_batch_size,
        device=args.device,
        progress=not args.no_progress,
        json_path=args.json,
    )
    return 0


def cmd_export_nir(args: argparse.Namespace) -> int:
    from .interop import run_export_nir

    run_export_nir(
        checkpoint=args.checkpoint,
        out=args.out,
        dt=args.dt,
        include_readout=not args.no_readout,
        verify_batch=args.verify_batch,
        seed=args.seed,
        json_path=args.json,
    )
    return 0


def cmd_stdp(args: argparse.Namespace) -> int:
    from .cli import format_table
    from .learning.run import run_stdp

    res = run_stdp(
        args.neurons,
        args.dataset,
        args.data_dir,
        epochs=args.epochs,
        batch=args.batch,
        seed=args.seed,
        out_dir=args.out,
        resume=args.resume,
        json_path=args.json,
        mode=args.mode,
        limit_train=args.train_limit,
        limit_test=args.test_limit,
        plots=not args.no_plots,
        progress=not args.no_progress,
        download=args.download,
    )
    keys = ("neurons", "dataset", "n_train", "n_test", "accuracy_vote", "accuracy_logistic", "train_seconds")
    print(format_table(keys, [[res.get(k, "-") for k in keys]]))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import bench_command

    bench_command(args)
    return 0


def register(sub: Any) -> None:
    from .bench import add_bench_arguments

    p = sub.add_parser("stdp", help="unsupervised STDP learning: Diehl & Cook's network")
    p.add_argument("--neurons", type=int, default=100, help="excitatory neurons")
    p.add_argument("--dataset", default="mnist-10k", help="mnist-10k | mnist | fashion-mnist | idx | digits")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--download", action="store_true")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=10, help="images presented at once (see docs/diehl_cook.md)")
    p.add_argument("--mode", default="batch", help="batch (parallel presentation) or online (sequential)")
    p.add_argument("--train-limit", type=int, default=None)
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for checkpoints, plots and results")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", default=None, metavar="PATH")
    p.set_defaults(func=cmd_stdp)

    p = sub.add_parser("convert", help="ANN -> SNN conversion: accuracy against T beside the ANN's")
    p.add_argument("--dataset", default="digits")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--download", action="store_true")
    p.add_argument("--train-limit", type=int, default=None)
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--ann", choices=["cnn", "mlp"], default="cnn")
    p.add_argument("--ann-checkpoint", default=None, help="a state dict saved before with --save-ann")
    p.add_argument("--save-ann", default=None, metavar="PATH")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", default="32,64,128,256", help="comma-separated T values")
    p.add_argument("--percentile", type=float, default=99.99, help="normalisation percentile (100 = max)")
    p.add_argument("--calibration", type=int, default=1000, help="training images used for normalisation")
    p.add_argument("--no-bias", action="store_true", help="bias-free conversion")
    p.add_argument("--eval-batch-size", type=int, default=500)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", default=None, metavar="PATH")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("export-nir", help="export a trained model to a NIR file (and verify it)")
    p.add_argument("--checkpoint", required=True, help="checkpoint.pt, or the train --out folder")
    p.add_argument("--out", required=True, help="the .nir file to write")
    p.add_argument("--dt", type=float, default=1e-4, help="time step in seconds for NIR's time constants")
    p.add_argument("--no-readout", action="store_true", help="end the graph at the output layer's current")
    p.add_argument("--verify-batch", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, metavar="PATH")
    p.set_defaults(func=cmd_export_nir)

    p = sub.add_parser("bench", help="speed and memory against snnTorch, SpikingJelly and Norse")
    add_bench_arguments(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("stdp-window", help="does backpropagation engender STDP? (controlled or in a network)")
    p.add_argument("--neurons", default="RefractoryLIF,LIF")
    p.add_argument("--surrogates", default="atan,sigmoid,fast_sigmoid,triangle,rectangle,straight_through")
    p.add_argument("--losses", default="post,all,rate")
    p.add_argument("--remedies", default="weight_decay,after_potential", help='comma list, "" for none')
    p.add_argument("--decay", type=float, default=0.9)
    p.add_argument("--threshold", type=float, default=1.0)
    p.add_argument("--max-dt", type=int, default=30)
    p.add_argument("--steps-after", type=int, default=50)
    p.add_argument("--weight", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--after-potential-tau", type=float, default=20.0)
    p.add_argument("--after-potential-scale", type=float, default=1.0)
    p.add_argument("--target-rate", type=float, default=0.8)
    p.add_argument("--checkpoint", default=None, help="in-network mode: a model trained by spikekit train")
    p.add_argument("--dataset", default=None, help="in-network mode: dataset (default: the checkpoint's)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--figure", default=None, metavar="PATH")
    p.add_argument("--json", default=None, metavar="PATH")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_stdp_window)

    plot_parser = sub.add_parser("plot", help="plots: `plot model` (a trained model) or `plot events SAMPLE`")
    plots = plot_parser.add_subparsers(dest="what", required=True, metavar="WHAT")
    p = plots.add_parser("model", help="what every layer of a trained model did on one test image")
    p.add_argument("--checkpoint", required=True, help="checkpoint.pt written by spikekit train --out")
    p.add_argument("--dataset", default=None, help="default: the checkpoint's dataset")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--index", type=int, default=0, help="which test image")
    p.add_argument("--fields", type=int, default=25, help="receptive fields to draw")
    p.add_argument("--out", default="plots", help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-gif", action="store_true")
    p.add_argument("--json", default=None, metavar="PATH")
    p.set_defaults(func=cmd_plot)

    p = plots.add_parser("events", help="an event recording as a GIF, an x-y-t scatter, frames or a raster")
    from .plot.events import add_plot_events_arguments

    add_plot_events_arguments(p)
    p.set_defaults(func=cmd_plot_events)

    p = sub.add_parser("report", help="one self-contained HTML page about a trained model")
    p.add_argument("--checkpoint", required=True, help="checkpoint.pt written by spikekit train --out")
    p.add_argument("--dataset", default=None, help="default: the checkpoint's dataset")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--index", type=int, default=0, help="the test image whose activity is shown")
    p.add_argument("--stdp-batch", type=int, default=64, help="test images for the STDP comparison")
    p.add_argument("--eval-limit", type=int, default=None, help="evaluate on the first N test images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="report.html")
    p.add_argument("--json", default=None, metavar="PATH")
    p.set_defaults(func=cmd_report)
