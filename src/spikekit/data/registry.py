"""Known datasets: :data:`DATASETS` (every name :func:`spikekit.data.load` accepts), the IDX datasets' file
names, checksums and mirrors, the event datasets' sensors and published archives, and where to look.

IDX checksums are of the *decompressed* content, so a file verifies whether it is stored raw or
gzip-compressed (with any gzip header). They are the published ones, as listed in the project's
shared data README. The event archives and MD5s are the ones the datasets' publishers serve and that
Tonic 1.7 checks (``tonic.datasets.NMNIST``, ``tonic.datasets.SHD``): N-MNIST from Mendeley Data
(Orchard et al.), SHD from the Zenke lab. No SHA-256 is published for them, so a download is checked
against the MD5.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._registry import Registry, UnknownNameError

__all__ = [
    "DATASETS",
    "EVENT_DATASETS",
    "EVENT_SPECS",
    "FILES",
    "IMAGE_DATASETS",
    "SPECS",
    "SYNTHETIC_DATASETS",
    "Archive",
    "DatasetSpec",
    "EventSpec",
    "SyntheticSpec",
    "cache_dir",
    "check_root",
    "dataset_kind",
    "download_dir",
    "find_file",
    "normalize_event_name",
    "normalize_name",
    "search_paths",
]

# The four standard IDX files: role -> file name without compression suffix.
FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# Where Debian's dataset packages install data; a module attribute so tests can point it elsewhere.
SYSTEM_DATA_DIR = Path("/usr/share/datasets")

DIGIT_CLASSES = tuple(str(i) for i in range(10))
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True)
class DatasetSpec:
    """A named IDX dataset.

    Args:
        name: its name in :func:`spikekit.data.load`.
        sha256: standard file name (see :data:`FILES`) -> SHA-256 of its decompressed content.
        classes: class names, index = label.
        mirrors: base URLs serving ``<file name>.gz``; empty if it cannot be downloaded.
    """

    name: str
    sha256: Mapping[str, str]
    classes: tuple[str, ...]
    mirrors: tuple[str, ...] = field(default=())


SPECS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        sha256={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        classes=DIGIT_CLASSES,
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        sha256={
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        classes=FASHION_CLASSES,
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
    ),
    # 10,000 MNIST training digits re-split 8,000 / 2,000; not published anywhere, so no mirrors.
    "mnist-10k": DatasetSpec(
        name="mnist-10k",
        sha256={
            "train-images-idx3-ubyte": "57cc05c587eb89ce11216d3ce30bd3cc072b293cf58040c61baed47242f34fe6",
            "train-labels-idx1-ubyte": "1598fd38e5a6b0e8c00daf6e922c7a4eb1f601fb52898e35d354126248d2e319",
            "t10k-images-idx3-ubyte": "1311050d63fd605c7d48a729a00cfe2575e7d59c24a0433871d0199f8b7dc191",
            "t10k-labels-idx1-ubyte": "ed0a7c091b81c6d7541e7e48ff1d4fda174fd5f769977ad62fa0755b3764bb89",
        },
        classes=DIGIT_CLASSES,
    ),
}


@dataclass(frozen=True)
class Archive:
    """One published archive of an event dataset.

    Args:
        filename: the name it is saved under (and appended to a mirror's base URL).
        urls: where the publisher serves it, tried in order.
        md5: its published MD5 (hex).
        sha256: its SHA-256 (hex), when known; checked as well.
        member: what it unpacks to (a folder like ``"Train"`` or a file like ``"shd_train.h5"``),
            which is moved into the dataset folder.
    """

    filename: str
    urls: tuple[str, ...]
    md5: str
    member: str
    sha256: str | None = None


@dataclass(frozen=True)
class EventSpec:
    """A named event dataset.

    Args:
        name: its name in :func:`spikekit.data.load` and :func:`spikekit.data.events.load_events`.
        kind: ``"camera"`` (``x, y, t, p`` events) or ``"cochlea"`` (``t, x, p``).
        sensor_size: Tonic's ``(W, H, P)``: ``(34, 34, 2)`` for N-MNIST, ``(700, 1, 1)`` for SHD.
        classes: class names, index = label.
        archives: split -> archive; empty when it cannot be downloaded.
    """

    name: str
    kind: str
    sensor_size: tuple[int, int, int]
    classes: tuple[str, ...]
    archives: dict[str, Archive] = field(default_factory=dict)


_MENDELEY = "https://data.mendeley.com/public-files/datasets/468j46mzdv/files/"
_ZENKE = "https://zenkelab.org/datasets/"
# SHD's 20 classes (ten digits spoken in English and in German); the file's extra/keys names them.
_SHD_CLASSES = tuple(str(i) for i in range(20))

EVENT_SPECS: dict[str, EventSpec] = {
    "nmnist": EventSpec(
        name="nmnist",
        kind="camera",
        sensor_size=(34, 34, 2),
        classes=DIGIT_CLASSES,
        archives={
            "train": Archive(
                "train.zip",
                (_MENDELEY + "39c25547-014b-4137-a934-9d29fa53c7a0/file_downloaded",),
                md5="20959b8e626244a1b502305a9e6e2031",
                member="Train",
            ),
            "test": Archive(
                "test.zip",
                (_MENDELEY + "05a4d654-7e03-4c15-bdfa-9bb2bcbea494/file_downloaded",),
                md5="69ca8762b2fe404d9b9bad1103e97832",
                member="Test",
            ),
        },
    ),
    # The first 1,000 training and 100 test samples with a MANIFEST.tsv (the project's shared data).
    "nmnist-small": EventSpec(
        name="nmnist-small", kind="camera", sensor_size=(34, 34, 2), classes=DIGIT_CLASSES
    ),
    "shd": EventSpec(
        name="shd",
        kind="cochlea",
        sensor_size=(700, 1, 1),
        classes=_SHD_CLASSES,
        archives={
            "train": Archive(
                "shd_train.h5.zip",
                (_ZENKE + "shd_train.h5.zip",),
                md5="f3252aeb598ac776c1b526422d90eecb",
                member="shd_train.h5",
            ),
            "test": Archive(
                "shd_test.h5.zip",
                (_ZENKE + "shd_test.h5.zip",),
                md5="1503a5064faa34311c398fb0a1ed0a6f",
                member="shd_test.h5",
            ),
        },
    ),
}


@dataclass(frozen=True)
class SyntheticSpec:
    """A dataset generated by code (:mod:`spikekit.data.synthetic`): nothing to download or verify.

    Args:
        name: its name in :func:`spikekit.data.load`.
        classes: class names, index = label (Randman's depend on its ``nb_classes``: these are the default's).
        temporal: its inputs are sequences ``[N, T, C]`` (else static ``[N, F]``).
        reference: the paper it follows.
    """

    name: str
    classes: tuple[str, ...]
    temporal: bool
    reference: str


SYNTHETIC_SPECS: dict[str, SyntheticSpec] = {
    "yin-yang": SyntheticSpec(
        "yin-yang", ("yin", "yang", "dot"), False, "Kriener, Göltz & Petrovici 2022, The Yin-Yang dataset"
    ),
    "store-recall": SyntheticSpec(
        "store-recall",
        ("0", "1"),
        True,
        "Bellec et al. 2018, Long short-term memory and learning-to-learn in networks of spiking neurons",
    ),
    "randman": SyntheticSpec(
        "randman",
        tuple(str(i) for i in range(10)),
        True,
        "Zenke & Vogels 2021, The remarkable robustness of surrogate gradient learning",
    ),
}

DATASETS: Registry[Any] = Registry("dataset")
"""Every dataset :func:`spikekit.data.load` knows, image and event, by name.

An entry's object is its spec (:class:`DatasetSpec`, :class:`EventSpec` or :class:`SyntheticSpec`); its
metadata says ``kind`` (``"image"``: ``load`` returns :class:`~spikekit.data.ImageDataset` splits;
``"event"``: it returns :class:`~spikekit.data.events.FrameDataset` splits; ``"synthetic"``: generated by
code, :class:`~spikekit.data.synthetic.SyntheticDataset` splits) and ``help`` (one line).
"""
for _spec, _aliases, _help in (
    (SPECS["mnist"], (), "MNIST handwritten digits, 60,000 + 10,000, 28x28 (downloadable)"),
    (SPECS["fashion-mnist"], ("fashionmnist",), "Fashion-MNIST, 60,000 + 10,000, 28x28 (downloadable)"),
    (SPECS["mnist-10k"], (), "10,000 MNIST training digits re-split 8,000 / 2,000 (no public mirror)"),
    (DatasetSpec("digits", {}, DIGIT_CLASSES), (), "scikit-learn's 8x8 digits, 1,437 + 360, no download"),
    (DatasetSpec("idx", {}, ()), (), "any folder of the four standard IDX files (root=FOLDER), unchecked"),
):
    DATASETS.register(_spec.name, _spec, aliases=_aliases, kind="image", help=_help)
for _spec, _aliases, _help in (
    (EVENT_SPECS["nmnist"], ("n-mnist",), "N-MNIST event-camera digits, 60,000 + 10,000 (downloadable)"),
    (EVENT_SPECS["nmnist-small"], ("n-mnist-small",), "the first 1,000 + 100 N-MNIST recordings"),
    (EVENT_SPECS["shd"], (), "Spiking Heidelberg Digits, 20 spoken digits, 700 channels (downloadable)"),
):
    DATASETS.register(_spec.name, _spec, aliases=_aliases, kind="event", help=_help)
for _spec, _aliases, _help in (
    (
        SYNTHETIC_SPECS["yin-yang"],
        ("yinyang",),
        "Yin-Yang 2-D points (x, y, 1-x, 1-y), 3 classes, 5,000 + 1,000, generated (published seeds)",
    ),
    (
        SYNTHETIC_SPECS["store-recall"],
        ("storerecall",),
        "LSNN store-recall spike sequences [T, C] with recall targets, generated (seeded)",
    ),
    (
        SYNTHETIC_SPECS["randman"],
        ("random-manifold",),
        "Randman random-manifold spike timing, one spike per input unit, generated (seeded)",
    ),
):
    DATASETS.register(_spec.name, _spec, aliases=_aliases, kind="synthetic", help=_help)
del _spec, _aliases, _help

EVENT_DATASETS: tuple[str, ...] = tuple(n for n in DATASETS if DATASETS.info(n)["kind"] == "event")
IMAGE_DATASETS: tuple[str, ...] = tuple(n for n in DATASETS if DATASETS.info(n)["kind"] == "image")
SYNTHETIC_DATASETS: tuple[str, ...] = tuple(n for n in DATASETS if DATASETS.info(n)["kind"] == "synthetic")


def dataset_kind(name: str) -> str:
    """``"image"``, ``"event"`` or ``"synthetic"`` for any name or alias in :data:`DATASETS` (``ValueError``
    if unknown)."""
    return DATASETS.info(name)["kind"]


def normalize_name(name: object) -> str:
    """The canonical image dataset name (case and ``_``/``-`` insensitive).

    Raises:
        TypeError: ``name`` is not a str.
        ValueError: an unknown name (listing every known one), or an event dataset's.
    """
    key = DATASETS.canonical(name)  # type: ignore[arg-type]
    kind = DATASETS.info(key)["kind"]
    if kind == "synthetic":
        raise ValueError(
            f"{key!r} is a synthetic dataset (generated by code), not an image dataset "
            f"({', '.join(IMAGE_DATASETS)}); load it with spikekit.data.load({key!r})"
        )
    if kind != "image":
        raise ValueError(
            f"{key!r} is an event dataset, not an image dataset ({', '.join(IMAGE_DATASETS)}); "
            f"load it with spikekit.data.load({key!r}) or spikekit.data.events.load_events({key!r})"
        )
    return key


def normalize_event_name(name: object) -> str:
    """The canonical event dataset name (case and ``_``/``-`` insensitive) or ``ValueError``."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {', '.join(EVENT_DATASETS)}; got {type(name).__name__}")
    try:
        key = DATASETS.canonical(name)
    except UnknownNameError:
        raise ValueError(
            f"unknown event dataset {name!r}; accepted names: {', '.join(EVENT_DATASETS)}"
        ) from None
    kind = DATASETS.info(key)["kind"]
    if kind != "event":
        what = "an image" if kind == "image" else f"a {kind}"
        raise ValueError(
            f"{key!r} is {what} dataset, not an event dataset ({', '.join(EVENT_DATASETS)}); "
            f"load it with spikekit.data.load({key!r})"
        )
    return key


def cache_dir() -> Path:
    """The user cache directory: ``$XDG_CACHE_HOME/spikekit``, else ``~/.cache/spikekit``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "spikekit"


def _env_dirs() -> list[Path]:
    value = os.environ.get("SPIKEKIT_DATA", "")
    return [Path(part).expanduser() for part in value.split(os.pathsep) if part]


def check_root(root: str | os.PathLike | None) -> Path | None:
    """``root`` as a path; ``NotADirectoryError`` when it names an existing file (a folder is expected)."""
    if root is None:
        return None
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder path (str or Path) or None, got {type(root).__name__}")
    path = Path(root).expanduser()
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(
            f"root {path} is a file, not a folder; give the dataset folder or the folder above it"
        )
    return path


def search_paths(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for dataset ``name``, in order.

    With ``root`` (the CLI's ``--data-dir``): ``root`` itself and ``root/<name>`` (the folder or its
    parent), and nothing else: a folder the user named is never silently replaced by another. Without:
    ``$SPIKEKIT_DATA/<name>`` (``SPIKEKIT_DATA`` may list several folders, separated by ``os.pathsep``),
    then ``<cache_dir()>/<name>``, then ``/usr/share/datasets/<name>``.

    Raises:
        NotADirectoryError: ``root`` is an existing file.
    """
    root = check_root(root)
    if root is not None:
        return [root, root / name]
    paths: list[Path] = [d / name for d in _env_dirs()]
    paths += [cache_dir() / name, SYSTEM_DATA_DIR / name]
    unique: list[Path] = []
    for path in paths:
        if path not in unique:
            unique.append(path)
    return unique


def download_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    """Where :func:`spikekit.data.download` puts dataset ``name``.

    ``root`` if its last component is ``name``, else ``root/<name>``; without ``root``, the first
    folder of ``$SPIKEKIT_DATA`` plus ``/<name>``; otherwise ``<cache_dir()>/<name>``.
    """
    root = check_root(root)
    if root is not None:
        return root if root.name == name else root / name
    env = _env_dirs()
    return (env[0] if env else cache_dir()) / name


def find_file(folder: Path, stem: str) -> Path | None:
    """The file for standard name ``stem`` in ``folder``, gzip or raw, or ``None``.

    Accepts ``<stem>.gz``, ``<stem>``, and the dotted variant (``train-images.idx3-ubyte``) of each.
    """
    dotted = stem.replace("-idx", ".idx")
    for candidate in (f"{stem}.gz", stem, f"{dotted}.gz", dotted):
        path = folder / candidate
        if path.is_file():
            return path
    return None
