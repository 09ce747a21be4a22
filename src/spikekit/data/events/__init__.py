"""Event-camera and silicon-cochlea datasets: N-MNIST and SHD as PyTorch datasets that take Tonic transforms.

``load_events(name)`` returns ``(train, test)`` :class:`EventDataset` objects. ``dataset[i]`` is
``(sample, target)``: without a transform the sample is the recording's events, a NumPy structured array
in Tonic's layout (``x, y, t, p`` for N-MNIST, ``t, x, p`` for SHD; ``t`` in microseconds), which every
``tonic.transforms`` transform accepts; with ``transform=tonic.transforms.ToFrame(...)`` it is frames
``[T, P, H, W]``. :class:`EventCollate` batches samples time-first (``[T, B, C, H, W]`` or ``[T, B,
channels]``), padding recordings of different lengths and returning the lengths; ``cache=True`` stores
each transformed sample on disk keyed by the transform, so the second epoch reads frames and does no
event work; :func:`materialize` turns a small dataset into in-memory frame tensors for
:func:`spikekit.train.fit`; :func:`load_frames` does all of that by name, and is what
``spikekit.data.load(name, time_bins=...)`` returns for an event dataset.

Names: ``"nmnist"`` (a folder in N-MNIST's official layout ``Train/<digit>/*.bin``, ``Test/<digit>/*.bin``,
or with a ``MANIFEST.tsv``; downloadable), ``"nmnist-small"`` (the manifest folder of the first 1,000 +
100 samples), ``"shd"`` (``shd_train.h5``, ``shd_test.h5``; downloadable). Folders are searched as for
:func:`spikekit.data.load`: ``root`` (the dataset folder or its parent), ``$SPIKEKIT_DATA/<name>``, the
user cache, ``/usr/share/datasets/<name>``.

Empty recordings are allowed by default and give all-zero frames when the transform is or contains a
``ToFrame``: ``n_time_bins`` zero frames (one for ``time_window`` or ``event_count``) of the shape the
recordings with events get (:func:`~spikekit.data.events.collate.zero_frames`; Tonic's own are transposed).
With any other transform an empty recording goes through the transform as it is. ``allow_empty=False``
makes an empty recording an error naming the file.

Example:
    >>> import tonic
    >>> to_frames = tonic.transforms.ToFrame(sensor_size=(34, 34, 2), n_time_bins=10)
    >>> train, test = load_events("nmnist-small", transform=to_frames, cache=True)  # doctest: +SKIP
    >>> loader = DataLoader(train, batch_size=64, shuffle=True, collate_fn=EventCollate())  # doctest: +SKIP
    >>> frames, targets, lengths = next(iter(loader))  # [10, 64, 2, 34, 34], [64], [64]  # doctest: +SKIP
"""

from .collate import EventBatch, EventCollate, pad_time_first, zero_frames
from .datasets import NMNIST, SHD, EventDataset, load_events
from .fetch import download_events
from .frames import FrameDataset, load_frames, materialize
from .io import ShdFile, read_nmnist, write_nmnist
from .registry import EVENT_DATASETS, EVENT_SPECS, normalize_event_name

__all__ = [
    "EVENT_DATASETS",
    "EVENT_SPECS",
    "EventBatch",
    "EventCollate",
    "EventDataset",
    "FrameDataset",
    "NMNIST",
    "SHD",
    "ShdFile",
    "download_events",
    "load_events",
    "load_frames",
    "materialize",
    "normalize_event_name",
    "pad_time_first",
    "read_nmnist",
    "write_nmnist",
    "zero_frames",
]
