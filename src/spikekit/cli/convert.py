"""``spikekit convert``: train (or load) a small ANN, convert it to a spiking network
(:func:`spikekit.convert.convert`) and tabulate its accuracy against ``T`` beside the ANN's."""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from typing import Any

from . import _common

ANNS = ("cnn", "mlp")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    c = _common
    p = c.add_command(
        subparsers,
        "convert",
        "ANN -> SNN conversion: accuracy against T beside the ANN's",
        "spikekit convert                                     # a small CNN on the embedded digits",
        "spikekit convert --dataset mnist --download --epochs 3 --save-ann ann.pt",
        "spikekit convert --dataset mnist --ann-checkpoint ann.pt --steps 16,32,64 --percentile 99.9",
    )
    c.add_dataset_arg(p, "digits", "digits | mnist | fashion-mnist | mnist-10k | idx (images)")
    c.add_limit_args(p)
    p.add_argument("--ann", choices=list(ANNS), default="cnn", help="the ANN: a small CNN or an MLP")
    p.add_argument(
        "--ann-checkpoint",
        type=c.existing_file,
        default=None,
        help="a state dict saved before with --save-ann",
    )
    p.add_argument(
        "--save-ann", type=c.output_file, default=None, metavar="PATH", help="save the trained ANN's weights"
    )
    p.add_argument("--epochs", type=c.positive_int, default=3, help="ANN training epochs (Adam, cosine)")
    p.add_argument("--batch-size", type=c.positive_int, default=128, help="ANN training batch size")
    p.add_argument("--lr", type=c.learning_rate, default=1e-3, help="ANN learning rate")
    c.add_seed_arg(p, "seeds the ANN's weights and data order")
    p.add_argument("--steps", type=c.positive_ints, default="32,64,128,256", help="comma-separated T values")
    p.add_argument(
        "--percentile", type=c.percentile_float, default=99.99, help="normalisation percentile (100 = max)"
    )
    p.add_argument(
        "--calibration", type=c.positive_int, default=1000, help="training images used for normalisation"
    )
    p.add_argument("--no-bias", action="store_true", help="bias-free conversion")
    p.add_argument(
        "--eval-batch-size", type=c.positive_int, default=500, help="batch size when evaluating the SNN"
    )
    p.add_argument("--device", type=c.device, default="cpu", help="cpu | cuda[:N] | auto")
    c.add_progress_arg(p)
    c.add_log_every_arg(p)
    c.add_json_arg(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
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
        steps=[int(t) for t in _common.csv(args.steps)],
        percentile=args.percentile,
        calibration_size=args.calibration,
        bias=not args.no_bias,
        eval_batch_size=args.eval_batch_size,
        device=args.device,
        progress=_common.show_progress(args),
        json_path=args.json,
        log=_common.fit_logging(args)["log"],
        log_every=_common.fit_logging(args)["log_every"],
    )
    return 0


def build_ann(kind: str, shape: tuple[int, ...], n_out: int, bias: bool):
    """The ANN of ``--ann``: :func:`~spikekit.convert.convertible_cnn` or ``convertible_mlp``."""
    from ..convert import convertible_cnn, convertible_mlp

    if kind == "cnn":
        # bias-free: no BatchNorm either (folding it creates biases that would then be dropped)
        return convertible_cnn(shape[0], shape[-1], n_out, batch_norm=bias, bias=bias)
    return convertible_mlp(math.prod(shape), (256,), n_out, bias=bias)


def run_convert(
    *,
    dataset: str = "digits",
    data_dir: str | None = None,
    download: bool = False,
    train_limit: int | None = None,
    test_limit: int | None = None,
    ann: str = "cnn",
    ann_checkpoint: str | None = None,
    save_ann: str | None = None,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    steps: Sequence[int] = (32, 64, 128, 256),
    percentile: float = 99.99,
    calibration_size: int = 1000,
    bias: bool = True,
    eval_batch_size: int = 500,
    device: str = "cpu",
    progress: bool | None = True,
    json_path: str | None = None,
    log: Any = None,
    log_every: int | None = None,
) -> dict[str, Any]:
    """Train (or load) a small ANN, convert it, and print its accuracy beside the SNN's for each ``T``.

    This is what ``spikekit convert`` runs. The ANN (``ann="cnn"``: :func:`~spikekit.convert.convertible_cnn`,
    ``"mlp"``: :func:`~spikekit.convert.convertible_mlp`) is trained with Adam and a cosine schedule
    (:func:`spikekit.train.fit`) unless ``ann_checkpoint`` names a state dict saved before with
    ``save_ann``. Calibration uses the first ``calibration_size`` training images. Returns (and with
    ``json_path`` writes) the table's facts.
    """
    import torch

    from .. import data
    from .._checks import check_positive_int
    from .._io import load_checkpoint, save_checkpoint
    from ..convert import accuracy_over_time, ann_accuracy, check_steps, convert
    from ..train import TrainConfig, fit

    if ann not in ANNS:
        raise ValueError(f"ann must be one of {', '.join(map(repr, ANNS))}; got {ann!r}")
    wanted = check_steps(steps)
    check_positive_int(calibration_size, "calibration_size")
    train, test = data.load(dataset, data_dir, download=download)
    if train_limit is not None:
        train = train.subset(train_limit)
    if test_limit is not None:
        test = test.subset(test_limit)
    shape = tuple(train.images.shape[1:])
    torch.manual_seed(seed)
    model = build_ann(ann, shape, train.num_classes, bias)
    t0 = time.perf_counter()
    if ann_checkpoint:
        state = load_checkpoint(ann_checkpoint)
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise ValueError(f"--ann-checkpoint {ann_checkpoint} is not a state dict saved with --save-ann")
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0]
            raise ValueError(
                f"--ann-checkpoint {ann_checkpoint} does not fit a {ann!r} ANN on {dataset} ({first}); "
                "give the --ann and --dataset it was saved with"
            ) from None
        trained = f"loaded from {ann_checkpoint}"
    else:
        cfg = TrainConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, schedule="cosine", seed=seed, device=device
        )
        fit(model, train, None, cfg, progress=progress, log=log, log_every=log_every)
        trained = f"trained {epochs} epoch(s) in {time.perf_counter() - t0:.0f} s"
    if save_ann:
        save_checkpoint(model.state_dict(), save_ann)
    model = model.cpu().eval()
    ann_acc = ann_accuracy(model, test, device=device)
    t1 = time.perf_counter()
    snn = convert(model, train.images[:calibration_size], percentile=percentile, bias=bias, steps=wanted[-1])
    accs = accuracy_over_time(snn, test, wanted, batch_size=eval_batch_size, device=device, progress=progress)
    seconds = time.perf_counter() - t1
    rows = [["ANN", "-", f"{100 * ann_acc:.2f}", "-"]]
    rows += [["SNN", t, f"{100 * a:.2f}", f"{100 * (a - ann_acc):+.2f}"] for t, a in accs.items()]
    print(
        f"{ann} on {dataset}: {len(train)} training / {len(test)} test images; ANN {trained}; "
        f"normalised at the {percentile:g}th percentile of {min(calibration_size, len(train))} images; "
        f"bias {'kept' if bias else 'dropped'}"
    )
    print(_common.format_table(["network", "T", "test acc %", "vs ANN (pp)"], rows))
    result = {
        "dataset": dataset,
        "ann": ann,
        "train_size": len(train),
        "test_size": len(test),
        "epochs": None if ann_checkpoint else epochs,
        "seed": seed,
        "percentile": percentile,
        "calibration_size": min(calibration_size, len(train)),
        "bias": bias,
        "ann_acc": ann_acc,
        "snn_acc": {str(t): a for t, a in accs.items()},
        "lambdas": snn.lambdas,
        "snn_eval_seconds": seconds,
    }
    _common.write_json_output(json_path, result)
    return result
