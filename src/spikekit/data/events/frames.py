"""A whole (small) event dataset as in-memory frame tensors, for :func:`spikekit.train.fit`.

:class:`FrameDataset` keeps the batch axis first, like every ``TensorDataset``:
``tensors == (frames [N, T, ...], targets [N])``, so that ``frames[idx]`` is a batch ``[B, T, ...]``.
spikekit's models want time first: move the axis with ``x.movedim(1, 0)`` (:meth:`FrameDataset.time_first`)
before calling the model. ``lengths [N]`` gives each recording's true number of frames (``< T`` where it
was padded with zero frames).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from ... import _io
from .collate import EventCollate

__all__ = ["FrameDataset", "materialize", "load_frames", "check_binning", "check_num_workers"]


def check_binning(n_time_bins: Any = None, time_window: Any = None, bins_name: str = "n_time_bins") -> None:
    """Raise unless ``n_time_bins`` is ``None`` or an int >= 1 and ``time_window`` is ``None`` or a finite
    number of microseconds > 0 (``bool`` is refused for both)."""
    if n_time_bins is not None:
        if isinstance(n_time_bins, bool) or not isinstance(n_time_bins, int):
            raise TypeError(f"{bins_name} must be an int >= 1 (frames per recording), got {n_time_bins!r}")
        if n_time_bins < 1:
            raise ValueError(f"{bins_name} must be an int >= 1 (frames per recording), got {n_time_bins}")
    if time_window is not None:
        if isinstance(time_window, bool) or not isinstance(time_window, (int, float)):
            raise TypeError(f"time_window must be a number of microseconds > 0, got {time_window!r}")
        if not math.isfinite(time_window) or time_window <= 0:
            raise ValueError(f"time_window must be a finite number of microseconds > 0, got {time_window!r}")


def check_num_workers(num_workers: Any) -> int:
    """Raise unless ``num_workers`` is an int >= 0 (DataLoader worker processes; 0: none)."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"num_workers must be an int >= 0 (0: load in this process), got {num_workers!r}")
    return num_workers


class FrameDataset(TensorDataset):
    """Event frames and labels in memory: ``dataset.tensors == (frames, targets)``.

    Args:
        frames: ``[N, T, ...]`` float frames (``[N, T, P, H, W]`` for a camera, ``[N, T, channels]`` for a
            cochlea), zero after each recording's end.
        targets: int64 ``[N]``.
        lengths: int64 ``[N]``, frames per recording (default: all ``T``).
        classes: class names, index = label.
        name, split: for ``repr``.
        sensor_size: Tonic's ``(W, H, P)`` of the recordings.

    Shape:
        - frames: ``[N, T, ...]`` (batch first; ``time_first(frames[idx])`` gives ``[T, B, ...]``)
        - targets, lengths: ``[N]``
    """

    time_axis = 1

    def __init__(
        self,
        frames: torch.Tensor,
        targets: torch.Tensor,
        lengths: torch.Tensor | None = None,
        *,
        classes: Sequence[str] | None = None,
        name: str = "",
        split: str = "",
        sensor_size: Sequence[int] | None = None,
    ) -> None:
        if not isinstance(frames, torch.Tensor) or not isinstance(targets, torch.Tensor):
            raise TypeError(
                "frames and targets must be tensors, "
                f"got {type(frames).__name__} and {type(targets).__name__}"
            )
        if frames.dim() < 3 or not frames.is_floating_point():
            raise ValueError(
                f"frames must be float [N, T, ...] with at least 3 dimensions, got {frames.dtype} "
                f"{tuple(frames.shape)}"
            )
        if targets.dim() != 1 or targets.dtype != torch.int64 or len(targets) != len(frames):
            raise ValueError(
                f"targets must be int64 [N] with N = {len(frames)}, "
                f"got {targets.dtype} {tuple(targets.shape)}"
            )
        if lengths is None:
            lengths = torch.full((len(frames),), frames.shape[1], dtype=torch.int64)
        if not isinstance(lengths, torch.Tensor) or lengths.is_floating_point() or lengths.is_complex():
            raise TypeError(
                f"lengths must be an integer tensor [N] or None, got {type(lengths).__name__}"
                + (f" of {lengths.dtype}" if isinstance(lengths, torch.Tensor) else "")
            )
        if (
            lengths.shape != targets.shape
            or bool((lengths < 0).any())
            or bool((lengths > frames.shape[1]).any())
        ):
            raise ValueError(
                f"lengths must be [N] in [0, T = {frames.shape[1]}], got {lengths.tolist()[:8]}..."
            )
        super().__init__(frames, targets)
        self.lengths = lengths.to(torch.int64)
        top = int(targets.max()) + 1 if len(targets) else 0
        self.classes = tuple(classes) if classes is not None else tuple(str(i) for i in range(top))
        self.name, self.split = name, split
        self.sensor_size = tuple(sensor_size) if sensor_size is not None else None

    @property
    def frames(self) -> torch.Tensor:
        """``[N, T, ...]``."""
        return self.tensors[0]

    @property
    def targets(self) -> torch.Tensor:
        """``[N]``, int64."""
        return self.tensors[1]

    @property
    def num_steps(self) -> int:
        """``T``, the number of frames per recording (after padding)."""
        return self.frames.shape[1]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """One frame's shape, e.g. ``(2, 34, 34)``: what a model's ``input_shape`` is."""
        return tuple(self.frames.shape[2:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @staticmethod
    def time_first(batch: torch.Tensor) -> torch.Tensor:
        """``[B, T, ...] -> [T, B, ...]`` (a view)."""
        return batch.movedim(1, 0)

    def subset(self, n: int) -> FrameDataset:
        """The first ``n`` recordings."""
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ValueError(f"subset size must be an int >= 1, got {n!r}")
        return FrameDataset(
            self.frames[:n],
            self.targets[:n],
            self.lengths[:n],
            classes=self.classes,
            name=self.name,
            split=self.split,
            sensor_size=self.sensor_size,
        )

    def sum_over_time(self) -> TensorDataset:
        """``(frames summed over time [N, ...], targets)``: static images for an ordinary network."""
        return TensorDataset(self.frames.sum(1), self.targets)

    def __repr__(self) -> str:
        return (
            f"FrameDataset(name={self.name!r}, split={self.split!r}, frames={list(self.frames.shape)}, "
            f"num_classes={self.num_classes})"
        )


def materialize(
    dataset: Dataset,
    collate: EventCollate | None = None,
    *,
    batch_size: int = 64,
    num_workers: int = 0,
    progress: bool = True,
) -> FrameDataset:
    """Run ``dataset`` through ``collate`` once and keep every recording's frames in memory.

    Args:
        dataset: an :class:`~spikekit.data.events.EventDataset` (or any dataset of ``(sample, target)``).
        collate: how to batch; by default ``EventCollate(dataset.sensor_size)``, which needs the dataset
            to yield frames (a ``ToFrame`` transform); give ``EventCollate(sensor_size, n_time_bins=...)``
            to bin raw events here.
        batch_size, num_workers: of the DataLoader used to read it.
        progress: show a progress bar.

    Returns:
        A :class:`FrameDataset` with ``frames [N, T, ...]`` (``T``: the longest recording; shorter ones
        padded with zero frames), ``targets [N]``, ``lengths [N]``.

    Memory: ``N * T * prod(frame shape) * 4`` bytes (1,000 N-MNIST recordings at ``T = 10``: 92 MB).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    check_num_workers(num_workers)
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise ValueError("dataset is empty; nothing to materialize")
    sensor = getattr(dataset, "sensor_size", None)
    collate = collate if collate is not None else EventCollate(sensor)
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=False, collate_fn=collate, num_workers=num_workers
    )
    chunks, targets, lengths = [], [], []
    total = math.ceil(len(dataset) / batch_size)
    with _io.progress(
        loader, total=total, desc="events to frames", unit="batch", leave=False, enabled=progress
    ) as bar:
        for batch in bar:
            chunks.append(batch.frames.movedim(1, 0))  # [B, T_b, ...]
            targets.append(batch.targets)
            lengths.append(batch.lengths)
    steps = max(c.shape[1] for c in chunks)
    frames = chunks[0].new_zeros((sum(len(c) for c in chunks), steps, *chunks[0].shape[2:]))  # [N, T, ...]
    start = 0
    for c in chunks:
        frames[start : start + len(c), : c.shape[1]] = c
        start += len(c)
    return FrameDataset(
        frames,
        torch.cat(targets),
        torch.cat(lengths),
        classes=getattr(dataset, "classes", None) or None,
        name=getattr(dataset, "name", ""),
        split=getattr(dataset, "split", ""),
        sensor_size=sensor,
    )


def load_frames(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    n_time_bins: int | None = 10,
    time_window: float | None = None,
    split: str | None = None,
    download: bool = False,
    verify: bool = True,
    cache: bool | str | os.PathLike | None = True,
    train_limit: int | None = None,
    test_limit: int | None = None,
    flatten: bool | None = None,
    progress: bool = True,
    num_workers: int = 0,
) -> tuple[FrameDataset, FrameDataset] | FrameDataset:
    """An event dataset's splits as in-memory :class:`FrameDataset` objects (what ``spikekit train`` uses).

    Recordings are binned with ``tonic.transforms.ToFrame`` into ``n_time_bins`` frames, or into frames
    of ``time_window`` microseconds from ``t = 0`` (``n_time_bins=None``; the last window may be shorter),
    through the frame cache (``cache=True``: the user cache; a folder; ``None``: none). Tonic's
    ``n_time_bins`` bins span ``[first, last)`` event time, so the event(s) at a recording's very last time
    stamp are left out (one of N-MNIST's ~4,000 per recording); ``time_window`` keeps every event.

    Args:
        name: ``"nmnist"``, ``"nmnist-small"`` or ``"shd"``.
        root, download, verify: as :func:`~spikekit.data.events.load_events`.
        n_time_bins, time_window: the binning (exactly one of them).
        split: ``None`` for ``(train, test)``, or ``"train"`` / ``"test"`` for that split alone.
        cache: where frames are cached.
        train_limit, test_limit: keep only the first N recordings of a split (before binning).
        flatten: frames ``[N, T, F]``; by default for a cochlea (SHD: ``[N, T, 700]``), not for a camera.
        progress, num_workers: progress bars; DataLoader workers while binning.

    Returns:
        ``(train, test)`` :class:`FrameDataset` objects, ``frames [N, T, ...]``; one when ``split`` is given.

    Example:
        >>> train, test = load_frames("nmnist-small", n_time_bins=10)  # doctest: +SKIP
        >>> train.frames.shape  # doctest: +SKIP
        torch.Size([1000, 10, 2, 34, 34])
    """
    from .datasets import load_events
    from .io import require_tonic
    from .registry import EVENT_SPECS, normalize_event_name

    if (n_time_bins is None) == (time_window is None):
        raise ValueError(
            f"give exactly one of n_time_bins, time_window; got {n_time_bins!r} and {time_window!r}"
        )
    check_binning(n_time_bins, time_window)
    if flatten is not None and not isinstance(flatten, bool):
        raise TypeError(f"flatten must be None, True or False, got {flatten!r}")
    check_num_workers(num_workers)
    key = normalize_event_name(name)
    spec = EVENT_SPECS[key]
    to_frame = require_tonic().transforms.ToFrame
    if n_time_bins is not None:
        transform = to_frame(sensor_size=spec.sensor_size, n_time_bins=n_time_bins)
    else:
        transform = to_frame(
            sensor_size=spec.sensor_size, time_window=time_window, include_incomplete=True, start_time=0
        )
    flatten = spec.kind == "cochlea" if flatten is None else flatten
    common = dict(download=download, verify=verify, transform=transform, cache=cache, progress=progress)
    if split is None:
        splits = dict(zip(("train", "test"), load_events(key, root, **common), strict=True))
    else:
        splits = {split: load_events(key, root, split=split, **common)}  # type: ignore[arg-type]
    limits = {"train": train_limit, "test": test_limit}
    out: list[Any] = []
    for which, ds in splits.items():
        ds = ds.subset(limits[which]) if limits[which] is not None else ds
        collate = EventCollate(spec.sensor_size, flatten=flatten)
        out.append(materialize(ds, collate, num_workers=num_workers, progress=progress))
    return out[0] if split is not None else (out[0], out[1])
