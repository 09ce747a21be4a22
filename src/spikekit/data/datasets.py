"""The image dataset object, :func:`load_images`, and :func:`load`, which finds, verifies and reads any
named dataset (image datasets here, event datasets through :func:`spikekit.data.events.load_frames`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, overload

import torch
from torch.utils.data import TensorDataset

from .._checks import check_finite
from .fetch import download as _download
from .fetch import verify_file
from .idx import parse_idx, read_bytes
from .registry import DATASETS, FILES, SPECS, find_file, normalize_name, search_paths

__all__ = ["ImageDataset", "load", "load_images"]

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
        check_finite(images, "images")
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
def load_images(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    download: bool = False,
    split: None = None,
    verify: bool = True,
    progress: bool = True,
) -> tuple[ImageDataset, ImageDataset]: ...


@overload
def load_images(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    download: bool = False,
    split: Split,
    verify: bool = True,
    progress: bool = True,
) -> ImageDataset: ...


def load_images(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    download: bool = False,
    split: Split | None = None,
    verify: bool = True,
    progress: bool = True,
) -> tuple[ImageDataset, ImageDataset] | ImageDataset:
    """Load an image dataset as in-memory :class:`ImageDataset` objects (what :func:`load` does for one).

    Named IDX datasets (``"mnist"``, ``"fashion-mnist"``, ``"mnist-10k"``) are searched for in
    ``root`` (the dataset folder itself or its parent) alone when it is given; otherwise in
    ``$SPIKEKIT_DATA/<name>``, then the user cache directory (``$XDG_CACHE_HOME/spikekit/<name>`` or
    ``~/.cache/spikekit/<name>``), then ``/usr/share/datasets/<name>``; the first folder holding all four
    standard files is used.
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
        ValueError: for an unknown name (listing every known one), an event dataset's name, or a bad
            split; ``ChecksumError`` (a ``ValueError``) naming the file, expected and actual hash; corrupt
            or truncated files.
        FileNotFoundError: when no folder holds the dataset, listing every place searched and how
            to get it.

    Example:
        >>> train, test = load_images("digits")  # doctest: +SKIP
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


def load(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    split: Split | None = None,
    download: bool = False,
    verify: bool = True,
    progress: bool = True,
    train_limit: int | None = None,
    test_limit: int | None = None,
    time_bins: int | None = None,
    time_window: float | None = None,
    cache: bool | str | os.PathLike | None = None,
    flatten: bool | None = None,
    num_workers: int = 0,
    **options: Any,
) -> Any:
    """Load any dataset of :data:`~spikekit.data.DATASETS`, image, event or synthetic, as in-memory tensors.

    **Image datasets** (``"mnist"``, ``"fashion-mnist"``, ``"mnist-10k"``, ``"digits"``, ``"idx"``):
    :class:`ImageDataset` splits, ``images [N, 1, H, W]`` float32 in [0, 1] and ``targets [N]`` int64;
    see :func:`load_images` for where they are looked for and how they are verified.

    **Event datasets** (``"nmnist"``, ``"nmnist-small"``, ``"shd"``): the recordings binned into frames
    with ``tonic.transforms.ToFrame`` (needs Tonic, the ``events`` extra), as
    :class:`~spikekit.data.events.FrameDataset` splits: ``frames [N, T, P, H, W]`` for a camera
    (N-MNIST: ``[N, T, 2, 34, 34]``) or ``[N, T, channels]`` for a cochlea (SHD: ``[N, T, 700]``), float32
    event counts, **batch first** (``FrameDataset.time_first(batch)`` gives the ``[T, B, ...]`` spikekit's
    models take); ``targets [N]`` int64; ``lengths [N]``, each recording's frames before zero padding;
    ``sample_shape`` (one frame's shape: a model's ``input_shape``), ``num_classes``, ``classes``,
    ``sensor_size``. This is :func:`spikekit.data.events.load_frames`, what ``spikekit train`` uses; for
    the raw events and your own Tonic transforms use :func:`spikekit.data.events.load_events`.

    **Synthetic datasets** (``"yin-yang"``, ``"store-recall"``, ``"randman"``): generated by code from a
    seed, nothing to download (:mod:`spikekit.data.synthetic`), as
    :class:`~spikekit.data.synthetic.SyntheticDataset` splits: Yin-Yang ``inputs [N, 4]`` static (the
    published 5,000 / 1,000 train / test sets); store-recall and Randman ``inputs [N, T, C]`` spike
    sequences, batch first with ``time_axis = 1`` like the event datasets; ``targets [N]`` int64. The
    generator's options (``seed=``, ``nb_units=``, ...) are passed as keywords (``options``); ``root``,
    ``download`` and ``verify`` do not apply and are ignored.

    Args:
        name: a :data:`~spikekit.data.DATASETS` name or alias (case and ``_``/``-`` insensitive).
        root: a data folder to search first (the CLI's ``--data-dir``): the dataset folder or its parent;
            required for ``"idx"``; ignored for ``"digits"``.
        split: ``None`` for ``(train, test)``, or ``"train"`` / ``"test"`` for that split alone.
        download: fetch a missing dataset that has public mirrors / published archives, verified.
        verify: check checksums (the IDX files' SHA-256; those an event dataset's manifest lists).
        progress: progress bars (downloads, binning events).
        train_limit, test_limit: keep only the first N samples of a split (event datasets: before binning).
        time_bins: event datasets: frames per recording (default 10), spanning its first to last event.
        time_window: event datasets: frame length in microseconds instead of ``time_bins`` (from
            ``t = 0``; every event kept, so recordings of different lengths get different ``T``, padded).
        cache: event datasets: where binned frames are cached on disk; ``None`` or ``True``: the user cache
            (``cache_dir() / "frames"``), a folder, or ``False`` for no cache.
        flatten: event datasets: frames ``[N, T, F]``; by default for a cochlea, not for a camera.
        num_workers: event datasets: DataLoader workers while binning.
        options: synthetic datasets only: the generator's arguments (see
            :func:`spikekit.data.synthetic.load_synthetic`).

    Returns:
        ``(train, test)``, or one dataset when ``split`` is given: :class:`ImageDataset` for an image
        dataset, :class:`~spikekit.data.events.FrameDataset` for an event dataset,
        :class:`~spikekit.data.synthetic.SyntheticDataset` for a synthetic one.

    Raises:
        ValueError: an unknown name (the message lists every known one), a bad split, an event option
            for an image dataset, both ``time_bins`` and ``time_window``; checksum mismatches.
        FileNotFoundError: the dataset is in none of the searched folders (listing them, and how to get it).
        ImportError: an event dataset without Tonic; ``"digits"`` without scikit-learn.

    Example:
        >>> train, test = load("digits")  # doctest: +SKIP
        >>> train, test = load("nmnist-small", time_bins=10, train_limit=200)  # doctest: +SKIP
        >>> train.frames.shape, train.sample_shape  # doctest: +SKIP
        (torch.Size([200, 10, 2, 34, 34]), (2, 34, 34))
    """
    key = DATASETS.canonical(name)
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be None, 'train' or 'test'; got {split!r}")
    for what, n in (("train_limit", train_limit), ("test_limit", test_limit)):
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n <= 0):
            raise ValueError(f"{what} must be None or an int >= 1, got {n!r}")
    kind = DATASETS.info(key)["kind"]
    if options and kind != "synthetic":
        raise TypeError(
            f"load() got unexpected keyword argument(s) {', '.join(sorted(options))}: generator options "
            f"are for synthetic datasets only; {key!r} is an {kind} dataset"
        )
    if kind == "synthetic":
        from .synthetic import load_synthetic

        event_only = {"time_bins": time_bins, "time_window": time_window, "cache": cache, "flatten": flatten}
        given = [k for k, v in event_only.items() if v is not None] + (["num_workers"] if num_workers else [])
        if given:
            raise ValueError(
                f"{', '.join(given)}: for event datasets only; {key!r} is a synthetic dataset (generated)"
            )
        return load_synthetic(key, split=split, train_limit=train_limit, test_limit=test_limit, **options)
    if kind == "event":
        from .events.frames import check_binning, load_frames  # Tonic and event code: event data only

        if time_bins is not None and time_window is not None:
            raise ValueError(
                f"give time_bins or time_window, not both; got {time_bins!r} and {time_window!r}"
            )
        check_binning(time_bins, time_window, bins_name="time_bins")
        return load_frames(
            key,
            root,
            n_time_bins=None if time_window is not None else (10 if time_bins is None else time_bins),
            time_window=time_window,
            split=split,
            download=download,
            verify=verify,
            cache=True if cache is None else cache,
            train_limit=train_limit,
            test_limit=test_limit,
            flatten=flatten,
            progress=progress,
            num_workers=num_workers,
        )
    event_only = {
        "time_bins": time_bins,
        "time_window": time_window,
        "cache": cache,
        "flatten": flatten,
        "num_workers": num_workers or None,
    }
    given = [k for k, v in event_only.items() if v is not None]
    if given:
        raise ValueError(f"{', '.join(given)}: for event datasets only; {key!r} is an image dataset")
    out = load_images(key, root, download=download, split=split, verify=verify, progress=progress)
    limits = {"train": train_limit, "test": test_limit}
    if split is not None:
        return out.subset(limits[split]) if limits[split] is not None else out
    return tuple(
        ds.subset(limits[s]) if limits[s] is not None else ds
        for s, ds in zip(("train", "test"), out, strict=True)
    )
