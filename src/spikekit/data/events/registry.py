"""Known event datasets: sensors, classes, folder layouts and the published archives with their checksums.

The archives and MD5s are the ones the datasets' publishers serve and that Tonic 1.7 checks
(``tonic.datasets.NMNIST``, ``tonic.datasets.SHD``): N-MNIST from Mendeley Data (Orchard et al.),
SHD from the Zenke lab. No SHA-256 is published for them, so the download is checked against the MD5.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Archive", "EventSpec", "EVENT_SPECS", "EVENT_DATASETS", "normalize_event_name"]


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
        name: its name in :func:`spikekit.data.events.load_events`.
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
_DIGITS = tuple(str(i) for i in range(10))
# SHD's 20 classes (ten digits spoken in English and in German); the file's extra/keys names them.
_SHD_CLASSES = tuple(str(i) for i in range(20))

EVENT_SPECS: dict[str, EventSpec] = {
    "nmnist": EventSpec(
        name="nmnist",
        kind="camera",
        sensor_size=(34, 34, 2),
        classes=_DIGITS,
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
    "nmnist-small": EventSpec(name="nmnist-small", kind="camera", sensor_size=(34, 34, 2), classes=_DIGITS),
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

EVENT_DATASETS: tuple[str, ...] = tuple(EVENT_SPECS)


def normalize_event_name(name: object) -> str:
    """The canonical event dataset name (case and ``_``/``-`` insensitive) or ``ValueError``."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {', '.join(EVENT_DATASETS)}; got {type(name).__name__}")
    key = name.strip().lower().replace("_", "-")
    key = {"n-mnist": "nmnist", "n-mnist-small": "nmnist-small"}.get(key, key)
    if key not in EVENT_SPECS:
        raise ValueError(f"unknown event dataset {name!r}; accepted names: {', '.join(EVENT_DATASETS)}")
    return key
