"""Datasets: one :func:`load` for image and event datasets, an IDX reader, checksummed downloads.

:data:`DATASETS` lists every name :func:`load` accepts, with its ``kind`` and a line of ``help``:

- image datasets (``kind="image"``): ``"mnist"``, ``"fashion-mnist"``, ``"mnist-10k"`` (a fixed 8,000 /
  2,000 subset of MNIST), ``"digits"`` (scikit-learn's 8x8 digits, no download) and ``"idx"`` (any folder
  of IDX files). ``load`` returns ``(train, test)`` :class:`ImageDataset` objects holding float32 images
  in [0, 1] of shape ``[N, 1, H, W]`` and int64 targets ``[N]``.
- event datasets (``kind="event"``, through :mod:`spikekit.data.events`, which needs Tonic):
  ``"nmnist"``, ``"nmnist-small"``, ``"shd"``. ``load`` bins each recording into ``time_bins`` frames
  (or frames of ``time_window`` microseconds) and returns ``(train, test)``
  :class:`~spikekit.data.events.FrameDataset` objects: ``frames [N, T, ...]`` (batch first), ``targets
  [N]``, ``lengths [N]``. :func:`spikekit.data.events.load_events` gives the raw events instead.

Example:
    >>> import spikekit as sk
    >>> train, test = sk.data.load("mnist", root="data", download=True)  # doctest: +SKIP
    >>> train, test = sk.data.load("nmnist-small", time_bins=10)  # doctest: +SKIP
    >>> [n for n in sk.data.DATASETS if sk.data.DATASETS.info(n)["kind"] == "event"]
    ['nmnist', 'nmnist-small', 'shd']
"""

from .datasets import ImageDataset, load, load_images
from .fetch import ChecksumError, DownloadError, download, download_file
from .idx import read_idx, write_idx
from .registry import DATASETS, cache_dir, dataset_kind, search_paths

__all__ = [
    "DATASETS",
    "ChecksumError",
    "DownloadError",
    "ImageDataset",
    "cache_dir",
    "dataset_kind",
    "download",
    "download_file",
    "load",
    "load_images",
    "read_idx",
    "search_paths",
    "write_idx",
]
