"""Reading event recordings: N-MNIST's binary files (through Tonic's reader) and SHD's HDF5 files.

An event camera's recording is a NumPy structured array with Tonic's fields ``x, y, t, p`` (pixel
column, row, time in microseconds, polarity 0 = OFF / 1 = ON); a silicon cochlea's has ``t, x, p``
(``x`` is the channel, ``p`` is always 0). Every reader checks what Tonic's own readers take on trust
and raises a ``ValueError`` naming the file and the problem instead of failing deep inside a transform.

N-MNIST format (Orchard et al. 2015): 5 bytes per event, one big-endian 40-bit word::

    bits 39..32 x    bits 31..24 y    bit 23 polarity (1 ON)    bits 22..0 time stamp (us)

Words whose y byte is 240 are time-stamp overflow markers, which Tonic's reader turns into an offset.

SHD format (Cramer et al. 2020, "The Heidelberg spiking data sets"): an HDF5 file with variable-length
datasets ``spikes/times`` (seconds, float) and ``spikes/units`` (channel 0..699, int), one entry per
recording, and ``labels`` ``[N]``; ``extra/keys`` (class names) is optional.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ... import _io
from ..fetch import ChecksumError, sha256_hex
from ..idx import read_file

__all__ = [
    "CAMERA_DTYPE",
    "COCHLEA_DTYPE",
    "NMNIST_EVENT_BYTES",
    "check_camera_events",
    "check_cochlea_events",
    "read_nmnist",
    "write_nmnist",
    "ShdFile",
    "require_tonic",
]

# Tonic's orderings: tonic.datasets.NMNIST.dtype and tonic.datasets.SHD.dtype.
CAMERA_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
COCHLEA_DTYPE = np.dtype([("t", np.int64), ("x", np.int64), ("p", np.int64)])
NMNIST_EVENT_BYTES = 5
_MAX_NMNIST_TIME = (1 << 23) - 1
SHD_FIELDS = ("spikes/times", "spikes/units", "labels")


def require_tonic() -> Any:
    """Import and return :mod:`tonic`, or raise an ``ImportError`` saying how to install it."""
    try:
        import tonic
    except ImportError as err:
        raise ImportError(
            "event data needs Tonic: pip install 'spikekit[events]' (Tonic 1.7, installed with "
            f"`pip install --no-deps tonic` so that it keeps your torch); import failed with: {err}"
        ) from err
    return tonic


def _require_h5py() -> Any:
    try:
        import h5py
    except ImportError as err:
        raise ImportError("SHD needs h5py: pip install 'spikekit[events]' (or h5py)") from err
    return h5py


def check_camera_events(events: np.ndarray, sensor_size: Sequence[int], source: str) -> np.ndarray:
    """Raise ``ValueError`` (naming ``source``) unless every event lies on the ``(W, H, P)`` sensor.

    Args:
        events: structured array with fields ``x, y, t, p``.
        sensor_size: ``(width, height, polarities)``, Tonic's convention, e.g. ``(34, 34, 2)``.
        source: the file (and sample) the events came from, for the message.

    Returns:
        ``events``, unchanged.
    """
    width, height, polarities = (int(s) for s in sensor_size)
    bad = (
        (events["x"] < 0)
        | (events["x"] >= width)
        | (events["y"] < 0)
        | (events["y"] >= height)
        | (events["p"] < 0)
        | (events["p"] >= polarities)
    )
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        e = events[first]
        raise ValueError(
            f"{source}: {int(bad.sum())} of {len(events)} event(s) lie outside the {width}x{height} sensor "
            f"with {polarities} polarities (x in [0, {width}), y in [0, {height}), p in [0, {polarities})); "
            f"the first is event {first}: x={int(e['x'])} y={int(e['y'])} p={int(e['p'])} t={int(e['t'])}"
        )
    return events


def check_cochlea_events(events: np.ndarray, channels: int, source: str) -> np.ndarray:
    """Raise ``ValueError`` (naming ``source``) unless every event's channel lies in ``[0, channels)``."""
    bad = (events["x"] < 0) | (events["x"] >= channels)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{source}: {int(bad.sum())} of {len(events)} spike(s) have a unit outside [0, {channels}); "
            f"the first is spike {first}: unit {int(events['x'][first])}"
        )
    return events


def read_nmnist(
    path: str | os.PathLike,
    *,
    sensor_size: Sequence[int] = (34, 34, 2),
    sha256: str | None = None,
) -> np.ndarray:
    """Read one N-MNIST recording with Tonic's reader, after checking its length and checksum.

    Args:
        path: a ``.bin`` file in N-MNIST's format (any extension).
        sensor_size: ``(W, H, P)``; every event must lie on it.
        sha256: expected SHA-256 (hex) of the file; ``None`` skips the check.

    Returns:
        Structured array ``[n]`` with fields ``x, y, t, p`` (int64, ``t`` in microseconds), in file
        order; overflow markers are removed. An empty file gives an empty array.

    Raises:
        ValueError: the length is not a whole number of 5-byte events, or an event lies outside the
            sensor. ``ChecksumError`` (a ``ValueError``) when the SHA-256 differs.
        FileNotFoundError: no such file.

    Example:
        >>> events = read_nmnist("nmnist-small/1.bs2")  # doctest: +SKIP
        >>> events.dtype.names, events["t"].max()  # doctest: +SKIP
        (('x', 'y', 't', 'p'), 305924)
    """
    path = Path(path)
    data = read_file(path, "an N-MNIST recording")
    if sha256 is not None:
        got = sha256_hex(data)
        if got != sha256:
            raise ChecksumError(
                f"checksum mismatch for {path}: expected SHA-256 {sha256}, got {got}; the file is corrupt "
                "or not the listed one; restore it or download the dataset again"
            )
    whole, rest = divmod(len(data), NMNIST_EVENT_BYTES)
    if rest:
        raise ValueError(
            f"{path}: {len(data)} bytes is not a whole number of {NMNIST_EVENT_BYTES}-byte N-MNIST events "
            f"({whole} events and {rest} byte(s) left over); the file is truncated or not in N-MNIST's format"
        )
    require_tonic()
    from tonic.io import read_mnist_file

    events = read_mnist_file(io.BytesIO(data), dtype=CAMERA_DTYPE, is_stream=True)
    return check_camera_events(events, sensor_size, str(path))


def write_nmnist(path: str | os.PathLike, events: np.ndarray) -> Path:
    """Write camera events in N-MNIST's binary format (no overflow markers).

    Args:
        path: the file to write.
        events: structured array with fields ``x, y, t, p``: ``x, y`` in [0, 255] (not 240 for ``y``,
            which marks an overflow), ``p`` in {0, 1}, ``t`` in [0, 2**23) microseconds.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    names = getattr(getattr(events, "dtype", None), "names", None) or ()
    if not isinstance(events, np.ndarray) or not {"x", "y", "t", "p"} <= set(names):
        raise TypeError(
            f"events must be a structured array with fields x, y, t, p; got {names or type(events)}"
        )
    x, y, t, p = (events[k].astype(np.int64) for k in ("x", "y", "t", "p"))
    for name, v, lo, hi in (
        ("x", x, 0, 255),
        ("y", y, 0, 255),
        ("p", p, 0, 1),
        ("t", t, 0, _MAX_NMNIST_TIME),
    ):
        if len(v) and (v.min() < lo or v.max() > hi):
            raise ValueError(f"events[{name!r}] must lie in [{lo}, {hi}], got [{v.min()}, {v.max()}]")
    if (y == 240).any():
        raise ValueError("events['y'] must not be 240: in N-MNIST's format that marks a time-stamp overflow")
    word = (x << 32) | (y << 24) | (p << 23) | t  # [n] 40-bit words
    raw = np.stack([(word >> shift) & 0xFF for shift in (32, 24, 16, 8, 0)], axis=1).astype(np.uint8)
    return _io.atomic_write_bytes(path, raw.tobytes())


class ShdFile:
    """One SHD HDF5 file, checked on opening and read one recording at a time.

    The h5py handle is opened lazily in each process (so the object can go to DataLoader workers) and
    dropped when pickled.

    Args:
        path: the ``.h5`` file.
        channels: number of cochlea channels (700 in SHD); every unit must be below it.

    Raises:
        ValueError: a required field (``spikes/times``, ``spikes/units``, ``labels``) is missing, or
            their lengths differ; the message names the file.
    """

    def __init__(self, path: str | os.PathLike, channels: int = 700) -> None:
        self.path = Path(path)
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be an int >= 1 (cochlea channels; 700 in SHD), got {channels!r}")
        self.channels = channels
        self._handle: Any = None
        self._pid = os.getpid()
        if self.path.is_dir():
            raise IsADirectoryError(f"{self.path} is a folder, not an SHD file (shd_train.h5 or shd_test.h5)")
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such SHD file")
        try:
            h5 = self._open()
        except OSError as err:  # h5py: not HDF5, truncated, empty
            raise ValueError(
                f"{self.path}: not an SHD file: it cannot be opened as HDF5 ({err}); an SHD file is the "
                "published shd_train.h5 / shd_test.h5"
            ) from err
        missing = [name for name in SHD_FIELDS if name not in h5]
        if missing:
            raise ValueError(
                f"{self.path}: not an SHD file: missing field(s) {', '.join(missing)}; an SHD file holds "
                f"{', '.join(SHD_FIELDS)} (spike times in seconds, spike units, one label per recording)"
            )
        sizes = {name: len(h5[name]) for name in SHD_FIELDS}
        if len(set(sizes.values())) != 1:
            listing = ", ".join(f"{k}: {v}" for k, v in sizes.items())
            raise ValueError(f"{self.path}: SHD fields disagree on the number of recordings ({listing})")
        labels = np.asarray(h5["labels"][()])
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{self.path}: labels must be integers [N], got {labels.dtype} {labels.shape}")
        if len(labels) and labels.min() < 0:
            raise ValueError(f"{self.path}: labels must be >= 0, got minimum {labels.min()}")
        self.labels = labels.astype(np.int64)
        keys = h5["extra/keys"][()] if "extra/keys" in h5 else None
        self.keys = (
            [k.decode() if isinstance(k, bytes) else str(k) for k in keys] if keys is not None else None
        )

    def _open(self) -> Any:
        if self._handle is None or self._pid != os.getpid():  # a forked DataLoader worker opens its own
            self._handle = _require_h5py().File(self.path, "r")
            self._pid = os.getpid()
        return self._handle

    def __len__(self) -> int:
        return len(self.labels)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_handle": None}

    def close(self) -> None:
        """Close the HDF5 handle (it reopens on the next read)."""
        if self._handle is not None and self._pid == os.getpid():
            self._handle.close()
        self._handle = None

    def read(self, index: int) -> np.ndarray:
        """Recording ``index`` as a structured array ``t, x, p`` (``t`` in whole microseconds, ``p = 0``)."""
        h5 = self._open()
        source = f"{self.path} recording {index}"
        times = np.asarray(h5["spikes/times"][index], dtype=np.float64)
        units = np.asarray(h5["spikes/units"][index])
        if times.shape != units.shape or times.ndim != 1:
            raise ValueError(
                f"{source}: spikes/times has {times.size} entries but spikes/units has {units.size}; "
                "each spike needs one time and one unit"
            )
        if not np.isfinite(times).all() or (len(times) and times.min() < 0):
            raise ValueError(f"{source}: spike times must be finite and >= 0 seconds")
        events = np.zeros(len(times), dtype=COCHLEA_DTYPE)
        events["t"] = np.round(times * 1e6).astype(np.int64)
        events["x"] = units.astype(np.int64)
        return check_cochlea_events(events, self.channels, source)
