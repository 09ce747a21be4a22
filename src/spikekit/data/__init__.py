"""Datasets: an IDX reader, checksummed MNIST / Fashion-MNIST loaders, downloads, embedded digits.

``load(name)`` returns ``(train, test)`` :class:`ImageDataset` objects holding float32 images in
[0, 1] of shape ``[N, 1, H, W]`` and int64 targets ``[N]``. Names: ``"mnist"``,
``"fashion-mnist"``, ``"mnist-10k"`` (a fixed 8,000 / 2,000 subset of MNIST), ``"digits"``
(scikit-learn's 8x8 digits, no download) and ``"idx"`` (any folder of IDX files).

Example:
    >>> import spikekit as sk
    >>> train, test = sk.data.load("mnist", root="data", download=True)  # doctest: +SKIP
"""

from .datasets import ImageDataset, load
from .fetch import ChecksumError, DownloadError, download
from .idx import read_idx, write_idx
from .registry import DATASETS, cache_dir, search_paths

__all__ = [
    "DATASETS",
    "ChecksumError",
    "DownloadError",
    "ImageDataset",
    "cache_dir",
    "download",
    "load",
    "read_idx",
    "search_paths",
    "write_idx",
]
