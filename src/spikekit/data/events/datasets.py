"""Event datasets as PyTorch datasets that take Tonic transforms (:class:`EventDataset`, :func:`load_events`,
:func:`materialize`); names, folders and empty recordings are described in :mod:`spikekit.data.events`."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import torch
from torch.utils.data import Dataset

from ..registry import cache_dir, search_paths
from .cache import FrameCache
from .collate import zero_frames
from .fetch import download_events
from .io import ShdFile, read_nmnist, require_tonic
from .registry import EVENT_SPECS, normalize_event_name

__all__ = ["EventDataset", "NMNIST", "SHD", "load_events"]

Split = Literal["train", "test"]
MANIFEST = "MANIFEST.tsv"
_SPLIT_FOLDERS = {"train": "Train", "test": "Test"}


def _check_split(split: object) -> str:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return str(split)


def _cache_root(cache: bool | str | os.PathLike | None) -> Path | None:
    if cache is None or cache is False:
        return None
    if cache is True:
        return cache_dir() / "frames"
    if isinstance(cache, (str, os.PathLike)):
        return Path(cache)
    raise TypeError(f"cache must be None, a bool or a folder path, got {type(cache).__name__}")


def _to_frame_inside(transform: Any) -> Any:
    """The last ``tonic.transforms.ToFrame`` in ``transform`` (itself or in a ``Compose``), or ``None``."""
    to_frame = require_tonic().transforms.ToFrame
    if isinstance(transform, to_frame):
        return transform
    found = [t for t in getattr(transform, "transforms", []) or [] if isinstance(t, to_frame)]
    return found[-1] if found else None


class EventDataset(Dataset):
    """Base class of the event datasets: transforms, the frame cache, empty recordings, subsets.

    Subclasses implement ``_read(k)`` (validated events of recording ``k``), ``_label(k)``,
    ``_source(k)`` (a file name for messages) and ``_sample_id(k)`` (what identifies its content).

    Args:
        transform: applied to each recording's events (any Tonic transform, or ``Compose`` of them).
        target_transform: applied to each integer target.
        cache: ``True`` (the user cache, ``<cache_dir()>/frames``), a folder, or ``None``: store each
            transformed sample on disk keyed by the transform (see :mod:`spikekit.data.events.cache`);
            samples then come back as numpy arrays. Needs a deterministic ``transform``.
        cache_key: a name to key the cache by instead of the transform's ``repr``.
        allow_empty: give an empty recording all-zero frames (see the module docstring) instead of raising.
    """

    name: str = ""
    split: str = ""
    sensor_size: tuple[int, int, int] = (0, 0, 0)
    classes: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        cache: bool | str | os.PathLike | None = None,
        cache_key: str | None = None,
        allow_empty: bool = True,
    ) -> None:
        for label, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{label} must be callable or None, got {type(fn).__name__}")
        self.transform, self.target_transform = transform, target_transform
        self.allow_empty = bool(allow_empty)
        root = _cache_root(cache)
        if root is not None and transform is None:
            raise ValueError("cache needs a transform (the frames to store), got transform=None")
        self.cache = FrameCache(root, transform, cache_key) if root is not None else None
        self._order = np.arange(self._count(), dtype=np.int64)

    # --- what subclasses provide ---------------------------------------------------------------------
    def _count(self) -> int:
        raise NotImplementedError

    def _read(self, k: int) -> np.ndarray:
        raise NotImplementedError

    def _label(self, k: int) -> int:
        raise NotImplementedError

    def _source(self, k: int) -> str:
        raise NotImplementedError

    def _sample_id(self, k: int) -> str:
        raise NotImplementedError

    # --- the Dataset -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._order)

    def _key(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        n = len(self._order)
        if not -n <= index < n:
            raise IndexError(
                f"index {index} is out of range for {self.name} {self.split} with {n} recordings"
            )
        return int(self._order[index])

    def events(self, index: int) -> np.ndarray:
        """The raw, validated events of recording ``index`` (no transform, no cache)."""
        return self._read(self._key(index))

    def source(self, index: int) -> str:
        """The file (and record) recording ``index`` comes from."""
        return self._source(self._key(index))

    @property
    def targets(self) -> torch.Tensor:
        """Class indices of all recordings, int64 ``[N]``."""
        return torch.as_tensor([self._label(int(k)) for k in self._order], dtype=torch.int64)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def _transformed(self, k: int) -> Any:
        events = self._read(k)
        if self.transform is None:
            return events
        if len(events) == 0:
            if not self.allow_empty:
                raise ValueError(
                    f"{self._source(k)}: empty recording (0 events); allow_empty=True gives all-zero frames"
                )
            to_frame = _to_frame_inside(self.transform)
            return zero_frames(to_frame, events) if to_frame is not None else self.transform(events)
        return self.transform(events)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        k = self._key(index)
        target: Any = self._label(k)
        if self.target_transform is not None:
            target = self.target_transform(target)
        if self.cache is None:
            return self._transformed(k), target
        sample_id = self._sample_id(k)
        hit = self.cache.get(sample_id)
        if hit is not None:
            return hit, target
        return self.cache.put(sample_id, self._transformed(k)), target

    def subset(self, n: int) -> EventDataset:
        """The first ``n`` recordings (all when ``n >= len(self)``), sharing transform and cache."""
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ValueError(f"subset size must be an int >= 1, got {n!r}")
        out = copy.copy(self)
        out._order = self._order[:n]
        return out

    def check(self) -> int:
        """Read and validate every recording (format, checksum, sensor); return the number of events."""
        return sum(len(self._read(int(k))) for k in self._order)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, recordings={len(self)}, "
            f"sensor_size={self.sensor_size}, transform={self.transform!r}, cache={self.cache!r})"
        )


@dataclass(frozen=True)
class _Recording:
    path: Path
    label: int
    sha256: str | None = None
    size: int | None = None


def _read_manifest(folder: Path, split: str, n_classes: int | None = None) -> list[_Recording]:
    """Rows of ``folder/MANIFEST.tsv`` for ``split``: columns file, split, label (and sha256, bytes)."""
    path = folder / MANIFEST
    lines = path.read_text().splitlines()
    header = next((ln for ln in lines if ln.strip()), "").lstrip("#").strip().split("\t")
    missing = [c for c in ("file", "split", "label") if c not in header]
    if missing:
        raise ValueError(
            f"{path}: the header line must name the tab-separated columns file, split, label (and optionally "
            f"sha256, bytes); missing {', '.join(missing)}"
        )
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#") or line.split("\t") == header:
            continue
        cells = line.split("\t")
        if len(cells) != len(header):
            raise ValueError(f"{path} line {number}: {len(cells)} fields, the header names {len(header)}")
        row = dict(zip(header, cells, strict=True))
        if row["split"] not in ("train", "test"):
            raise ValueError(f"{path} line {number}: split must be train or test, got {row['split']!r}")
        if row["split"] != split:
            continue
        try:
            label = int(row["label"])
            size = int(row["bytes"]) if row.get("bytes") else None
        except ValueError as err:
            raise ValueError(f"{path} line {number}: label and bytes must be integers ({err})") from err
        relative = Path(row["file"])
        if not row["file"] or relative.is_absolute() or ".." in relative.parts:
            raise ValueError(
                f"{path} line {number}: file {row['file']!r} must be a relative path inside {folder} "
                "(no absolute path, no '..')"
            )
        if label < 0 or (n_classes is not None and label >= n_classes):
            top = f", < {n_classes}" if n_classes is not None else ""
            raise ValueError(f"{path} line {number}: label must be an int >= 0{top}; got {label}")
        rows.append(_Recording(folder / relative, label, row.get("sha256") or None, size))
    return rows


def _official_layout(folder: Path, split: str) -> list[_Recording]:
    """``folder/Train/<digit>/*.bin`` in the order of the file numbers (= MNIST order)."""
    top = folder / _SPLIT_FOLDERS[split]
    found = [
        _Recording(path, int(sub.name))
        for sub in top.iterdir()
        if sub.is_dir() and sub.name.isdigit()
        for path in sub.glob("*.bin")
    ]

    def order(r: _Recording) -> tuple[int, str, int]:
        stem = r.path.stem
        return (int(stem) if stem.isdigit() else 1 << 62, stem, r.label)

    return sorted(found, key=order)


class NMNIST(EventDataset):
    """N-MNIST (Orchard et al. 2015): MNIST digits seen by an ATIS camera making three saccades.

    34x34 pixels, 2 polarities, about 300 ms per recording, 10 classes. Reads a folder in the official
    layout (``Train/<digit>/*.bin``, ``Test/<digit>/*.bin``, the unpacked published archives) or a folder
    with a ``MANIFEST.tsv`` (tab-separated, header naming at least ``file``, ``split``, ``label``;
    ``sha256`` and ``bytes`` are checked when present). Events are read with Tonic's reader after the
    file's length and checksum are checked; every event must lie on the sensor.

    Args:
        root: the dataset folder.
        split: ``"train"`` or ``"test"``.
        transform, target_transform, cache, cache_key, allow_empty: see :class:`EventDataset`.
        verify: check each file's size on opening and its SHA-256 on reading (manifest folders).
        name: the dataset's name (``repr`` and messages).

    Raises:
        FileNotFoundError: ``root`` is in neither layout, or a listed file is missing.
        ValueError: a malformed manifest, a file of the wrong size; on reading, a file whose length is
            not a whole number of 5-byte events or with events outside the sensor;
            ``ChecksumError`` (a ``ValueError``) on a SHA-256 mismatch.
    """

    sensor_size = (34, 34, 2)
    classes = tuple(str(i) for i in range(10))

    def __init__(
        self,
        root: str | os.PathLike,
        split: Split = "train",
        *,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        verify: bool = True,
        cache: bool | str | os.PathLike | None = None,
        cache_key: str | None = None,
        allow_empty: bool = True,
        name: str = "nmnist",
    ) -> None:
        self.root, self.split, self.name, self.verify = (
            Path(root).expanduser(),
            _check_split(split),
            name,
            verify,
        )
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(
                f"{self.root} is a file, not an N-MNIST folder (Train/<digit>/*.bin, Test/<digit>/*.bin, "
                f"or a {MANIFEST} listing the files)"
            )
        if (self.root / MANIFEST).is_file():
            self.layout = "manifest"
            self._recordings = _read_manifest(self.root, self.split, len(self.classes))
        elif (self.root / _SPLIT_FOLDERS[self.split]).is_dir():
            self.layout = "official"
            self._recordings = _official_layout(self.root, self.split)
        else:
            raise FileNotFoundError(
                f"{self.root}: not an N-MNIST folder: it needs {_SPLIT_FOLDERS[self.split]}/<digit>/*.bin "
                f"(the official layout) or a {MANIFEST} listing the files"
            )
        self._check_files()
        super().__init__(
            transform=transform,
            target_transform=target_transform,
            cache=cache,
            cache_key=cache_key,
            allow_empty=allow_empty,
        )

    def _check_files(self) -> None:
        missing = [r.path for r in self._recordings if not r.path.is_file()]
        if missing:
            shown = ", ".join(str(p) for p in missing[:3]) + (" ..." if len(missing) > 3 else "")
            raise FileNotFoundError(f"{self.root}: {len(missing)} {self.split} recording(s) missing: {shown}")
        if not self.verify:
            return
        for r in self._recordings:
            if r.size is not None and r.path.stat().st_size != r.size:
                raise ValueError(
                    f"{r.path}: {r.path.stat().st_size} bytes, but {MANIFEST} lists {r.size}; the file is "
                    "truncated or not the listed one"
                )

    def _count(self) -> int:
        return len(self._recordings)

    def _read(self, k: int) -> np.ndarray:
        r = self._recordings[k]
        return read_nmnist(r.path, sensor_size=self.sensor_size, sha256=r.sha256 if self.verify else None)

    def _label(self, k: int) -> int:
        return self._recordings[k].label

    def _source(self, k: int) -> str:
        return str(self._recordings[k].path)

    def _sample_id(self, k: int) -> str:
        r = self._recordings[k]
        if r.sha256:
            return f"sha256:{r.sha256}"
        stat = r.path.stat()
        return f"{r.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


class SHD(EventDataset):
    """The Spiking Heidelberg Digits (Cramer et al. 2020): spoken digits through a model cochlea.

    700 channels, 20 classes (0-9 in English and German), read through ``h5py`` from ``shd_train.h5`` /
    ``shd_test.h5`` (``spikes/times`` in seconds, ``spikes/units``, ``labels``). Events come as Tonic's
    SHD layout ``t, x, p`` (``t`` in microseconds, ``x`` the channel, ``p = 0``); with
    ``tonic.transforms.ToFrame(sensor_size=(700, 1, 1), ...)`` a sample is ``[T, 1, 700]``.

    Args:
        root: the folder holding ``shd_<split>.h5``, or the ``.h5`` file itself.
        split: ``"train"`` or ``"test"``.
        transform, target_transform, cache, cache_key, allow_empty: see :class:`EventDataset`.
        channels: number of cochlea channels; every unit must be below it.

    Raises:
        FileNotFoundError: no such file. ValueError: a field missing or malformed (naming the file).
    """

    sensor_size = (700, 1, 1)

    def __init__(
        self,
        root: str | os.PathLike,
        split: Split = "train",
        *,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        cache: bool | str | os.PathLike | None = None,
        cache_key: str | None = None,
        allow_empty: bool = True,
        channels: int = 700,
    ) -> None:
        self.split, self.name = _check_split(split), "shd"
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be an int >= 1 (cochlea channels; 700 in SHD), got {channels!r}")
        path = Path(root).expanduser()
        path = path if path.is_file() else path / f"shd_{self.split}.h5"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such SHD file (a folder needs shd_train.h5 and shd_test.h5)")
        self.sensor_size = (int(channels), 1, 1)
        self.file = ShdFile(path, channels)
        top = int(self.file.labels.max()) + 1 if len(self.file) else 0
        keys = self.file.keys
        self.classes = (
            tuple(keys) if keys and len(keys) >= top else tuple(str(i) for i in range(max(top, 20)))
        )
        super().__init__(
            transform=transform,
            target_transform=target_transform,
            cache=cache,
            cache_key=cache_key,
            allow_empty=allow_empty,
        )

    def _count(self) -> int:
        return len(self.file)

    def _read(self, k: int) -> np.ndarray:
        return self.file.read(k)

    def _label(self, k: int) -> int:
        return int(self.file.labels[k])

    def _source(self, k: int) -> str:
        return f"{self.file.path} recording {k}"

    def _sample_id(self, k: int) -> str:
        stat = self.file.path.stat()
        return f"{self.file.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{k}"


# --- finding and loading by name -----------------------------------------------------------------------
def _status(key: str, folder: Path, splits: Sequence[str]) -> str | None:
    """``None`` when ``folder`` holds ``splits`` of dataset ``key``, else why not."""
    if not folder.is_dir():
        return "no such folder"
    if key == "shd":
        missing = [f"shd_{s}.h5" for s in splits if not (folder / f"shd_{s}.h5").is_file()]
    elif (folder / MANIFEST).is_file():
        return None
    else:
        missing = [f"{_SPLIT_FOLDERS[s]}/" for s in splits if not (folder / _SPLIT_FOLDERS[s]).is_dir()]
        if missing:
            return f"no {MANIFEST} and no {', '.join(missing)}"
    return f"missing {', '.join(missing)}" if missing else None


def _locate(
    key: str, root: str | os.PathLike | None, splits: Sequence[str], download: bool, progress: bool
) -> Path:
    looked = []
    for folder in search_paths(key, root):
        why = _status(key, folder, splits)
        if why is None:
            return folder
        looked.append(f"{folder} ({why})")
    if download and EVENT_SPECS[key].archives:
        return download_events(key, root, splits=splits, progress=progress)
    if EVENT_SPECS[key].archives:
        how = (
            f"Download it with --download (spikekit.data.events.load_events({key!r}, download=True)), or put "
            "it in one of these folders (--data-dir DIR: the dataset folder or its parent; or SPIKEKIT_DATA)."
        )
    else:
        how = "It has no published archive: point --data-dir or $SPIKEKIT_DATA at a folder holding it."
    if key == "nmnist":
        how += " The 1,100-recording subset with a MANIFEST.tsv is dataset 'nmnist-small'."
    places = "\n  ".join(looked)
    raise FileNotFoundError(f"event dataset {key!r} not found. Looked in:\n  {places}\n{how}")


@overload
def load_events(
    name: str, root: str | os.PathLike | None = None, *, split: None = None, **kwargs: Any
) -> tuple[EventDataset, EventDataset]: ...


@overload
def load_events(
    name: str, root: str | os.PathLike | None = None, *, split: Split, **kwargs: Any
) -> EventDataset: ...


def load_events(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    split: Split | None = None,
    download: bool = False,
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    verify: bool = True,
    cache: bool | str | os.PathLike | None = None,
    cache_key: str | None = None,
    allow_empty: bool = True,
    progress: bool = True,
) -> tuple[EventDataset, EventDataset] | EventDataset:
    """Find (or download) an event dataset and return its splits as :class:`EventDataset` objects.

    Args:
        name: ``"nmnist"``, ``"nmnist-small"`` or ``"shd"``.
        root: a folder to search first (the CLI's ``--data-dir``): the dataset folder or its parent.
        split: ``None`` for ``(train, test)``, or one split.
        download: fetch a missing ``"nmnist"`` / ``"shd"`` from the published archives (verified).
        transform, target_transform, cache, cache_key, allow_empty: see :class:`EventDataset`.
        verify: check checksums listed in a manifest.
        progress: progress bars while downloading.

    Returns:
        ``(train, test)``, or one dataset when ``split`` is given.

    Raises:
        ValueError: unknown name or split; FileNotFoundError: not found (listing where it looked and how
            to get it).
    """
    key = normalize_event_name(name)
    splits = ("train", "test") if split is None else (_check_split(split),)
    folder = _locate(key, root, splits, download, progress)
    common = dict(
        transform=transform,
        target_transform=target_transform,
        cache=cache,
        cache_key=cache_key,
        allow_empty=allow_empty,
    )
    if key == "shd":
        out = [SHD(folder, s, **common) for s in splits]
    else:
        out = [NMNIST(folder, s, verify=verify, name=key, **common) for s in splits]
    return out[0] if split is not None else (out[0], out[1])
