"""The dataset object and :func:`load`, which finds, verifies and reads a named dataset."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, overload

import torch
from torch.utils.data import TensorDataset

from .fetch import download as _download
from .fetch import verify_file
from .idx import parse_idx, read_bytes
from .registry import FILES, SPECS, find_file, normalize_name, search_paths

__all__ = ["ImageDataset", "load"]

Split = Literal["train", "test"]

# The embedded digits' fixed split: 20 % test, stratified by class, this seed.
DIGITS_TEST_FRACTION = 0.2
DIGITS_SEED = 0


class ImageDataset(TensorDataset):
    """Images and integer labels held in memory, as a :class:`~torch.utils.data.TensorDataset`.

    ``dataset[i]`` is ``(image, target)`` with ``image`` of shape ``[C, H, W]``; ``dataset.tensors``
    is ``(images, targets)``, so it works anywhere a ``TensorDataset`` does.

    Args:
        images: float images in [0, 1], ``[N, C, H, W]``.
        targets: class indices, int64 ``[N]``.
        classes: class names, index = label; by default ``"0"`` .. ``str(max label)``.
        name: the dataset's name, e.g. ``"mnist"``.
        split: ``"train"`` or ``"test"`` (free text; only shown in ``repr``).

    Shape:
        - images: ``[N, C, H, W]``, float32 in [0, 1] (``[N, 1, 28, 28]`` for MNIST,
          ``[N, 1, 8, 8]`` for the digits)
        - targets: ``[N]``, int64 in ``[0, len(classes))``

    Example:
        >>> ds = ImageDataset(torch.rand(4, 1, 2, 2), torch.tensor([0, 1, 1, 0]))
        >>> image, target = ds[0]
        >>> image.shape, int(target), ds.num_classes
        (torch.Size([1, 2, 2]), 0, 2)
    """

    def __init__(
        self,
        images: torch.Tensor,
        targets: torch.Tensor,
        *,
        classes: Sequence[str] | None = None,
        name: str = "",
        split: str = "",
    ) -> None:
        if not isinstance(images, torch.Tensor) or not isinstance(targets, torch.Tensor):
            raise TypeError(
                "images and targets must be tensors, got "
                f"{type(images).__name__} and {type(targets).__name__}"
            )
        if images.dim() != 4 or not images.is_floating_point():
            raise ValueError(
                "images must be a float tensor [N, C, H, W], "
                f"got {images.dtype} of shape {tuple(images.shape)}"
            )
        if targets.dim() != 1 or targets.dtype != torch.int64:
            raise ValueError(
                f"targets must be int64 [N], got {targets.dtype} of shape {tuple(targets.shape)}"
            )
        if len(images) != len(targets):
            raise ValueError(f"images and targets must have the same N, got {len(images)} and {len(targets)}")
        if len(targets) and int(targets.min()) < 0:
            raise ValueError(f"targets must be class indices >= 0, got minimum {int(targets.min())}")
        if classes is None:
            classes = [str(i) for i in range(int(targets.max()) + 1 if len(targets) else 0)]
        elif len(targets) and int(targets.max()) >= len(classes):
            raise ValueError(
                f"targets must be < len(classes) = {len(classes)}, got maximum {int(targets.max())}"
            )
        super().__init__(images, targets)
        self.classes: tuple[str, ...] = tuple(classes)
        self.name = name
        self.split = split

    @property
    def images(self) -> torch.Tensor:
        """Float images in [0, 1], ``[N, C, H, W]``."""
        return self.tensors[0]

    @property
    def targets(self) -> torch.Tensor:
        """Class indices, int64 ``[N]``."""
        return self.tensors[1]

    @property
    def num_classes(self) -> int:
        """Number of classes, ``len(self.classes)``."""
        return len(self.classes)

    def subset(self, n: int) -> ImageDataset:
        """The first ``n`` samples (all of them when ``n >= len(self)``), as a dataset of the same kind."""
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ValueError(f"subset size must be an int >= 1, got {n!r}")
        return ImageDataset(
            self.images[:n], self.targets[:n], classes=self.classes, name=self.name, split=self.split
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, "
            f"images={list(self.images.shape)}, num_classes={self.num_classes})"
        )


def _make_split(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    source: Path,
    name: str,
    split: str,
    classes: Sequence[str] | None,
) -> ImageDataset:
    """uint8 ``[N, H, W]`` images and integer ``[N]`` labels -> :class:`ImageDataset`."""
    if images.dtype != torch.uint8 or images.dim() != 3:
        raise ValueError(
            f"{source}: {split} images must be uint8 [N, H, W] (IDX type 0x08, 3 dimensions), "
            f"got {images.dtype} of shape {tuple(images.shape)}"
        )
    if labels.dim() != 1 or labels.is_floating_point():
        raise ValueError(
            f"{source}: {split} labels must be integers [N], "
            f"got {labels.dtype} of shape {tuple(labels.shape)}"
        )
    if len(labels) != len(images):
        raise ValueError(f"{source}: {len(images)} {split} images but {len(labels)} {split} labels")
    x = images.unsqueeze(1).to(torch.float32).div_(255.0)  # [N, 1, H, W]
    return ImageDataset(x, labels.to(torch.int64), classes=classes, name=name, split=split)


def _read_folder(
    folder: Path, name: str, checksums: dict[str, str] | None, classes: Sequence[str] | None
) -> tuple[ImageDataset, ImageDataset]:
    """Read the four standard IDX files of ``folder``, verifying them when ``checksums`` is given."""
    paths = {role: find_file(folder, stem) for role, stem in FILES.items()}
    missing = [FILES[role] for role, path in paths.items() if path is None]
    if missing:
        raise FileNotFoundError(
            f"{folder}: missing IDX file(s) {', '.join(missing)} (raw or .gz); an IDX folder needs "
            f"{', '.join(FILES.values())}"
        )
    tensors = {}
    for role, path in paths.items():
        data = verify_file(path, checksums[FILES[role]]) if checksums else read_bytes(path)
        tensors[role] = parse_idx(data, source=str(path))
    if classes is None:  # an arbitrary IDX folder: classes are 0 .. the largest label seen
        top = max(
            (int(t.max()) for t in (tensors["train_labels"], tensors["test_labels"]) if t.numel()), default=-1
        )
        classes = [str(i) for i in range(top + 1)]
    train, test = (
        _make_split(
            tensors[f"{split}_images"],
            tensors[f"{split}_labels"],
            source=folder,
            name=name,
            split=split,
            classes=classes,
        )
        for split in ("train", "test")
    )
    return train, test


def _status(folder: Path) -> str | None:
    """``None`` if ``folder`` holds all four files, else why not."""
    if not folder.is_dir():
        return "no such folder"
    missing = [stem for stem in FILES.values() if find_file(folder, stem) is None]
    if len(missing) == len(FILES):
        return "no IDX files"
    return f"incomplete, missing {', '.join(missing)}" if missing else None


def _locate(name: str, root: str | os.PathLike | None, download: bool, progress: bool) -> Path:
    """The first complete folder for ``name`` on the search path, downloading it if allowed."""
    looked = []
    for folder in search_paths(name, root):
        why = _status(folder)
        if why is None:
            return folder
        looked.append(f"{folder} ({why})")
    can_download = bool(SPECS[name].mirrors)
    if download and can_download:
        return _download(name, root, progress=progress)
    files = ", ".join(f"{stem}[.gz]" for stem in FILES.values())
    if can_download:
        how = (
            f"Download it with `--download` (spikekit.data.load({name!r}, download=True) or "
            f"spikekit.data.download({name!r})), or put the files {files} in one of these folders "
            "(--data-dir DIR accepts the dataset folder or its parent; or set SPIKEKIT_DATA to the parent)."
        )
    else:
        how = (
            f"It has no public mirror, so it cannot be downloaded: put the files {files} in one of these "
            "folders (--data-dir DIR accepts the dataset folder or its parent; or set SPIKEKIT_DATA to "
            "the parent)."
        )
    places = "\n  ".join(looked)
    raise FileNotFoundError(f"dataset {name!r} not found. Looked in:\n  {places}\n{how}")


def _load_digits() -> tuple[ImageDataset, ImageDataset]:
    """scikit-learn's 8x8 digits, scaled to [0, 1], with the fixed stratified 80/20 split."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as err:
        raise ImportError(
            "dataset 'digits' needs scikit-learn: pip install 'spikekit[data]' (or scikit-learn)"
        ) from err
    bunch = load_digits()
    images = torch.from_numpy(bunch.images).to(torch.float32).div_(16.0).unsqueeze(1)  # [1797, 1, 8, 8]
    targets = torch.from_numpy(bunch.target).to(torch.int64)
    train_idx, test_idx = train_test_split(
        range(len(targets)),
        test_size=DIGITS_TEST_FRACTION,
        stratify=bunch.target,
        random_state=DIGITS_SEED,
    )
    classes = [str(i) for i in range(10)]
    train_idx, test_idx = torch.as_tensor(train_idx), torch.as_tensor(test_idx)
    return (
        ImageDataset(images[train_idx], targets[train_idx], classes=classes, name="digits", split="train"),
        ImageDataset(images[test_idx], targets[test_idx], classes=classes, name="digits", split="test"),
    )


@overload
def load(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    download: bool = False,
    split: None = None,
    verify: bool = True,
    progress: bool = True,
) -> tuple[ImageDataset, ImageDataset]: ...


@overload
def load(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    download: bool = False,
    split: Split,
    verify: bool = True,
    progress: bool = True,
) -> ImageDataset: ...


def load(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    download: bool = False,
    split: Split | None = None,
    verify: bool = True,
    progress: bool = True,
) -> tuple[ImageDataset, ImageDataset] | ImageDataset:
    """Load a dataset as in-memory :class:`ImageDataset` objects.

    Named IDX datasets (``"mnist"``, ``"fashion-mnist"``, ``"mnist-10k"``) are searched for in
    ``root`` (the dataset folder itself or its parent), then ``$SPIKEKIT_DATA/<name>``, then the
    user cache directory (``$XDG_CACHE_HOME/spikekit/<name>`` or ``~/.cache/spikekit/<name>``),
    then ``/usr/share/datasets/<name>``; the first folder holding all four standard files is used.
    Each file, raw or gzip, is checked against the published SHA-256 of its decompressed content
    before use. ``"digits"`` is scikit-learn's embedded 8x8 digits with a fixed stratified 80/20
    split (``random_state=0``; 1437 train, 360 test). ``"idx"`` reads any folder ``root`` holding the
    four standard IDX file names, without checksums.

    Args:
        name: one of ``"mnist"``, ``"fashion-mnist"``, ``"mnist-10k"``, ``"digits"``, ``"idx"``
            (case and ``_``/``-`` insensitive).
        root: a data folder to search first (the CLI's ``--data-dir``); required for ``"idx"``;
            ignored for ``"digits"``.
        download: fetch a missing named dataset from the public mirrors (see :func:`download`).
        split: ``None`` for ``(train, test)``, or ``"train"`` / ``"test"`` for that split alone.
        verify: check SHA-256 checksums (named IDX datasets only).
        progress: show a progress bar while downloading.

    Returns:
        ``(train, test)``, or one :class:`ImageDataset` when ``split`` is given.

    Shape:
        - images: ``[N, 1, H, W]``, float32 in [0, 1] (grey level / 255; digits: / 16)
        - targets: ``[N]``, int64

    Raises:
        ValueError: for an unknown name (listing the accepted ones) or split; ``ChecksumError``
            (a ``ValueError``) naming the file, expected and actual hash; corrupt or truncated files.
        FileNotFoundError: when no folder holds the dataset, listing every place searched and how
            to get it.

    Example:
        >>> train, test = load("digits")  # doctest: +SKIP
        >>> train.images.shape, train.targets.dtype  # doctest: +SKIP
        (torch.Size([1437, 1, 8, 8]), torch.int64)
    """
    key = normalize_name(name)
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be None, 'train' or 'test'; got {split!r}")
    if key == "digits":
        train, test = _load_digits()
    elif key == "idx":
        if root is None:
            raise ValueError("root is required for dataset 'idx': the folder holding the IDX files")
        folder = Path(root).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(
                f"root {folder} is not a folder; dataset 'idx' needs a folder of IDX files"
            )
        train, test = _read_folder(folder, "idx", None, None)
    else:
        spec = SPECS[key]
        folder = _locate(key, root, download, progress)
        train, test = _read_folder(folder, key, dict(spec.sha256) if verify else None, spec.classes)
    if split is None:
        return train, test
    return train if split == "train" else test
