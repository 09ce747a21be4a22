"""Training and evaluation: a configurable loop with progress bars, per-epoch JSON metrics, atomic
checkpoints and exact resume.

Resume is exact: the data order of epoch ``e`` comes from a generator seeded with ``(seed, e)``, the
learning rate is a pure function of the epoch, and the global RNG state (used by stochastic encoders and
dropout) is saved after each epoch's evaluation. Checkpoints are written atomically with a SHA-256 of their
payload (:func:`spikekit._io.save_checkpoint`) and loaded with ``weights_only=True`` only, after the digest
is checked: a truncated, corrupt or crafted file is refused with a :class:`~spikekit._io.CheckpointError`.
A loss that stops being finite stops training with :class:`TrainingDiverged`, naming the epoch and step.

Under ``torchrun`` (several processes, see :mod:`spikekit.distributed` and docs/distributed.md) the model is
wrapped in ``DistributedDataParallel``, ``batch_size`` is the global batch, each global batch is split over
the processes with ``DistributedSampler``, rank 0 alone writes checkpoints and metrics, and a
deterministic model ends with the weights of a 1-process run (up to float rounding).

Example:
    >>> cfg = TrainConfig(epochs=5, batch_size=64, optimizer="adam", lr=1e-3)
    >>> history = fit(model, train_set, test_set, cfg, out_dir="runs/mlp")
    >>> history = fit(model, train_set, test_set, cfg, out_dir="runs/mlp", resume=True)  # after a crash
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from . import _io
from . import distributed as _dist
from ._checks import check_choice, check_positive_int
from ._io import CheckpointError, atomic_write_text, progress
from .nn import Neuron, Stream, checkpointing, record

__all__ = [
    "CheckpointError",
    "TrainConfig",
    "TrainingDiverged",
    "PRESETS",
    "fit",
    "evaluate",
    "load_checkpoint",
    "resolve_device",
    "tune_allocator",
    "allocator_text",
]

OPTIMIZERS = ("sgd", "adam", "adamw")


class TrainingDiverged(FloatingPointError):
    """The training loss stopped being finite (the message names the epoch and the step); a ``spikekit``
    command reports it as a runtime error (exit status 1)."""

    exit_code = 1


SCHEDULES = ("constant", "cosine", "per-epoch")


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Args:
        epochs: number of epochs.
        batch_size: training batch size; ``eval_batch_size`` for evaluation.
        optimizer: ``"sgd"``, ``"adam"`` or ``"adamw"``.
        lr: learning rate; with ``schedule="per-epoch"`` a sequence, one per epoch.
        momentum: SGD momentum.
        weight_decay: L2 penalty (decoupled for AdamW).
        schedule: ``"constant"``, ``"cosine"`` (annealed per epoch to 0) or ``"per-epoch"`` (the list ``lr``).
        fresh_optimizer_each_epoch: build a new optimizer every epoch, dropping momentum (what the
            original experiment's code did).
        seed: seeds the weights, the data order and the encoders.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ...
        grad_clip: clip the gradient norm to this value (``None``: no clipping).
        tbptt: truncated backpropagation through time in chunks of ``tbptt`` steps (``None``: plain BPTT).
            Each batch runs chunk by chunk with the neuron states carried over (a
            :class:`~spikekit.nn.Stream`, detached between chunks); each chunk's logits (the model's
            readout over that chunk) get the cross-entropy, a backward pass and an optimizer step. A
            ``tbptt`` of at least ``T`` is one chunk: exactly plain training. Sequences ``[T, B, ...]`` are
            cut along time; static samples need a model with a ``steps`` attribute, run ``tbptt`` steps at
            a time (exact for direct encoding). The metrics use the chunks' losses and logits weighted by
            their length (for a membrane readout, the logits of the whole sequence).
        checkpoint_every: run the model's chunkable parts (its ``chunkable`` attribute, e.g.
            ``SpikingMLP.hidden``) in checkpointed chunks of this many steps
            (:func:`spikekit.nn.checkpointing`): the memory of one chunk instead of the whole sequence, for
            one more forward pass; the same training up to float rounding (``None``: off).
    """

    epochs: int = 10
    batch_size: int = 128
    eval_batch_size: int = 1000
    optimizer: str = "adam"
    lr: float | tuple[float, ...] = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"
    fresh_optimizer_each_epoch: bool = False
    seed: int = 0
    device: str = "auto"
    grad_clip: float | None = None
    tbptt: int | None = None
    checkpoint_every: int | None = None

    def __post_init__(self) -> None:
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.eval_batch_size, "eval_batch_size")
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_choice(self.schedule, "schedule", SCHEDULES)
        lrs = self.lr if isinstance(self.lr, (tuple, list)) else (self.lr,)
        if isinstance(self.lr, list):
            object.__setattr__(self, "lr", tuple(self.lr))
        for lr in lrs:
            if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
                raise ValueError(f"lr must be a positive finite number, got {lr!r}")
        if self.schedule == "per-epoch" and len(lrs) != self.epochs:
            raise ValueError(
                f"schedule 'per-epoch' needs one lr per epoch: {self.epochs} epochs, lr={self.lr!r}"
            )
        if self.schedule != "per-epoch" and len(lrs) != 1:
            raise ValueError(
                f"a list of learning rates needs schedule='per-epoch', got schedule={self.schedule!r}"
            )
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {self.momentum!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0 or None, got {self.grad_clip!r}")
        for name in ("tbptt", "checkpoint_every"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), f"{name} (steps per chunk, or None)")

    def lr_at(self, epoch: int) -> float:
        """The learning rate of epoch ``epoch`` (0-based): a pure function, so resume needs no state."""
        if self.schedule == "per-epoch":
            return float(self.lr[epoch])  # type: ignore[index]
        base = float(self.lr)  # type: ignore[arg-type]
        if self.schedule == "cosine":
            return base * 0.5 * (1 + math.cos(math.pi * epoch / self.epochs))
        return base

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lr"] = list(self.lr) if isinstance(self.lr, tuple) else self.lr
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown training options {sorted(unknown)}; valid: {sorted(names)}")
        return cls(**d)


PRESETS: dict[str, TrainConfig] = {
    # The original experiment: SGD, momentum 0.5, batch 1000, 3 epochs at 0.1, 0.05, 0.01, a new
    # optimizer each epoch.
    "seed": TrainConfig(
        epochs=3,
        batch_size=1000,
        eval_batch_size=1000,
        optimizer="sgd",
        lr=(0.1, 0.05, 0.01),
        momentum=0.5,
        schedule="per-epoch",
        fresh_optimizer_each_epoch=True,
    ),
}


ALLOCATOR_MMAP_THRESHOLD = 64 << 20  # bytes; measured best on SpikingCNN's step (docs/performance.md)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (glibc's malloc.h)
_allocator_tuned: int | None = None


def tune_allocator(mmap_threshold: int = ALLOCATOR_MMAP_THRESHOLD) -> bool:
    """Make glibc's ``malloc`` keep freed memory for reuse (process-wide); ``True`` if it was applied.

    Every training step frees and re-allocates the same large activation buffers. By default glibc maps
    each buffer above its threshold (<= 32 MiB) fresh from the kernel and unmaps it when freed, and gives
    the top of the heap back as soon as it is free, so each step pays page faults on zeroed pages again
    (on CPU, SpikingCNN spends a quarter of its step there). This sets ``M_MMAP_THRESHOLD`` to
    ``mmap_threshold`` (smaller buffers come from the reusable heap) and ``M_TRIM_THRESHOLD`` to its
    maximum (freed heap memory is kept): the same numbers, faster steps, and a process that keeps its peak
    memory until it exits. ``spikekit train``, ``compare`` and ``demo`` call it (``--allocator default``
    does not). Returns ``False``, changing nothing, where the C library is not glibc.
    """
    global _allocator_tuned
    if isinstance(mmap_threshold, bool) or not isinstance(mmap_threshold, int):
        raise TypeError(f"tune_allocator: mmap_threshold must be an int, got {mmap_threshold!r}")
    if not 0 < mmap_threshold <= 2**31 - 1:
        raise ValueError(f"tune_allocator: mmap_threshold must lie in (0, 2**31), got {mmap_threshold}")
    if platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    ok = libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1
    ok = ok and libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1
    if ok:
        _allocator_tuned = mmap_threshold
    return ok


def allocator_text() -> str:
    """What :func:`tune_allocator` set in this process, for a run's first line."""
    if _allocator_tuned is None:
        return "default"
    return f"freed memory kept (glibc mmap threshold {_allocator_tuned / 2**20:g} MiB, no trim)"


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _make_optimizer(model: nn.Module, cfg: TrainConfig, lr: float) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)


def _tensors(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    tensors = getattr(dataset, "tensors", None)
    if not tensors or len(tensors) != 2:
        raise TypeError(
            "dataset must hold (inputs, targets) tensors like spikekit.data's datasets, "
            f"got {type(dataset).__name__}"
        )
    x, y = tensors
    if len(x) == 0:
        raise ValueError("dataset is empty")
    return x, y


def _time_axis(dataset: Dataset) -> int:
    """Where a sample's time axis sits in a batch: 0 for images; 1 for event frames ``[N, T, ...]``."""
    return int(getattr(dataset, "time_axis", 0))


def _inputs(x: torch.Tensor, time_axis: int, device) -> torch.Tensor:
    """A batch as the model wants it: images ``[B, ...]`` or sequences time first ``[T, B, ...]``."""
    x = x.to(device)
    return x.movedim(time_axis, 0) if time_axis else x


def _batches(n: int, batch_size: int, order: torch.Tensor | None):
    idx = order if order is not None else torch.arange(n)
    for i in range(0, n, batch_size):
        yield idx[i : i + batch_size]


def _bar_shown(enabled: bool | None) -> bool:
    """Whether a progress bar is drawn: ``None`` means only when stderr is a terminal (and tqdm is there)."""
    return bool(enabled) if enabled is not None else bool(getattr(sys.stderr, "isatty", lambda: False)())


def _progress(total: int, desc: str, enabled: bool | None):
    if not _bar_shown(enabled):
        return None
    bar = progress(total=total, desc=desc, unit="batch", leave=False, enabled=True)
    return bar if hasattr(bar, "set_postfix") else None  # tqdm missing: no bar


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _logger(log: Any) -> Callable[[str], None] | None:
    """``log`` of :func:`fit`: ``None``/``True`` -> lines on stderr, ``False`` -> none, a callable -> it."""
    if log is None or log is True:
        return _stderr_line
    if log is False:
        return None
    if callable(log):
        return log
    raise TypeError(
        f"log must be None, a bool or a callable taking one line of text, got {type(log).__name__}"
    )


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def epoch_line(row: dict[str, Any], epochs: int) -> str:
    """One epoch's metrics as one log line: ``epoch 3/15: train loss 0.1234 acc 96.50 %, test loss ... acc
    ..., 12.3 s, lr 0.001``."""
    text = f"epoch {row['epoch']}/{epochs}: train loss {row['train_loss']:.4f} acc {_pct(row['train_acc'])}"
    if "test_loss" in row:
        text += f", test loss {row['test_loss']:.4f} acc {_pct(row['test_acc'])}"
    return text + f", {row['seconds']:.1f} s, lr {row['lr']:.4g}"


# Without a bar, an epoch projected to last longer than this gets a line every tenth of it.
LONG_EPOCH_SECONDS = 30.0


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = 1000,
    device: str | torch.device = "cpu",
    firing_rates: bool = True,
    progress: bool = False,
    profile: int = 0,
) -> dict[str, Any]:
    """Loss, accuracy and the mean firing rate of every neuron layer on ``dataset``.

    Args:
        profile: also profile the model (:func:`spikekit.analysis.profile`: synaptic operations, energy)
            on the first ``profile`` samples; ``0`` (default) does not.

    Returns:
        ``{"loss", "acc", "rates": {layer: mean output per neuron and step}}``, and ``"profile"`` (its
        ``to_dict()``) when asked.
    """
    x_all, y_all = _tensors(dataset)
    device = torch.device(device)
    time_axis = _time_axis(dataset)
    sums = _eval_sums(model, x_all, y_all, None, time_axis, batch_size, device, firing_rates, progress)
    result = _eval_result([sums])
    if profile:
        result["profile"] = profile_dataset(model, dataset, check_positive_int(profile, "evaluate: profile"))
    return result


def profile_dataset(model: nn.Module, dataset: Dataset, samples: int = 64) -> dict[str, Any]:
    """:func:`spikekit.analysis.profile` of ``model`` (in eval mode) on the first ``samples`` samples of
    ``dataset``, as a JSON-ready dict; the model's train/eval mode is restored."""
    from .analysis import profile

    x_all, _ = _tensors(dataset)
    device = next(model.parameters()).device
    training = model.training
    model.eval()
    try:
        return profile(model, _inputs(x_all[:samples], _time_axis(dataset), device)).to_dict()
    finally:
        model.train(training)


@torch.no_grad()
def _eval_sums(
    model: nn.Module,
    x_all: torch.Tensor,
    y_all: torch.Tensor,
    indices: torch.Tensor | None,
    time_axis: int,
    batch_size: int,
    device: torch.device,
    firing_rates: bool,
    progress: bool,
) -> tuple[float, int, dict[str, float], int]:
    """Summed loss, correct count, summed firing rates (weighted by batch size) and sample count over
    ``indices`` (all samples when ``None``)."""
    n = len(x_all) if indices is None else len(indices)
    was_training = model.training
    model.eval()
    has_neurons = any(isinstance(m, Neuron) for m in model.modules())
    total_loss, correct, sums = 0.0, 0, {}
    bar = _progress(math.ceil(n / batch_size), "eval", progress)
    try:
        for idx in _batches(n, batch_size, indices):
            x, y = _inputs(x_all[idx], time_axis, device), y_all[idx].to(device)
            if firing_rates and has_neurons:
                with record(model) as rec:
                    logits = model(x)
                for name, trace in rec.items():
                    rate = float((trace.spikes != 0).float().mean())  # graded outputs: share > 0
                    sums[name] = sums.get(name, 0.0) + rate * len(idx)
            else:
                logits = model(x)
            total_loss += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
        model.train(was_training)
    return total_loss, correct, sums, n


def _eval_result(parts: Sequence[tuple[float, int, dict[str, float], int]]) -> dict[str, Any]:
    """Combine the sums of :func:`_eval_sums` over shards (one per process) into loss, accuracy, rates."""
    n = sum(p[3] for p in parts)
    total_loss = sum(p[0] for p in parts)
    correct = sum(p[1] for p in parts)
    sums: dict[str, float] = {}
    for p in parts:
        for k, v in p[2].items():
            sums[k] = sums.get(k, 0.0) + v
    return {"loss": total_loss / n, "acc": correct / n, "rates": {k: v / n for k, v in sums.items()}}


def _epoch_order(n: int, cfg: TrainConfig, epoch: int) -> torch.Tensor:
    """Epoch ``epoch``'s data order: a permutation from a generator seeded with ``(seed, epoch)``."""
    g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


def _shard_batches(order: torch.Tensor, batch_size: int, world: int, rank: int):
    """This process's part of every global batch: ``(local_idx, global_size)`` per global batch.

    ``DistributedSampler(shuffle=False)`` over the epoch's order gives rank ``r`` the positions
    ``r, r + W, r + 2W, ...``; its ``k``-th run of ``batch_size / W`` of them lies inside global batch
    ``k``, so the ranks together see exactly the 1-process run's batches. The sampler's padding (repeated
    samples, to even out the ranks) is dropped; in a smaller last batch ranks may hold fewer samples, or
    none (``local_idx`` is then empty).
    """
    from torch.utils.data import DistributedSampler

    n = len(order)
    sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=False, drop_last=False)
    mine = order[torch.tensor(list(sampler), dtype=torch.long)[: len(range(rank, n, world))]]
    local = batch_size // world
    for k, start in enumerate(range(0, n, batch_size)):
        yield mine[k * local : (k + 1) * local], min(batch_size, n - start)


def _train_epoch(
    model,
    opt,
    x_all,
    y_all,
    cfg: TrainConfig,
    epoch: int,
    device,
    progress: bool | None,
    time_axis=0,
    world: int = 1,
    rank: int = 0,
    log: Callable[[str], None] | None = None,
    log_every: int | None = None,
    bare: nn.Module | None = None,
):
    order = _epoch_order(len(x_all), cfg, epoch)
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    n_batches = math.ceil(len(x_all) / cfg.batch_size)
    bar = _progress(n_batches, f"epoch {epoch + 1}/{cfg.epochs}", progress)
    # Batch lines: every log_every batches; with neither a bar nor log_every, every tenth of an epoch that
    # is projected to last more than LONG_EPOCH_SECONDS.
    tenth = max(1, math.ceil(n_batches / 10))
    t0 = time.perf_counter()
    if world == 1:
        batches = ((idx, len(idx)) for idx in _batches(len(x_all), cfg.batch_size, order))
    else:
        batches = _shard_batches(order, cfg.batch_size, world, rank)
    try:
        for k, (idx, global_n) in enumerate(batches):
            real = len(idx) > 0
            if not real:  # an empty share of a small last batch: a stand-in sample that counts 0 times
                idx = order[k * cfg.batch_size : k * cfg.batch_size + 1]
            x, y = _inputs(x_all[idx], time_axis, device), y_all[idx].to(device)
            where = f"epoch {epoch + 1}, step {k + 1}"
            if cfg.tbptt is None:
                logits = model(x)
                loss, batch_loss, batch_correct = _batch_loss(logits, y, world, global_n, real)
                _optimise(model, opt, cfg, loss, batch_loss, where)
            else:
                inner = model if bare is None else bare  # the module itself, under DDP too
                batch_loss, batch_correct = _tbptt_batch(
                    model, inner, opt, cfg, x, y, time_axis == 0, world, global_n, real, where
                )
            total_loss += batch_loss * global_n
            correct += batch_correct
            seen += global_n
            if bar is not None:
                bar.update()
                bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}")
            elif log is not None and k + 1 < n_batches:
                elapsed = time.perf_counter() - t0
                if log_every is not None:
                    due = (k + 1) % log_every == 0
                else:
                    due = (k + 1) % tenth == 0 and elapsed * n_batches / (k + 1) > LONG_EPOCH_SECONDS
                if due:
                    log(
                        f"epoch {epoch + 1}/{cfg.epochs} batch {k + 1}/{n_batches}: train loss "
                        f"{total_loss / seen:.4f} acc {_pct(correct / seen)}, {elapsed:.1f} s"
                    )
    finally:
        if bar is not None:
            bar.close()
    return total_loss / seen, correct / seen


def _batch_loss(logits: torch.Tensor, y: torch.Tensor, world: int, global_n: int, real: bool):
    """``(loss to backpropagate, mean loss over the global batch, correct count over it)``."""
    if world == 1:
        loss = F.cross_entropy(logits, y)
        return loss, float(loss.detach()), int((logits.argmax(1) == y).sum())
    # DDP averages gradients over the W ranks: scaling each rank's summed loss by W / global_n makes that
    # average the gradient of the mean loss over the global batch, as in 1 process.
    loss_sum = F.cross_entropy(logits, y, reduction="sum")
    loss = loss_sum * (world / global_n if real else 0.0)
    hits = float((logits.argmax(1) == y).sum())
    total = _dist.all_reduce_sum([float(loss_sum.detach()), hits] if real else [0.0, 0.0])
    return loss, float(total[0]) / global_n, int(total[1])


def _optimise(model, opt, cfg: TrainConfig, loss: torch.Tensor, batch_loss: float, where: str) -> None:
    """One optimizer step on ``loss`` (refusing a non-finite one: :class:`TrainingDiverged`)."""
    if not math.isfinite(batch_loss):
        raise TrainingDiverged(
            f"training diverged: the loss became {batch_loss} in {where}; "
            f"lower the learning rate (lr = {opt.param_groups[0]['lr']:g})"
        )
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()


def _tbptt_batch(net, model, opt, cfg: TrainConfig, x, y, static: bool, world, global_n, real, where):
    """One batch by truncated BPTT (``cfg.tbptt`` steps per chunk): ``(mean loss, correct count)``.

    The chunks run in one :class:`~spikekit.nn.Stream` of ``model`` (the bare module; ``net`` may be its
    DDP wrapper); after each chunk's optimizer step the states are detached. A sequence ``x`` is cut along
    time; static samples are presented ``tbptt`` steps at a time through the model's ``steps``. The batch's
    loss and logits are the chunks' weighted by their length.
    """
    steps = model.steps if static else x.shape[0]
    total, mixed = 0.0, None
    try:
        with Stream(model) as stream:
            for t0 in range(0, steps, cfg.tbptt):
                t1 = min(t0 + cfg.tbptt, steps)
                if static:
                    model.steps = t1 - t0
                logits = net(x if static else x[t0:t1])
                loss, chunk_loss, _ = _batch_loss(logits, y, world, global_n, real)
                chunk = f"{where}, steps {t0}-{t1 - 1}" if t1 - t0 < steps else where
                _optimise(net, opt, cfg, loss, chunk_loss, chunk)
                stream.detach()
                w = (t1 - t0) / steps
                total += w * chunk_loss
                mixed = w * logits.detach() if mixed is None else mixed + w * logits.detach()
    finally:
        if static:
            model.steps = steps
    hits = float((mixed.argmax(1) == y).sum()) if real else 0.0
    return total, int(_dist.all_reduce_sum([hits])[0]) if world > 1 else int(hits)


def _check_long_sequences(model: nn.Module, train_set: Dataset, config: TrainConfig) -> None:
    """Refuse ``tbptt`` / ``checkpoint_every`` on a model (or data) that offers nothing to chunk."""
    name = type(model).__name__
    if config.tbptt is not None:
        try:
            Stream(model)
        except (TypeError, ValueError) as err:
            raise ValueError(f"tbptt: {err}") from None
        steps = getattr(model, "steps", None)
        if _time_axis(train_set) == 0 and (isinstance(steps, bool) or not isinstance(steps, int)):
            raise ValueError(
                f"tbptt: the training set holds static samples [N, ...] and {name} has no integer attribute "
                "steps (the time steps it presents a sample for), so it cannot be run chunk by chunk; tbptt "
                "needs sequences (a dataset with time_axis = 1) or a model with steps, such as SpikingMLP "
                "and SpikingCNN"
            )
    if config.checkpoint_every is not None and getattr(model, "chunkable", None) is None:
        raise ValueError(
            f"checkpoint_every: {name} declares no chunkable part: a class attribute chunkable naming its "
            "submodules that map [T, B, ...] to [T, B, ...] step by step, e.g. chunkable = ('body',) "
            "(SpikingMLP, SpikingCNN and SpikingRNN declare theirs; a model with no layers over time has "
            "nothing to checkpoint)"
        )


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` atomically with a SHA-256 of its bytes (:func:`spikekit._io.save_checkpoint`)."""
    _io.save_checkpoint(payload, path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint of :func:`fit`: the digest checked, ``weights_only=True`` (no code from the file is
    run), and its fields checked (a model state dict, a config, an epoch >= 0 matching its history).

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: an unreadable, corrupt, crafted or inconsistent file (the message says which).
    """
    path = Path(path)
    ckpt = _io.load_checkpoint(path, map_location=map_location)
    if not isinstance(ckpt, dict):
        raise CheckpointError(
            f"{path} is not a spikekit training checkpoint (it holds a {type(ckpt).__name__})"
        )
    missing = {"model", "epoch", "config"} - set(ckpt)
    if missing:
        raise CheckpointError(f"{path} is not a spikekit training checkpoint (missing {sorted(missing)})")
    state = ckpt["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"checkpoint {path} is damaged: 'model' is not a state dict of tensors")
    epoch = ckpt["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise CheckpointError(f"checkpoint {path} is damaged: its epoch must be an int >= 0, got {epoch!r}")
    if not isinstance(ckpt["config"], dict):
        raise CheckpointError(f"checkpoint {path} is damaged: 'config' is not a dict")
    history = ckpt.get("history")
    if history is not None and (not isinstance(history, list) or len(history) != epoch):
        n = len(history) if isinstance(history, list) else type(history).__name__
        raise CheckpointError(f"checkpoint {path} is damaged: epoch {epoch} but a history of {n} epochs")
    return ckpt


def _write_metrics(path: Path, history: Sequence[dict[str, Any]]) -> None:
    text = "".join(json.dumps(row) + "\n" for row in history)
    atomic_write_text(path, text)


@dataclass
class FitResult:
    """What :func:`fit` returns: one metrics row per epoch, and where files went."""

    history: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: Path | None = None
    metrics: Path | None = None

    @property
    def final(self) -> dict[str, Any]:
        return self.history[-1]


def fit(
    model: nn.Module,
    train_set: Dataset,
    test_set: Dataset | None,
    config: TrainConfig,
    *,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool | None = None,
    extra: dict[str, Any] | None = None,
    log: bool | Callable[[str], None] | None = None,
    log_every: int | None = None,
) -> FitResult:
    """Train ``model`` (which returns logits ``[B, C]``) with cross-entropy; evaluate after every epoch.

    With ``out_dir``, after every epoch it writes ``checkpoint.pt`` (model, optimizer, schedule, epoch,
    RNG state, history; atomically) and ``metrics.jsonl`` (one JSON object per epoch). With ``resume``,
    training continues from ``out_dir/checkpoint.pt`` to exactly the result of an uninterrupted run.

    Args:
        model: the network; moved to ``config.device``.
        train_set, test_set: datasets holding ``(inputs, targets)`` tensors (``test_set`` may be ``None``).
        config: a :class:`TrainConfig`.
        out_dir: where checkpoints and metrics go (``None``: nowhere).
        resume: continue from ``out_dir``'s checkpoint (an error if there is none).
        progress: progress bars: ``None`` (the default) only when stderr is a terminal, so a log file or a
            cluster job gets no carriage-return updates; ``True`` always, ``False`` never.
        extra: JSON-able facts stored in the checkpoint. ``fit`` adds what is needed to rebuild a model of
            :mod:`spikekit.models` (``init_config``: its class and constructor arguments), the input shape,
            the number of classes and the dataset's name, so :func:`spikekit.models.load` and every
            ``spikekit`` command that reads a checkpoint (``report``, ``plot model``, ``export-nir``,
            ``stdp-window --checkpoint``) can use it.
        log: where one line per epoch goes (epoch, train loss and accuracy, test loss and accuracy, seconds,
            learning rate): ``None`` (the default) or ``True``: stderr; ``False``: nowhere; a callable:
            called with each line. Without a bar, long epochs also get a line every tenth of an epoch
            (when an epoch is projected to last more than :data:`LONG_EPOCH_SECONDS`).
        log_every: without a bar, a line every ``log_every`` batches instead (``1``: every batch).

    Long sequences: ``config.tbptt`` trains by truncated backpropagation through time and
    ``config.checkpoint_every`` checkpoints the model's ``chunkable`` parts in time (see
    :class:`TrainConfig`); both are refused, before any work, on a model that offers nothing to chunk.
    """
    _tensors(train_set)
    _check_long_sequences(model, train_set, config)
    every = config.checkpoint_every
    with checkpointing(model, every) if every is not None else nullcontext():
        return _fit(model, train_set, test_set, config, out_dir, resume, progress, extra, log, log_every)


def _fit(model, train_set, test_set, config, out_dir, resume, progress, extra, log, log_every) -> FitResult:
    x_all, y_all = _tensors(train_set)
    if test_set is not None:
        _tensors(test_set)
    emit = _logger(log)
    if log_every is not None:
        check_positive_int(log_every, "log_every")
    extra = _rebuild_facts(model, train_set, extra)
    world = _dist.world_size()
    if config.batch_size % world:
        raise ValueError(
            f"batch_size is the global batch, split evenly over the processes: batch_size="
            f"{config.batch_size} is not divisible by the {world} processes (WORLD_SIZE={world}); "
            f"use a multiple of {world}, e.g. {max(world, config.batch_size // world * world)}"
        )
    out = Path(out_dir) if out_dir is not None else None
    if resume and out is None:
        raise ValueError("resume=True needs out_dir, where the checkpoint is")
    if world > 1:
        _dist.init(config.device)  # a no-op when the caller (e.g. the CLI) started it already
    rank, main = _dist.rank(), _dist.is_main()
    device = _dist.device_for(config.device) if world > 1 else resolve_device(config.device)
    if world > 1 and device.type != "cuda" and torch.distributed.get_backend() == "nccl":
        raise ValueError(f"the process group uses NCCL, which needs CUDA devices, but device is {device}")
    if out is not None and main:
        out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt" if out is not None else None
    metrics_path = out / "metrics.jsonl" if out is not None else None

    # Rank r draws its encoders' and dropout's randomness from seed + r (rank 0 = the 1-process run).
    torch.manual_seed(config.seed + rank)
    model.to(device)
    history: list[dict[str, Any]] = []
    start = 0
    opt = _make_optimizer(model, config, config.lr_at(0))
    if resume:
        ckpt = _load_for_resume(ckpt_path, device, world)
        try:
            saved = TrainConfig.from_dict(ckpt["config"])
        except (TypeError, ValueError) as err:
            raise CheckpointError(
                f"checkpoint {ckpt_path} is damaged: its config is invalid ({err})"
            ) from None
        # epochs, device and checkpointing may change on resume (checkpointing changes no result)
        same = replace(
            saved, epochs=config.epochs, device=config.device, checkpoint_every=config.checkpoint_every
        )
        if same != config:
            raise ValueError(f"resume: the checkpoint was trained with {saved}, not {config}")
        try:
            model.load_state_dict(ckpt["model"])
            if not config.fresh_optimizer_each_epoch:
                opt.load_state_dict(ckpt["optimizer"])
        except (KeyError, RuntimeError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(
                f"resume: the checkpoint {ckpt_path} holds another model's weights than this model ({first})"
            ) from None
        _set_rng(ckpt["rng"], device, config, world, rank)
        history, start = list(ckpt["history"]), int(ckpt["epoch"])
        if metrics_path is not None and main:
            _write_metrics(metrics_path, history)  # a crash between checkpoint and metrics left it behind
    # Several processes: DDP averages the gradients in backward. The optimizer, evaluation and
    # checkpoints use the bare module, so checkpoints are the same as a single process's.
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    for epoch in range(start, config.epochs):
        lr = config.lr_at(epoch)
        if config.fresh_optimizer_each_epoch and epoch > start:
            opt = _make_optimizer(model, config, lr)
        for group in opt.param_groups:
            group["lr"] = lr
        t0 = time.perf_counter()
        train_loss, train_acc = _train_epoch(
            net,
            opt,
            x_all,
            y_all,
            config,
            epoch,
            device,
            progress if main else False,
            _time_axis(train_set),
            world=world,
            rank=rank,
            log=emit if main else None,
            log_every=log_every,
            bare=model,
        )
        seconds = time.perf_counter() - t0
        row: dict[str, Any] = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_loss": train_loss,
            "train_acc": train_acc,
            "seconds": seconds,
        }
        if test_set is not None:
            if world == 1:
                ev = evaluate(model, test_set, batch_size=config.eval_batch_size, device=device)
            else:  # each rank evaluates a contiguous 1/W of the test set; the sums are gathered
                x_te, y_te = _tensors(test_set)
                shard = torch.tensor_split(torch.arange(len(x_te)), world)[rank]
                axis, eval_bs = _time_axis(test_set), config.eval_batch_size
                sums = _eval_sums(model, x_te, y_te, shard, axis, eval_bs, device, True, False)
                ev = _eval_result(_dist.all_gather_object(sums))
            row.update(test_loss=ev["loss"], test_acc=ev["acc"], rates=ev["rates"])
        history.append(row)
        if emit is not None and main:
            emit(epoch_line(row, config.epochs))
        if ckpt_path is not None:
            rng = _rng_state(device)
            if world > 1:
                rng = dict(rng, ranks=_dist.all_gather_object(rng))
            if main:
                payload = {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "schedule": {"name": config.schedule, "next_epoch": epoch + 1, "lr": lr},
                    "epoch": epoch + 1,
                    "rng": rng,
                    "config": config.to_dict(),
                    "history": history,
                    "extra": extra,
                }
                save_checkpoint(ckpt_path, payload)
                _write_metrics(metrics_path, history)
            _dist.barrier()  # no rank runs ahead of (or reads before) rank 0's checkpoint
    return FitResult(history=history, checkpoint=ckpt_path, metrics=metrics_path)


def _rebuild_facts(model: nn.Module, train_set: Dataset, extra: dict[str, Any] | None) -> dict[str, Any]:
    """``extra`` plus, where absent, how to rebuild ``model`` and what it was trained on."""
    out = dict(extra or {})
    config = getattr(model, "init_config", None)
    if isinstance(config, dict):
        out.setdefault("init_config", config)
    if "input_shape" not in out:
        shape = getattr(train_set, "sample_shape", None)
        x, y = _tensors(train_set)
        if shape is None:
            shape = x.shape[1:]
        out["input_shape"] = [int(s) for s in shape]
    if "num_classes" not in out:
        n = getattr(train_set, "num_classes", None)
        out["num_classes"] = int(n) if n is not None else int(_tensors(train_set)[1].max()) + 1
    name = getattr(train_set, "name", None)
    if "dataset" not in out and isinstance(name, str) and name:
        out["dataset"] = name
    return out


def _rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    rng = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(device)
    return rng


def _set_rng(rng: dict[str, Any], device: torch.device, config: TrainConfig, world: int, rank: int) -> None:
    """Restore this rank's RNG state: its own when the checkpoint has one per rank for this many processes,
    rank 0's (or a 1-process run's) for rank 0; other ranks are reseeded from ``(seed, rank)``."""
    per_rank = rng.get("ranks")
    if per_rank is not None and len(per_rank) == world:
        mine = per_rank[rank]
    elif rank == 0:
        mine = rng
    else:
        torch.manual_seed(config.seed + rank)
        return
    torch.set_rng_state(mine["torch"])
    if device.type == "cuda" and "cuda" in mine:
        torch.cuda.set_rng_state(mine["cuda"], device)


def _load_for_resume(path: Path, device: torch.device, world: int) -> dict[str, Any]:
    """The checkpoint to resume from. Several processes: rank 0 reads it (no shared file system needed)
    and sends it to the others, who raise the same error when rank 0 cannot read it."""
    if world == 1:
        return load_checkpoint(path, map_location=device)
    got: Any = None
    if _dist.is_main():
        try:
            got = load_checkpoint(path, map_location="cpu")
        except Exception as err:  # noqa: BLE001 - sent to the other ranks, raised everywhere below
            got = err
    got = _dist.broadcast_object(got)
    if isinstance(got, BaseException):
        raise got
    return got
