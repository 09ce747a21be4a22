"""An on-disk cache of transformed recordings (frames) keyed by the transform: later epochs do no event work.

Layout: ``<root>/<transform key>/<sample key>.npy`` plus ``transform.txt`` (the transform's ``repr``, for
people). The transform key is a hash of the transform's class and ``repr`` (Tonic's transforms are
dataclasses whose ``repr`` lists every parameter), so changing a parameter (say ``n_time_bins``) starts
a new cache instead of serving stale frames. The sample key is a hash of what identifies the recording's
content: its SHA-256 when a manifest gives one, else its path, size and modification time. Entries are
written to a temporary file and renamed into place, so parallel DataLoader workers never read half an
entry. Only deterministic transforms belong in a cached dataset: a random augmentation would be frozen
at its first draw.
"""

from __future__ import annotations

import ast
import hashlib
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ... import _io

__all__ = ["FrameCache", "transform_key", "CACHE_VERSION"]

CACHE_VERSION = 1
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def transform_key(transform: Any, name: str | None = None) -> str:
    """A 16-hex-digit key for ``transform``: a hash of its class and ``repr`` (or of ``name`` if given).

    Raises:
        ValueError: when the ``repr`` holds a memory address (a lambda, a plain function or an object
            without a ``__repr__``), which changes from run to run; pass ``name`` (``cache_key=``) then.
    """
    if name is not None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"cache_key must be a non-empty str, got {name!r}")
        text = f"name:{name}"
    else:
        text = repr(transform)
        if _ADDRESS.search(text):
            raise ValueError(
                f"cannot key the frame cache by transform {text!r}: its repr holds a memory address, which "
                "changes from run to run; give cache_key='a name for this transform', or use transforms with "
                "a stable repr such as tonic.transforms.ToFrame"
            )
        text = f"{type(transform).__module__}.{type(transform).__qualname__}:{text}"
    return hashlib.sha256(f"v{CACHE_VERSION}|{text}".encode()).hexdigest()[:16]


class FrameCache:
    """Transformed samples stored as ``.npy`` files under ``root/<key>``.

    Args:
        root: the cache root (e.g. ``spikekit.data.cache_dir() / "frames"``).
        transform: the transform whose outputs are stored; it names the sub-folder.
        name: a name to key the transform by instead of its ``repr``.
    """

    def __init__(self, root: str | os.PathLike, transform: Any, name: str | None = None) -> None:
        self.key = transform_key(transform, name)
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"cache: root must be a folder path, got {type(root).__name__}")
        base = Path(root).expanduser()
        if base.exists() and not base.is_dir():
            raise NotADirectoryError(
                f"cache: {base} is a file, not a folder; give a folder for the frame cache"
            )
        self.folder = base / self.key
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OSError(
                f"cache: cannot create the frame cache folder {self.folder}: {err.strerror or err}"
            ) from err
        self._headers: dict[bytes, tuple[np.dtype, tuple[int, ...], bool]] = {}
        label = self.folder / "transform.txt"
        if not label.exists():
            _io.atomic_write_text(label, (name or repr(transform)) + "\n")

    def path(self, sample_id: str) -> Path:
        """Where the sample identified by ``sample_id`` is stored."""
        return self.folder / (hashlib.sha256(sample_id.encode()).hexdigest()[:32] + ".npy")

    def get(self, sample_id: str) -> np.ndarray | None:
        """The stored array, or ``None`` on a miss (an unreadable entry counts as a miss)."""
        try:
            with open(self.path(sample_id), "rb") as f:
                data = bytearray(f.read())
            return self._parse(data)
        except (OSError, ValueError, SyntaxError):
            return None

    def _parse(self, data: bytearray) -> np.ndarray:
        """A ``.npy`` file's bytes as an array; headers are parsed once per distinct header (it is the slow
        part of ``np.load``, and every entry of one transform usually shares it)."""
        if data[:6] != b"\x93NUMPY":
            raise ValueError("not a .npy file")
        size = 2 if data[6] == 1 else 4
        start = 8 + size
        end = start + int.from_bytes(data[8:start], "little")
        header = bytes(data[start:end])
        meta = self._headers.get(header)
        if meta is None:
            d = ast.literal_eval(header.decode("latin1"))
            meta = self._headers[header] = (np.dtype(d["descr"]), tuple(d["shape"]), bool(d["fortran_order"]))
        dtype, shape, fortran = meta
        count = math.prod(shape)
        if len(data) - end != count * dtype.itemsize:
            raise ValueError("truncated .npy file")
        return np.frombuffer(data, dtype=dtype, count=count, offset=end).reshape(
            shape, order="F" if fortran else "C"
        )

    def put(self, sample_id: str, value: Any) -> np.ndarray:
        """Store ``value`` (a numpy array or tensor) atomically and return it as a numpy array."""
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if not isinstance(value, np.ndarray) or value.dtype == object:
            raise TypeError(
                "a cached transform must return a numpy array or a tensor (frames), "
                f"got {type(value).__name__}; cache=None keeps other outputs uncached"
            )
        # durable=False: no fsync per entry (2.7x slower per entry here, far slower on a spinning disk, for
        # tens of thousands of entries), and a cache needs no durability: an entry a crash leaves empty or
        # torn fails to parse in get() and counts as a miss. The temporary file is still O_EXCL under a
        # random name (a planted symlink is never followed) and renamed into place.
        with _io.atomic_open(self.path(sample_id), "wb", durable=False) as f:
            np.save(f, value, allow_pickle=False)
        return value

    def __len__(self) -> int:
        return sum(1 for p in self.folder.glob("*.npy") if not p.name.startswith("."))

    def __repr__(self) -> str:
        return f"FrameCache(folder={str(self.folder)!r})"
