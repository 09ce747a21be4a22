"""``spikekit stdp``: Diehl & Cook's network (:class:`~spikekit.models.diehl_cook.DiehlCook`) trained with
STDP, its neurons labelled, tested, and the results tabulated.

- :func:`train_diehl_cook`: the training loop, with a progress bar, checkpoints written atomically every
  ``checkpoint_every`` images and resume that ends with the same weights as an uninterrupted run.
- :func:`run_stdp`: load a dataset, train, label the neurons, test (votes and a logistic-regression
  readout), write JSON results and figures.
- :func:`summary`: a human-readable table of :func:`run_stdp`'s result.

Reproducibility: every batch draws its Poisson input from its own generator, seeded from
``(seed, epoch, batch index)``, and each epoch's order from ``(seed, epoch)``; so a run resumed from a
checkpoint replays exactly the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._io import load_checkpoint, save_checkpoint, write_json
from .._io import progress as progress_bar
from . import _common

if TYPE_CHECKING:
    import torch

__all__ = ["CHECKPOINT_FORMAT", "add_parser", "run", "run_stdp", "summary", "train_diehl_cook"]

CHECKPOINT_FORMAT = "spikekit.diehl_cook/1"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    c = _common
    p = c.add_command(
        subparsers,
        "stdp",
        "unsupervised STDP learning: Diehl & Cook's network",
        "spikekit stdp --dataset digits --neurons 100 --out runs/stdp",
        "spikekit stdp --dataset mnist-10k --download --neurons 400 --batch-size 10 --out runs/dc400",
        "spikekit stdp --out runs/dc400 --resume   # continue an interrupted run",
    )
    p.add_argument("--neurons", type=c.positive_int, default=100, help="excitatory neurons")
    c.add_dataset_arg(p, "mnist-10k", "mnist-10k | mnist | fashion-mnist | idx | digits")
    c.add_limit_args(p)
    p.add_argument("--epochs", type=c.positive_int, default=1, help="passes over the training images")
    p.add_argument(
        "--batch-size",
        type=c.positive_int,
        default=10,
        help="images presented at once (see docs/diehl_cook.md)",
    )
    c.deprecated_alias(p, "--batch", "batch_size", type=c.positive_int)
    p.add_argument(
        "--mode",
        choices=["batch", "online"],
        default="batch",
        help="batch (parallel presentation) or online (sequential)",
    )
    c.add_seed_arg(p, "seeds the weights, every epoch's order and every Poisson input")
    p.add_argument("--out", type=c.output_dir, default=None, help="folder for checkpoints, plots and results")
    p.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--no-plots", action="store_true", help="skip the figures (weights, thresholds, ...)")
    c.add_progress_arg(p)
    c.add_json_arg(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    if args.out and not args.resume and not args.overwrite and (Path(args.out) / "checkpoint.pt").exists():
        raise _common.UsageError(
            f"--out {args.out} already holds a run (checkpoint.pt); give --resume to continue it, "
            "--overwrite to replace it, or another --out"
        )
    res = run_stdp(
        args.neurons,
        args.dataset,
        args.data_dir,
        epochs=args.epochs,
        batch=args.batch_size,
        seed=args.seed,
        out_dir=args.out,
        resume=args.resume,
        json_path=args.json,
        mode=args.mode,
        limit_train=args.train_limit,
        limit_test=args.test_limit,
        plots=not args.no_plots,
        progress=_common.show_progress(args),
        download=args.download,
        log=_common.log_line if _common.verbosity(args) > 0 else None,
    )
    keys = ("neurons", "dataset", "n_train", "n_test", "accuracy_vote", "accuracy_logistic", "train_seconds")
    print(_common.format_table(keys, [[res.get(k, "-") for k in keys]]))
    return 0


_MIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)


def _seed(*parts: int) -> int:
    """A 63-bit seed mixed from small integers (splitmix-style), stable across runs and platforms."""
    h = 0
    for k, v in enumerate(parts):
        h = (h ^ ((int(v) + 1) * _MIX[k % 3])) & 0xFFFFFFFFFFFFFFFF
        h = ((h ^ (h >> 31)) * _MIX[(k + 1) % 3]) & 0xFFFFFFFFFFFFFFFF
    return h & 0x7FFFFFFFFFFFFFFF


def _generator(*parts: int, device: torch.device | str = "cpu") -> torch.Generator:
    import torch

    return torch.Generator(device=device).manual_seed(_seed(*parts))


def _snapshot(model: Any, images: int) -> dict:
    import torch

    w = model.input.weight.detach().float().cpu().clamp(0.0, model.params.w_max)
    hist = torch.histc(w, bins=50, min=0.0, max=model.params.w_max)
    return {"images": images, "theta": model.theta.detach().cpu().clone(), "weight_hist": hist}


def train_diehl_cook(
    model: Any,
    images: torch.Tensor,
    *,
    epochs: int = 1,
    batch_size: int = 10,
    seed: int = 0,
    mode: str = "batch",
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 1000,
    resume: bool = False,
    stop_after: int | None = None,
    progress: bool | None = True,
    on_batch: Callable[[int], None] | None = None,
) -> dict:
    """Train ``model`` (a :class:`~spikekit.models.diehl_cook.DiehlCook`) on ``images`` without labels.

    Each epoch shows the images in a fresh random order, ``batch_size`` at a time. An image that makes
    fewer than ``min_spikes`` spikes is shown again, at a higher rate, in the next batch (with
    ``batch_size=1``: right away, as in the paper).

    Args:
        model: the network; trained in place.
        images: ``[N, ...]`` in [0, 1].
        epochs: passes over ``images`` (int >= 1).
        batch_size: images presented at once (1 with ``mode="online"``: the paper's sequential algorithm).
        seed: fixes the order of every epoch and every Poisson input.
        mode: ``"batch"`` or ``"online"`` (see :meth:`DiehlCook.attempt`).
        checkpoint: a file to save to (atomically: a temporary file, then ``os.replace``) every
            ``checkpoint_every`` images, at each epoch's end, and when stopped.
        checkpoint_every: new images between checkpoints.
        resume: continue from ``checkpoint`` if it exists (same model, data size, batch, seed, mode);
            ends with the same weights as an uninterrupted run.
        stop_after: stop (and checkpoint) once this many new images have been taken in total, as an
            interrupted run would; ``resume`` continues from there.
        progress: show a progress bar (``None``: only when stderr is a terminal).
        on_batch: called with the number of images taken so far after every batch.

    Returns:
        ``{"images_seen", "presentations", "seconds", "images_per_second", "history", "completed",
        "resumed_from"}``; ``history`` holds snapshots (thresholds, weight histogram) at every checkpoint.

    Raises:
        ValueError: a checkpoint that does not match this run (size, batch, seed, mode, data size).
    """
    import torch

    from .._checks import check_choice, check_positive_int
    from ..models.diehl_cook import RetryQueue

    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    mode = check_choice(mode, "mode", ("batch", "online"))
    n = len(images)
    if n == 0:
        raise ValueError("images is empty: nothing to train on")
    device = model.input.weight.device
    x_all = model.flatten_images(images)
    run_key = {"n_images": n, "batch_size": batch_size, "seed": int(seed), "mode": mode}
    pos = {"epoch": 0, "pos": 0, "round": 0, "seen": 0, "presentations": 0}
    queue, history, spent, resumed_from = RetryQueue.empty(device), [], 0.0, None
    if resume and checkpoint is not None and Path(checkpoint).exists():
        ck = load_checkpoint(checkpoint, map_location="cpu")
        _check_checkpoint(ck, model, run_key, checkpoint)
        model.load_state_dict(ck["state_dict"])
        pos, history, spent = dict(ck["position"]), ck["history"], ck["seconds"]
        queue = RetryQueue.from_state(ck["queue"], device)
        resumed_from = pos["seen"]
    if not history:
        history.append(_snapshot(model, 0))  # the starting point of the threshold/weight histograms
    total = epochs * n
    bar = progress_bar(
        total=total,
        initial=min(pos["seen"], total),
        desc=f"STDP {model.n_neurons} neurons",
        unit="img",
        enabled=progress,
    )
    start = time.perf_counter()
    seen_at_start = pos["seen"]

    def save() -> None:
        history.append(_snapshot(model, pos["seen"]))
        if checkpoint is None:
            return
        save_checkpoint(
            {
                "format": CHECKPOINT_FORMAT,
                "config": model.config(),
                "run": run_key,
                "state_dict": model.state_dict(),
                "position": dict(pos),
                "queue": queue.state(),
                "history": history,
                "seconds": spent + time.perf_counter() - start,
            },
            checkpoint,
        )

    stopped = False
    try:
        while pos["epoch"] < epochs and not stopped:
            order = torch.randperm(n, generator=_generator(seed, pos["epoch"], -1)).to(device)
            while pos["pos"] < n or len(queue):
                idx, rates, tries, pos["pos"] = queue.fill(order, pos["pos"], batch_size, model.params.rate)
                g = _generator(seed, pos["epoch"], pos["round"], device=device)
                counts = model.attempt(x_all[idx], rates.to(x_all.dtype), learn=True, mode=mode, generator=g)
                queue.requeue(idx, rates, tries, counts, model.params)
                new = int((tries == 0).sum())
                before = pos["seen"]
                pos["seen"] += new
                pos["round"] += 1
                pos["presentations"] += len(idx)
                bar.update(new)
                if on_batch is not None:
                    on_batch(pos["seen"])
                stopped = stop_after is not None and pos["seen"] >= stop_after and pos["seen"] < total
                if pos["pos"] >= n and not len(queue):  # the epoch is over
                    pos.update(epoch=pos["epoch"] + 1, pos=0, round=0)
                    save()
                    break
                if stopped or pos["seen"] // checkpoint_every > before // checkpoint_every:
                    save()
                if stopped:
                    break
    finally:
        bar.close()
    if not stopped:
        from ..learning import normalize_weights

        normalize_weights(model.input, model.norm)
    elapsed = time.perf_counter() - start
    return {
        "images_seen": pos["seen"],
        "presentations": pos["presentations"],
        "seconds": spent + elapsed,
        "images_per_second": (pos["seen"] - seen_at_start) / max(elapsed, 1e-9),
        "history": history,
        "completed": not stopped,
        "resumed_from": resumed_from,
    }


def _tenths(log: Callable[[str], None] | None, total: int, progress: bool | None):
    """Without a progress bar: an ``on_batch`` that logs a line at every tenth of the ``total`` images."""
    shown = progress if progress is not None else sys.stderr.isatty()
    if log is None or shown:
        return None
    start, step, state = time.perf_counter(), max(1, total // 10), {"next": max(1, total // 10)}

    def on_batch(seen: int) -> None:
        if seen >= state["next"]:
            elapsed = time.perf_counter() - start
            log(f"STDP: {seen}/{total} images ({100 * seen / total:.0f} %), {elapsed:.1f} s")
            # the next tenth; after the last image, nothing more (retries of the last batch take no new one)
            state["next"] = total + 1 if seen >= total else min((seen // step + 1) * step, total)

    return on_batch


def _check_checkpoint(ck: Any, model: Any, run_key: dict, path: Any) -> None:
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a DiehlCook training checkpoint (format {CHECKPOINT_FORMAT!r})")
    if ck["config"] != model.config():
        diff = {k: (ck["config"].get(k), v) for k, v in model.config().items() if ck["config"].get(k) != v}
        raise ValueError(f"{path}: the checkpoint's model differs from this one (checkpoint, now): {diff}")
    if ck["run"] != run_key:
        diff = {k: (ck["run"].get(k), v) for k, v in run_key.items() if ck["run"].get(k) != v}
        raise ValueError(
            f"{path}: the checkpoint was written by a different run (checkpoint, now): {diff}; resume with "
            "the same data, batch size, seed and mode, or start a new output folder"
        )


def _responses(
    model: Any,
    images: torch.Tensor,
    *,
    seed: int,
    tag: int,
    batch_size: int,
    progress: bool | None,
    desc: str,
) -> torch.Tensor:
    """Spike counts of ``images`` without learning, from a generator seeded by ``(seed, tag)``."""
    with progress_bar(total=len(images), desc=desc, unit="img", enabled=progress) as bar:
        g = _generator(seed, tag, device=model.input.weight.device)
        return model.responses(
            images.to(model.input.weight.device), batch_size=batch_size, generator=g, progress=bar.update
        ).cpu()


def run_stdp(
    neurons: int = 100,
    dataset: str = "mnist-10k",
    data_dir: str | os.PathLike | None = None,
    *,
    epochs: int = 1,
    batch: int = 10,
    seed: int = 0,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    json_path: str | os.PathLike | None = None,
    mode: str = "batch",
    dt: float = 1.0,
    time_ms: float = 350.0,
    label_images: int | None = 10000,
    limit_train: int | None = None,
    limit_test: int | None = None,
    checkpoint_every: int = 1000,
    eval_batch: int = 1000,
    device: str = "cpu",
    plots: bool = True,
    progress: bool | None = True,
    download: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Train Diehl & Cook's network with STDP, label its neurons, test it; return (and save) the results.

    Args:
        neurons: excitatory neurons (100, 400, ...).
        dataset: a :func:`spikekit.data.load` name (``"mnist-10k"``, ``"mnist"``, ``"fashion-mnist"``,
            ``"digits"``, ``"idx"`` with ``data_dir``).
        data_dir: folder holding the dataset (``--data-dir``).
        epochs: passes over the training set.
        batch: images presented at once (see docs/diehl_cook.md for the cost of batching).
        seed: fixes weights, order and Poisson input.
        out_dir: where ``checkpoint.pt``, ``results.json`` and the figures go (``None``: nothing written
            but ``json_path``).
        resume: continue from ``out_dir/checkpoint.pt`` if present.
        json_path: also write the results there.
        mode: ``"batch"`` or ``"online"`` (weights updated every step; with ``batch=1``: the paper's).
        dt, time_ms: simulation step and presentation time in ms.
        label_images: label the neurons on the responses to the first this-many training images
            (``None``: all); Diehl & Cook used the last 10,000 presentations.
        limit_train, limit_test: use only the first this-many images (quick runs).
        checkpoint_every: images between checkpoints.
        eval_batch: images per batch when labelling and testing (no learning, so any size is exact).
        device: ``"cpu"`` or a CUDA device.
        plots: write receptive fields, labels, threshold and weight histograms (PNG) into ``out_dir``.
        progress: progress bars.
        download: allow :func:`spikekit.data.load` to download a missing named dataset.

    Returns:
        A JSON-ready dict: accuracies (vote, logistic regression), times, sizes, parameters, file paths.
    """
    import torch

    from .. import data as skdata
    from .._checks import check_positive_int
    from ..learning import fit_logistic
    from ..models.diehl_cook import DiehlCook, DiehlCookParams

    neurons = check_positive_int(neurons, "neurons")
    if resume and out_dir is None:
        raise ValueError("resume=True needs out_dir: the checkpoint to resume from is out_dir/checkpoint.pt")
    train, test = skdata.load(dataset, root=data_dir, download=download, progress=progress is not False)
    x_train, x_test, y_test = train.images, test.images, test.targets
    if limit_train is not None:
        x_train = x_train[: check_positive_int(limit_train, "limit_train")]
    if limit_test is not None:
        x_test, y_test = x_test[: check_positive_int(limit_test, "limit_test")], y_test[:limit_test]
    y_train = train.targets[: len(x_train)]
    out = Path(out_dir) if out_dir is not None else None
    ckpt = out / "checkpoint.pt" if out is not None else None
    params = DiehlCookParams(dt=dt, time=time_ms)
    model = DiehlCook(
        x_train[0].numel(),
        neurons,
        num_classes=train.num_classes,
        params=params,
        generator=_generator(seed, -2),
    ).to(device)
    stats = train_diehl_cook(
        model,
        x_train,
        epochs=epochs,
        batch_size=batch,
        seed=seed,
        mode=mode,
        checkpoint=ckpt,
        checkpoint_every=checkpoint_every,
        resume=resume,
        progress=progress,
        on_batch=_tenths(log, epochs * len(x_train), progress),
    )
    n_label = (
        len(x_train)
        if label_images is None
        else min(len(x_train), check_positive_int(label_images, "label_images"))
    )
    t0 = time.perf_counter()
    c_label = _responses(
        model,
        x_train[:n_label],
        seed=seed,
        tag=-3,
        batch_size=eval_batch,
        progress=progress,
        desc="labelling",
    )
    label_seconds = time.perf_counter() - t0
    model.assign_labels(c_label, y_train[:n_label])
    t0 = time.perf_counter()
    c_test = _responses(
        model, x_test, seed=seed, tag=-4, batch_size=eval_batch, progress=progress, desc="testing"
    )
    test_seconds = time.perf_counter() - t0
    pred = model.predict(c_test)
    acc_vote = float((pred == y_test).double().mean())
    acc_train = float((model.predict(c_label) == y_train[:n_label]).double().mean())
    try:
        acc_logistic: float | None = float(
            fit_logistic(c_label, y_train[:n_label]).score(c_test.numpy(), y_test.numpy())
        )
    except ImportError:  # pragma: no cover - scikit-learn is optional
        acc_logistic = None
    result = {
        "model": "DiehlCook",
        "neurons": neurons,
        "dataset": dataset,
        "n_train": len(x_train),
        "n_test": len(x_test),
        "n_label": n_label,
        "epochs": epochs,
        "batch": batch,
        "mode": mode,
        "seed": seed,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "accuracy": acc_vote,
        "accuracy_vote": acc_vote,
        "accuracy_logistic": acc_logistic,
        "accuracy_train_vote": acc_train,
        "train_seconds": stats["seconds"],
        "train_images_per_second": stats["images_per_second"],
        "label_seconds": label_seconds,
        "test_seconds": test_seconds,
        "spikes_per_test_image": float(c_test.sum(1).mean()),
        "neurons_per_class": torch.bincount(
            model.labels[model.labels >= 0], minlength=model.num_classes
        ).tolist(),
        "silent_neurons": int((model.labels < 0).sum()),
        "resumed_from": stats["resumed_from"],
        "params": model.config(),
        "files": {},
    }
    if out is not None:
        save_checkpoint(model.state_dict(), out / "model.pt")
        result["files"]["checkpoint"] = str(ckpt)
        result["files"]["model"] = str(out / "model.pt")
        if plots:
            result["files"].update(
                _figures(model, stats["history"], out, train.images.shape[-2:], train.classes)
            )
        write_json(out / "results.json", result)
    if json_path is not None:
        write_json(json_path, result)
    return result


def _figures(model: Any, history: list, out: Path, image_shape: Any, classes: Any) -> dict:
    from ..plot import learning as plots

    files = {
        "receptive_fields": out / "receptive_fields.png",
        "labels": out / "labels.png",
        "thresholds": out / "thresholds.png",
        "weights": out / "weights.png",
    }
    plots.receptive_fields(
        model.input.weight, tuple(image_shape), labels=model.labels, path=files["receptive_fields"]
    )
    plots.neuron_labels(model.labels, model.num_classes, class_names=list(classes), path=files["labels"])
    if history:
        plots.threshold_histograms(history, path=files["thresholds"])
        plots.weight_histograms(history, w_max=model.params.w_max, path=files["weights"])
    else:  # pragma: no cover - a run always records at least its last batch
        del files["thresholds"], files["weights"]
    return {k: str(v) for k, v in files.items()}


def summary(result: dict) -> str:
    """A human-readable table of :func:`run_stdp`'s result (what ``spikekit stdp`` prints)."""
    logistic = result.get("accuracy_logistic")
    rows = [
        ("model", f"DiehlCook, {result['neurons']} excitatory neurons"),
        ("data", f"{result['dataset']}: {result['n_train']} train, {result['n_test']} test"),
        (
            "training",
            f"{result['epochs']} epoch(s), {result['mode']} mode, batch {result['batch']}, "
            f"seed {result['seed']}",
        ),
        ("accuracy (vote)", f"{100 * result['accuracy_vote']:.2f} %"),
        ("accuracy (logistic regression)", "n/a" if logistic is None else f"{100 * logistic:.2f} %"),
        ("accuracy on the labelling set", f"{100 * result['accuracy_train_vote']:.2f} %"),
        (
            "neurons per class",
            " ".join(map(str, result["neurons_per_class"]))
            + (f" ({result['silent_neurons']} silent)" if result["silent_neurons"] else ""),
        ),
        ("spikes per test image", f"{result['spikes_per_test_image']:.1f}"),
        ("train time", f"{result['train_seconds']:.1f} s ({result['train_images_per_second']:.1f} img/s)"),
        ("label + test time", f"{result['label_seconds']:.1f} s + {result['test_seconds']:.1f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
