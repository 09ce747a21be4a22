"""Known datasets: file names, SHA-256 checksums, class names, mirrors, and where to look for them.

Checksums are of the *decompressed* IDX content, so a file verifies whether it is stored raw or
gzip-compressed (with any gzip header). They are the published ones, as listed in the project's
shared data README.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DATASETS",
    "FILES",
    "SPECS",
    "DatasetSpec",
    "cache_dir",
    "download_dir",
    "find_file",
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

# Every name load() accepts: the checksummed IDX datasets, the embedded digits, any IDX folder.
DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist", "mnist-10k", "digits", "idx")


def normalize_name(name: object) -> str:
    """Return the canonical dataset name (case and ``_``/``-`` insensitive) or raise ``ValueError``."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {', '.join(DATASETS)}; got {type(name).__name__}")
    key = name.strip().lower().replace("_", "-")
    if key == "fashionmnist":
        key = "fashion-mnist"
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; accepted names: {', '.join(DATASETS)}")
    return key


def cache_dir() -> Path:
    """The user cache directory: ``$XDG_CACHE_HOME/spikekit``, else ``~/.cache/spikekit``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "spikekit"


def _env_dirs() -> list[Path]:
    value = os.environ.get("SPIKEKIT_DATA", "")
    return [Path(part).expanduser() for part in value.split(os.pathsep) if part]


def search_paths(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for dataset ``name``, in order.

    ``root`` itself and ``root/<name>`` (the folder or its parent), then ``$SPIKEKIT_DATA/<name>``
    (``SPIKEKIT_DATA`` may list several folders, separated by ``os.pathsep``), then
    ``<cache_dir()>/<name>``, then ``/usr/share/datasets/<name>``.
    """
    paths: list[Path] = []
    if root is not None:
        root = Path(root).expanduser()
        paths += [root, root / name]
    paths += [d / name for d in _env_dirs()]
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
    if root is not None:
        root = Path(root).expanduser()
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
