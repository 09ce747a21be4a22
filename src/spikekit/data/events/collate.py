"""Batching event samples time-first: ``[T, B, C, H, W]`` (camera) or ``[T, B, channels]`` (cochlea).

Recordings binned by a time window give different numbers of frames; the batch is padded with zero frames
after each recording's end and the true lengths are returned, so a model or loss can mask the padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from .io import require_tonic

__all__ = ["EventBatch", "EventCollate", "pad_time_first", "zero_frames"]


class EventBatch(NamedTuple):
    """A collated batch; unpacks as ``frames, targets, lengths = batch``.

    Shape:
        - frames: ``[T, B, ...]``, ``T`` the longest recording's number of frames; zero after each end
        - targets: ``[B]``, int64
        - lengths: ``[B]``, int64, frames per recording (``<= T``)
    """

    frames: torch.Tensor
    targets: torch.Tensor
    lengths: torch.Tensor


def pad_time_first(sequences: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``[T_i, ...]`` tensors into ``[max T_i, B, ...]`` with zeros after each end.

    Args:
        sequences: ``B`` tensors with equal trailing shapes and dtypes; ``T_i`` may be 0.

    Returns:
        ``(padded [T, B, ...], lengths [B] int64)``.

    Example:
        >>> x, n = pad_time_first([torch.ones(2, 3), torch.ones(1, 3)])
        >>> x.shape, n.tolist(), x[1, 1].tolist()
        (torch.Size([2, 2, 3]), [2, 1], [0.0, 0.0, 0.0])
    """
    if not sequences:
        raise ValueError("sequences must hold at least one tensor, got none")
    shapes = {tuple(s.shape[1:]) for s in sequences}
    if len(shapes) != 1 or any(s.dim() < 1 for s in sequences):
        listing = ", ".join(str(tuple(s.shape)) for s in sequences)
        raise ValueError(
            f"every sample must be frames [T, ...] with the same shape after the time axis, got {listing}; "
            "give every recording the same sensor_size"
        )
    lengths = torch.tensor([s.shape[0] for s in sequences], dtype=torch.int64)
    if bool((lengths == lengths[0]).all()):
        return torch.stack(list(sequences), dim=1), lengths  # [T, B, ...], no padding needed
    out = sequences[0].new_zeros((int(lengths.max()), len(sequences), *shapes.pop()))  # [T, B, ...]
    for i, s in enumerate(sequences):
        out[: s.shape[0], i] = s
    return out, lengths


def _numpy_dtype(dtype: torch.dtype) -> np.dtype | None:
    """The numpy dtype of a torch dtype, or ``None`` (bfloat16 has none)."""
    try:
        return torch.empty(0, dtype=dtype).numpy().dtype
    except TypeError:
        return None


def zero_frames(to_frame: Any, events: np.ndarray) -> np.ndarray:
    """What Tonic's ``ToFrame`` gives a recording with events, for an empty one: all-zero frames.

    ``n_time_bins`` (or ``n_event_bins``) zero frames, else one; ``[T, P, H, W]`` for a camera (fields
    ``x, y``), ``[T, P, W]`` for a cochlea, int16. (Tonic 1.7's own empty-recording frames are float
    ``[T, P, W, H]``, transposed for a camera and with an extra axis for a cochlea, so they would not
    batch with the others.)
    """
    width, height, polarities = (int(s) for s in to_frame.sensor_size)
    steps = to_frame.n_time_bins or to_frame.n_event_bins or 1
    shape = (
        (steps, polarities, height, width)
        if "y" in (events.dtype.names or ())
        else (steps, polarities, width)
    )
    return np.zeros(shape, dtype=np.int16)


def _is_events(sample: Any) -> bool:
    return isinstance(sample, np.ndarray) and sample.dtype.names is not None


class EventCollate:
    """A ``collate_fn`` turning ``(sample, target)`` pairs into an :class:`EventBatch`, time first.

    A sample is either frames ``[T_i, ...]`` (a numpy array or tensor, e.g. from a dataset transform
    ``tonic.transforms.ToFrame``: ``[T, P, H, W]`` for a camera, ``[T, 1, channels]`` for a cochlea) or raw
    events (a structured array), which this collate bins itself with Tonic's ``ToFrame`` into
    ``n_time_bins`` frames or frames of ``time_window`` microseconds from ``t = 0`` (the last window may
    be shorter). Binning in the dataset's transform instead is what the frame cache stores.

    Args:
        sensor_size: Tonic's ``(W, H, P)``, e.g. ``(34, 34, 2)``, ``(700, 1, 1)``; needed to bin raw events.
        n_time_bins: bin raw events into this many frames per recording (all the same length).
        time_window: bin raw events into frames of this many microseconds (lengths vary; padded).
        flatten: flatten everything after ``[T, B]``: ``[T, B, C*H*W]`` (``[T, B, 700]`` for SHD).
        dtype: the frames' dtype.

    Shape:
        - frames: ``[T, B, P, H, W]`` (camera), ``[T, B, 1, channels]``, or ``[T, B, F]`` with ``flatten``
        - targets, lengths: ``[B]``

    Example:
        >>> loader = DataLoader(nmnist, batch_size=32, collate_fn=EventCollate((34, 34, 2), n_time_bins=10))
        >>> frames, targets, lengths = next(iter(loader))  # frames [10, 32, 2, 34, 34]  # doctest: +SKIP
    """

    def __init__(
        self,
        sensor_size: Sequence[int] | None = None,
        *,
        n_time_bins: int | None = None,
        time_window: float | None = None,
        flatten: bool = False,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if n_time_bins is not None and time_window is not None:
            raise ValueError(
                f"give n_time_bins or time_window, not both; got {n_time_bins!r} and {time_window!r}"
            )
        if n_time_bins is not None and (isinstance(n_time_bins, bool) or not isinstance(n_time_bins, int)):
            raise TypeError(f"n_time_bins must be an int >= 1, got {type(n_time_bins).__name__}")
        if n_time_bins is not None and n_time_bins < 1:
            raise ValueError(f"n_time_bins must be an int >= 1, got {n_time_bins}")
        if time_window is not None and not time_window > 0:
            raise ValueError(f"time_window must be > 0 microseconds, got {time_window!r}")
        if sensor_size is not None and (len(sensor_size) != 3 or any(int(s) < 1 for s in sensor_size)):
            raise ValueError(f"sensor_size must be Tonic's (W, H, P) with each >= 1, got {sensor_size!r}")
        binning = n_time_bins is not None or time_window is not None
        if binning and sensor_size is None:
            raise ValueError("binning raw events (n_time_bins or time_window) needs sensor_size=(W, H, P)")
        self.sensor_size = tuple(int(s) for s in sensor_size) if sensor_size is not None else None
        self.n_time_bins, self.time_window = n_time_bins, time_window
        self.flatten, self.dtype = bool(flatten), dtype
        self._to_frame = None
        if binning:
            transforms = require_tonic().transforms
            if n_time_bins is not None:
                self._to_frame = transforms.ToFrame(sensor_size=self.sensor_size, n_time_bins=n_time_bins)
            else:
                self._to_frame = transforms.ToFrame(
                    sensor_size=self.sensor_size,
                    time_window=time_window,
                    include_incomplete=True,
                    start_time=0,
                )

    def frames(self, sample: Any, index: int = 0) -> torch.Tensor:
        """One sample as a tensor of frames ``[T, ...]`` of ``self.dtype``."""
        if _is_events(sample):
            if self._to_frame is None:
                raise ValueError(
                    f"sample {index} of the batch is raw events; give EventCollate(sensor_size, "
                    "n_time_bins=...) or time_window=..., or a transform like tonic.transforms.ToFrame"
                )
            empty = len(sample) == 0
            # ToFrame may write to p for one-polarity sensors, hence the copy
            sample = zero_frames(self._to_frame, sample) if empty else self._to_frame(sample.copy())
        if isinstance(sample, np.ndarray):
            np_dtype = _numpy_dtype(self.dtype)
            if (
                np_dtype is not None
            ):  # numpy converts int16 counts to float far faster than torch's CPU kernel
                return torch.from_numpy(np.ascontiguousarray(sample, dtype=np_dtype))
            sample = torch.from_numpy(np.ascontiguousarray(sample))
        if not isinstance(sample, torch.Tensor):
            raise TypeError(
                f"sample {index} of the batch must be frames (numpy array or tensor) or a structured array "
                f"of events, got {type(sample).__name__}"
            )
        return sample.to(self.dtype)

    def __call__(self, batch: Sequence[tuple[Any, Any]]) -> EventBatch:
        if not batch:
            raise ValueError("batch must hold at least one (sample, target) pair, got none")
        frames, lengths = pad_time_first([self.frames(sample, i) for i, (sample, _) in enumerate(batch)])
        if self.flatten:
            frames = frames.flatten(2)
        targets = torch.as_tensor([int(target) for _, target in batch], dtype=torch.int64)
        return EventBatch(frames, targets, lengths)

    def __repr__(self) -> str:
        return (
            f"EventCollate(sensor_size={self.sensor_size}, n_time_bins={self.n_time_bins}, "
            f"time_window={self.time_window}, flatten={self.flatten}, dtype={self.dtype})"
        )
