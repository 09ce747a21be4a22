"""Tests of spikekit.data.events (N-MNIST and SHD through Tonic) and spikekit.plot.events.

Readers are checked against binary files built by hand in N-MNIST's format and a tiny HDF5 file in SHD's
layout; downloads only against a server on 127.0.0.1. Tests of the shared N-MNIST subset skip when it is
absent.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

tonic = pytest.importorskip(
    "tonic", reason="event data needs Tonic (the 'events' extra): pip install --no-deps tonic"
)

import spikekit.data.events as ev  # noqa: E402
from spikekit.data import registry  # noqa: E402
from spikekit.data.events.fetch import download_events  # noqa: E402
from spikekit.data.events.io import CAMERA_DTYPE, read_nmnist, write_nmnist  # noqa: E402
from spikekit.data.events.registry import EVENT_SPECS, Archive, EventSpec  # noqa: E402
from spikekit.data.fetch import ChecksumError, DownloadError  # noqa: E402

SHARED_DATA = Path(os.environ.get("SPIKEKIT_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_nmnist_small = pytest.mark.skipif(
    not (SHARED_DATA / "nmnist-small" / "MANIFEST.tsv").is_file(),
    reason=f"N-MNIST subset not found at {SHARED_DATA}/nmnist-small; set SPIKEKIT_DATA to its parent folder",
)
SENSOR = (34, 34, 2)


# ---------------------------------------- helpers
def encode(events: list[tuple[int, int, int, int]]) -> bytes:
    """N-MNIST bytes of ``(x, y, p, t)`` events, by hand from the format's description."""
    out = bytearray()
    for x, y, p, t in events:
        out += bytes([x, y, (p << 7) | ((t >> 16) & 0x7F), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def random_events(rng: np.random.Generator, n: int) -> list[tuple[int, int, int, int]]:
    t = np.sort(rng.integers(0, 300_000, n))
    return [(int(rng.integers(34)), int(rng.integers(34)), int(rng.integers(2)), int(ti)) for ti in t]


def make_official(root: Path, per_class: int = 2, classes: int = 3, seed: int = 0) -> Path:
    """``root/Train/<d>/<n>.bin`` and ``root/Test/<d>/<n>.bin``, numbered across classes."""
    rng = np.random.default_rng(seed)
    for split in ("Train", "Test"):
        number = 1
        for _ in range(per_class):
            for digit in range(classes):
                folder = root / split / str(digit)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{number:05d}.bin").write_bytes(encode(random_events(rng, 20 + number)))
                number += 1
    return root


def make_manifest(
    root: Path, rows: list[tuple[str, str, int, bytes]], sha: dict[str, str] | None = None
) -> Path:
    """Files plus a MANIFEST.tsv in the shared folder's format (file, split, mnist_index, label, ...)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ["# file\tsplit\tmnist_index\tlabel\tevents\tbytes\tmd5\tsha256"]
    for i, (name, split, label, data) in enumerate(rows):
        (root / name).write_bytes(data)
        digest = (sha or {}).get(name, hashlib.sha256(data).hexdigest())
        md5 = hashlib.md5(data).hexdigest()
        lines.append(f"{name}\t{split}\t{i}\t{label}\t{len(data) // 5}\t{len(data)}\t{md5}\t{digest}")
    (root / "MANIFEST.tsv").write_text("\n".join(lines) + "\n")
    return root


def small_manifest(root: Path) -> Path:
    rng = np.random.default_rng(1)
    rows = [
        (f"{i}.bs2", "train" if i < 4 else "test", i % 3, encode(random_events(rng, 30 + i)))
        for i in range(6)
    ]
    return make_manifest(root, rows)


class CountingToFrame:
    """A ToFrame that counts its calls, with a stable repr (so it can key the cache)."""

    def __init__(self, n_time_bins: int) -> None:
        self.inner = tonic.transforms.ToFrame(sensor_size=SENSOR, n_time_bins=n_time_bins)
        self.calls = 0

    def __call__(self, events: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.inner(events)

    def __repr__(self) -> str:
        return f"CountingToFrame({self.inner!r})"


def write_shd(path: Path, recordings: list[tuple[list[float], list[int]]], labels: list[int], **drop) -> Path:
    """A tiny HDF5 file in SHD's layout; ``drop`` names fields to leave out (e.g. units=True)."""
    h5py = pytest.importorskip("h5py", reason="SHD needs h5py")
    with h5py.File(path, "w") as f:
        if not drop.get("times"):
            times = f.create_dataset("spikes/times", (len(recordings),), dtype=h5py.vlen_dtype(np.float32))
            for i, (t, _) in enumerate(recordings):
                times[i] = np.asarray(t, dtype=np.float32)
        if not drop.get("units"):
            units = f.create_dataset("spikes/units", (len(recordings),), dtype=h5py.vlen_dtype(np.uint16))
            for i, (_, u) in enumerate(recordings):
                units[i] = np.asarray(u, dtype=np.uint16)
        if not drop.get("labels"):
            f.create_dataset("labels", data=np.asarray(labels, dtype=np.uint16))
        f.create_dataset("extra/keys", data=np.array([b"zero", b"one", b"two"]))
    return path


# ---------------------------------------- N-MNIST reader
def test_read_nmnist_decodes_hand_built_words(tmp_path):
    events = [(0, 0, 1, 0), (33, 5, 0, 123_456), (7, 33, 1, (1 << 23) - 1)]
    path = tmp_path / "a.bin"
    path.write_bytes(encode(events))
    got = read_nmnist(path)
    assert got.dtype.names == ("x", "y", "t", "p")
    assert got["x"].tolist() == [0, 33, 7]
    assert got["y"].tolist() == [0, 5, 33]
    assert got["p"].tolist() == [1, 0, 1]
    assert got["t"].tolist() == [0, 123_456, (1 << 23) - 1]


def test_read_nmnist_drops_overflow_markers(tmp_path):
    # A word with y = 240 marks a time-stamp overflow: Tonic's reader adds 2**13 to later time stamps.
    path = tmp_path / "o.bin"
    path.write_bytes(encode([(1, 1, 1, 100), (0, 240, 0, 0), (2, 2, 0, 50)]))
    got = read_nmnist(path)
    assert got["x"].tolist() == [1, 2] and got["t"].tolist() == [100, 50 + (1 << 13)]


def test_write_nmnist_matches_the_format(tmp_path):
    raw = [(3, 4, 1, 70_000), (33, 0, 0, 5)]
    events = np.zeros(2, dtype=CAMERA_DTYPE)
    for i, (x, y, p, t) in enumerate(raw):
        events[i] = (x, y, t, p)
    assert write_nmnist(tmp_path / "w.bin", events).read_bytes() == encode(raw)
    with pytest.raises(ValueError, match=r"events\['t'\] must lie in \[0, 8388607\]"):
        events["t"][0] = 1 << 23
        write_nmnist(tmp_path / "bad.bin", events)


def test_length_not_whole_number_of_events(tmp_path):
    path = tmp_path / "cut.bin"
    path.write_bytes(encode([(1, 2, 1, 3)]) + b"\x01\x02")
    with pytest.raises(ValueError) as err:
        read_nmnist(path)
    message = str(err.value)
    assert str(path) in message and "7 bytes is not a whole number of 5-byte" in message
    assert "1 events and 2 byte(s) left over" in message


def test_events_outside_the_sensor(tmp_path):
    path = tmp_path / "far.bin"
    path.write_bytes(encode([(1, 1, 1, 0), (40, 3, 1, 10), (2, 34, 0, 20)]))
    with pytest.raises(ValueError) as err:
        read_nmnist(path)
    message = str(err.value)
    assert str(path) in message and "2 of 3 event(s) lie outside the 34x34 sensor" in message
    assert "the first is event 1: x=40 y=3 p=1 t=10" in message


def test_checksum_mismatch_names_the_file(tmp_path):
    data = encode([(1, 1, 1, 5)])
    root = make_manifest(tmp_path / "m", [("1.bs2", "train", 0, data)], sha={"1.bs2": "0" * 64})
    ds = ev.NMNIST(root, "train")
    with pytest.raises(ChecksumError) as err:
        ds[0]
    message = str(err.value)
    assert f"checksum mismatch for {root / '1.bs2'}" in message and "0" * 64 in message
    assert hashlib.sha256(data).hexdigest() in message
    assert len(ev.NMNIST(root, "train", verify=False)[0][0]) == 1  # verify=False skips it


def test_manifest_size_mismatch_and_missing_file(tmp_path):
    root = small_manifest(tmp_path / "m")
    (root / "0.bs2").write_bytes((root / "0.bs2").read_bytes()[:-5])
    with pytest.raises(ValueError, match=r"0\.bs2: \d+ bytes, but MANIFEST\.tsv lists \d+"):
        ev.NMNIST(root, "train")
    (root / "1.bs2").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 train recording\(s\) missing: .*1\.bs2"):
        ev.NMNIST(root, "train", verify=False)


def test_manifest_layout_splits_and_labels(tmp_path):
    root = small_manifest(tmp_path / "m")
    train, test = ev.NMNIST(root, "train"), ev.NMNIST(root, "test")
    assert (len(train), len(test)) == (4, 2)
    assert train.targets.tolist() == [0, 1, 2, 0] and test.targets.tolist() == [1, 2]
    events, target = train[1]
    assert target == 1 and len(events) == 31 and train.source(1).endswith("1.bs2")


def test_official_layout_in_file_number_order(tmp_path):
    root = make_official(tmp_path / "nm")
    train = ev.NMNIST(root, "train")
    assert len(train) == 6 and train.targets.tolist() == [0, 1, 2, 0, 1, 2]
    assert [Path(train.source(i)).stem for i in range(6)] == [f"{n:05d}" for n in range(1, 7)]
    assert len(train[3][0]) == 24  # recording number 4 has 20 + 4 events
    assert train.subset(2).targets.tolist() == [0, 1]


def test_not_an_nmnist_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"not an N-MNIST folder: it needs Train/<digit>/\*\.bin"):
        ev.NMNIST(tmp_path, "train")
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        ev.NMNIST(tmp_path, "val")


# ---------------------------------------- transforms, collate
def test_collate_bins_raw_events_by_time_window(tmp_path):
    path = tmp_path / "e.bin"
    path.write_bytes(encode([(1, 2, 1, 100), (3, 4, 0, 1500), (5, 6, 1, 2500), (5, 6, 1, 2600)]))
    collate = ev.EventCollate(SENSOR, time_window=1000)
    batch = collate([(read_nmnist(path), 7)])
    expected = torch.zeros(3, 1, 2, 34, 34)  # [T, B, P, H, W]; index [t, 0, p, y, x]
    expected[0, 0, 1, 2, 1] = 1
    expected[1, 0, 0, 4, 3] = 1
    expected[2, 0, 1, 6, 5] = 2
    torch.testing.assert_close(batch.frames, expected)
    assert batch.targets.tolist() == [7] and batch.lengths.tolist() == [3]


def test_collate_pads_and_returns_lengths():
    rng = np.random.default_rng(0)
    samples = [rng.integers(0, 3, (n, 2, 4, 4)).astype(np.int16) for n in (3, 1, 2)]
    frames, targets, lengths = ev.EventCollate()([(s, i) for i, s in enumerate(samples)])
    assert frames.shape == (3, 3, 2, 4, 4) and frames.dtype == torch.float32
    assert lengths.tolist() == [3, 1, 2] and targets.tolist() == [0, 1, 2]
    for b, s in enumerate(samples):
        torch.testing.assert_close(frames[: len(s), b], torch.from_numpy(s).float())
        assert not frames[len(s) :, b].any()
    flat = ev.EventCollate(flatten=True)([(s, 0) for s in samples])
    assert flat.frames.shape == (3, 3, 32)


def test_collate_bad_input():
    with pytest.raises(ValueError, match="sample 0 of the batch is raw events; give EventCollate"):
        ev.EventCollate()([(np.zeros(2, dtype=CAMERA_DTYPE), 0)])
    with pytest.raises(
        ValueError, match=r"same shape after the time axis, got \(2, 2, 4, 4\), \(2, 2, 5, 5\)"
    ):
        ev.EventCollate()([(np.zeros((2, 2, 4, 4)), 0), (np.zeros((2, 2, 5, 5)), 1)])
    with pytest.raises(ValueError, match="binning raw events .* needs sensor_size"):
        ev.EventCollate(n_time_bins=4)
    with pytest.raises(ValueError, match="give n_time_bins or time_window, not both"):
        ev.EventCollate(SENSOR, n_time_bins=4, time_window=10.0)
    with pytest.raises(TypeError, match="must be frames .* got str"):
        ev.EventCollate()([("frames", 0)])


def test_dataloader_gives_time_first_batches(tmp_path):
    root = make_official(tmp_path / "nm")
    to_frame = tonic.transforms.ToFrame(sensor_size=SENSOR, n_time_bins=5)
    train = ev.NMNIST(root, "train", transform=to_frame)
    loader = torch.utils.data.DataLoader(train, batch_size=4, collate_fn=ev.EventCollate())
    frames, targets, lengths = next(iter(loader))
    assert frames.shape == (5, 4, 2, 34, 34) and lengths.tolist() == [5] * 4
    assert targets.tolist() == [0, 1, 2, 0]
    torch.testing.assert_close(frames[:, 1], torch.from_numpy(to_frame(train.events(1))).float())


# ---------------------------------------- cache
def test_cache_hit_does_no_event_work(tmp_path, monkeypatch):
    root = make_official(tmp_path / "nm")
    reads = []
    real = ev.read_nmnist
    monkeypatch.setattr(ev.datasets, "read_nmnist", lambda path, **kw: reads.append(path) or real(path, **kw))
    first_tf = CountingToFrame(4)
    first = ev.NMNIST(root, "train", transform=first_tf, cache=tmp_path / "cache")
    epoch1 = [first[i][0] for i in range(len(first))]
    assert first_tf.calls == 6 and len(reads) == 6 and len(first.cache) == 6
    second_tf = CountingToFrame(4)  # a new process would build an equal transform: same repr, same key
    second = ev.NMNIST(root, "train", transform=second_tf, cache=tmp_path / "cache")
    reads.clear()
    epoch2 = [second[i][0] for i in range(len(second))]
    assert second_tf.calls == 0 and reads == []
    for a, b in zip(epoch1, epoch2, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(epoch2[2], first_tf.inner(real(Path(first.source(2)))))


def test_cache_is_keyed_by_the_transform(tmp_path):
    root = make_official(tmp_path / "nm")
    a = ev.NMNIST(root, "train", transform=CountingToFrame(4), cache=tmp_path / "c")
    b = ev.NMNIST(root, "train", transform=CountingToFrame(5), cache=tmp_path / "c")
    assert a.cache.folder != b.cache.folder
    assert a[0][0].shape == (4, 2, 34, 34) and b[0][0].shape == (5, 2, 34, 34)
    assert "n_time_bins=4" in (a.cache.folder / "transform.txt").read_text()
    with pytest.raises(ValueError, match="its repr holds a memory address"):
        ev.NMNIST(root, "train", transform=lambda e: e, cache=tmp_path / "c")
    named = ev.NMNIST(root, "train", transform=lambda e: np.zeros(3), cache=tmp_path / "c", cache_key="zeros")
    assert named[0][0].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="cache needs a transform"):
        ev.NMNIST(root, "train", cache=tmp_path / "c")


def test_a_corrupt_cache_entry_is_a_miss(tmp_path):
    root = make_official(tmp_path / "nm")
    tf = CountingToFrame(3)
    ds = ev.NMNIST(root, "train", transform=tf, cache=tmp_path / "c")
    good = ds[0][0]
    path = ds.cache.path(ds._sample_id(0))
    path.write_bytes(path.read_bytes()[:-7])
    np.testing.assert_array_equal(ds[0][0], good)
    assert tf.calls == 2


# ---------------------------------------- empty recordings
def test_empty_recording_gives_zero_frames_or_a_clear_error(tmp_path):
    root = make_manifest(tmp_path / "m", [("0.bs2", "train", 3, b"")])
    to_frame = tonic.transforms.ToFrame(sensor_size=SENSOR, n_time_bins=4)
    frames, target = ev.NMNIST(root, "train", transform=to_frame)[0]
    assert frames.shape == (4, 2, 34, 34) and not frames.any() and target == 3
    composed = tonic.transforms.Compose([tonic.transforms.Denoise(filter_time=1000), to_frame])
    frames = ev.NMNIST(root, "train", transform=composed)[0][0]  # Compose stops early on 0 events
    assert frames.shape == (4, 2, 34, 34) and not frames.any()
    with pytest.raises(ValueError, match=r"0\.bs2: empty recording \(0 events\)"):
        ev.NMNIST(root, "train", transform=to_frame, allow_empty=False)[0]
    batch = ev.EventCollate(SENSOR, n_time_bins=3)([(ev.NMNIST(root, "train")[0][0], 3)])
    assert batch.frames.shape == (3, 1, 2, 34, 34) and not batch.frames.any()


# ---------------------------------------- SHD
def test_shd_reads_the_hdf5_layout(tmp_path):
    path = write_shd(
        tmp_path / "shd_train.h5",
        [([0.0, 0.0015, 0.25], [0, 699, 5]), ([0.1], [3]), ([], [])],
        labels=[2, 0, 1],
    )
    ds = ev.SHD(tmp_path, "train")
    assert len(ds) == 3 and ds.targets.tolist() == [2, 0, 1] and ds.classes == ("zero", "one", "two")
    events, target = ds[0]
    assert events.dtype.names == ("t", "x", "p") and target == 2
    assert events["t"].tolist() == [0, 1500, 250_000] and events["x"].tolist() == [0, 699, 5]
    to_frame = tonic.transforms.ToFrame(
        sensor_size=(700, 1, 1), time_window=100_000, include_incomplete=True, start_time=0
    )
    frames = ev.SHD(path, transform=to_frame)
    batch = ev.EventCollate(flatten=True)([frames[0], frames[1], frames[2]])
    assert batch.frames.shape[1:] == (3, 700) and batch.targets.tolist() == [2, 0, 1]
    counts = batch.frames[:, 0].sum(0)  # spikes per channel of recording 0
    assert counts[0] == 1 and counts[699] == 1 and counts[5] == 1 and counts.sum() == 3
    assert not batch.frames[:, 2].any()  # the empty recording: all-zero frames


def test_load_frames_for_shd(isolated, monkeypatch):
    folder = isolated / "data" / "shd"
    folder.mkdir(parents=True)
    write_shd(
        folder / "shd_train.h5", [([0.0, 0.3], [1, 2]), ([0.1, 0.2, 0.4], [699, 699, 5])], labels=[1, 0]
    )
    write_shd(folder / "shd_test.h5", [([0.1], [0])], labels=[2])
    monkeypatch.setenv("SPIKEKIT_DATA", str(isolated / "data"))
    train, test = ev.load_frames("shd", n_time_bins=3, cache=isolated / "frames", progress=False)
    assert train.frames.shape == (2, 3, 700) and test.frames.shape == (1, 3, 700)
    # Tonic's n_time_bins bins span [first, last time): the spike at the last time stamp is left out
    assert train.targets.tolist() == [1, 0] and train.frames[1, :, 699].tolist() == [1, 1, 0]
    assert train.frames[1].sum() == 2 and train.frames[0].sum() == 1
    again, _ = ev.load_frames("shd", n_time_bins=3, cache=isolated / "frames", progress=False)
    torch.testing.assert_close(again.frames, train.frames)


def test_shd_bad_files(tmp_path):
    missing = write_shd(tmp_path / "a.h5", [([0.1], [1])], labels=[0], units=True)
    with pytest.raises(ValueError) as err:
        ev.SHD(missing)
    assert f"{missing}: not an SHD file: missing field(s) spikes/units" in str(err.value)
    outside = write_shd(tmp_path / "b.h5", [([0.1, 0.2], [1, 700])], labels=[0])
    with pytest.raises(
        ValueError, match=r"b\.h5 recording 0: 1 of 2 spike\(s\) have a unit outside \[0, 700\)"
    ):
        ev.SHD(outside)[0]
    uneven = write_shd(tmp_path / "c.h5", [([0.1, 0.2], [1])], labels=[0])
    with pytest.raises(ValueError, match="spikes/times has 2 entries but spikes/units has 1"):
        ev.SHD(uneven)[0]
    with pytest.raises(FileNotFoundError, match="no such SHD file"):
        ev.SHD(tmp_path, "test")


# ---------------------------------------- materialize, fit
def test_materialize_gives_tensors_for_the_trainer(tmp_path):
    from spikekit.train import TrainConfig, fit

    root = make_official(tmp_path / "nm")
    to_frame = tonic.transforms.ToFrame(sensor_size=SENSOR, time_window=100_000, include_incomplete=True)
    train = ev.materialize(ev.NMNIST(root, "train", transform=to_frame), batch_size=4, progress=False)
    frames, targets = train.tensors
    assert frames.dim() == 5 and frames.shape[0] == 6 and frames.shape[2:] == (2, 34, 34)
    assert targets.tolist() == [0, 1, 2, 0, 1, 2] and train.sample_shape == (2, 34, 34)
    for i in range(6):  # each row equals the recording's own frames, zero-padded after its length
        own = torch.from_numpy(to_frame(train_events := ev.NMNIST(root, "train").events(i))).float()
        assert int(train.lengths[i]) == len(own) and len(train_events) == 21 + i
        torch.testing.assert_close(frames[i, : len(own)], own)
        assert not frames[i, len(own) :].any()
    assert train.time_first(frames[:2]).shape == (train.num_steps, 2, 2, 34, 34)
    assert train.sum_over_time().tensors[0].shape == (6, 2, 34, 34)

    class TimeFirst(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(2 * 34 * 34, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # the trainer gives [T, B, ...]
            assert x.shape[0] == train.num_steps and x.shape[2:] == (2, 34, 34)
            return self.linear(x.flatten(2)).mean(0)

    cfg = TrainConfig(epochs=1, batch_size=3, device="cpu")
    assert fit(TimeFirst(), train, train, cfg, progress=False).final["test_acc"] is not None


# ---------------------------------------- finding, downloading
@pytest.fixture
def isolated(monkeypatch, tmp_path) -> Path:
    monkeypatch.delenv("SPIKEKIT_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(registry, "SYSTEM_DATA_DIR", tmp_path / "system")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return tmp_path


def test_load_events_searches_and_explains(isolated, monkeypatch):
    small_manifest(isolated / "data" / "nmnist-small")
    monkeypatch.setenv("SPIKEKIT_DATA", str(isolated / "data"))
    train, test = ev.load_events("nmnist-small")
    assert (len(train), len(test)) == (4, 2) and train.name == "nmnist-small"
    assert len(ev.load_events("nmnist", isolated / "data" / "nmnist-small", split="test")) == 2
    with pytest.raises(FileNotFoundError) as err:
        ev.load_events("nmnist")
    message = str(err.value)
    assert "event dataset 'nmnist' not found" in message and "--download" in message
    assert "dataset 'nmnist-small'" in message and str(isolated / "data" / "nmnist") in message
    with pytest.raises(
        ValueError, match="unknown event dataset 'dvs'; accepted names: nmnist, nmnist-small, shd"
    ):
        ev.load_events("dvs")


class Server:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.base = ""


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's method name
            state.requests.append(self.path)
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def zipped(folder: Path, top: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted((folder / top).rglob("*.bin")):
            zf.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def publish(monkeypatch, server: Server, tmp_path: Path, corrupt: bool = False) -> None:
    """Serve zips of a fake N-MNIST at the server and make them 'nmnist''s published archives."""
    source = make_official(tmp_path / "source")
    archives = {}
    for split, top in (("train", "Train"), ("test", "Test")):
        body = zipped(source, top)
        archives[split] = Archive(
            f"{split}.zip", (f"{server.base}/pub/{split}.zip",), hashlib.md5(body).hexdigest(), top
        )
        server.files[f"/pub/{split}.zip"] = body[:-1] + b"!" if corrupt else body
    spec = EventSpec("nmnist", "camera", SENSOR, EVENT_SPECS["nmnist"].classes, archives)
    monkeypatch.setitem(EVENT_SPECS, "nmnist", spec)


def test_download_from_a_local_server(isolated, monkeypatch, server):
    publish(monkeypatch, server, isolated)
    root = isolated / "downloads"
    train, test = ev.load_events("nmnist", root, download=True, progress=False)
    assert (len(train), len(test)) == (6, 6) and train.targets.tolist() == [0, 1, 2, 0, 1, 2]
    folder = root / "nmnist"
    assert sorted(p.name for p in folder.iterdir()) == ["Test", "Train", "test.zip", "train.zip"]
    assert len(train[5][0]) == 26
    assert server.requests == ["/pub/train.zip", "/pub/test.zip"]
    ev.load_events("nmnist", root, download=True, progress=False)  # found: nothing fetched again
    assert len(server.requests) == 2


def test_download_checksum_mismatch_leaves_nothing(isolated, monkeypatch, server):
    publish(monkeypatch, server, isolated, corrupt=True)
    with pytest.raises(ChecksumError) as err:
        download_events("nmnist", isolated / "d", progress=False, backoff=0)
    assert "checksum mismatch" in str(err.value) and "expected MD5" in str(err.value)
    assert list((isolated / "d" / "nmnist").iterdir()) == []


def test_download_tries_the_next_mirror_and_reports_every_attempt(isolated, monkeypatch, server):
    publish(monkeypatch, server, isolated)
    mirrors = [f"{server.base}/missing", f"{server.base}/pub"]
    folder = download_events("nmnist", isolated / "d", splits=["test"], mirrors=mirrors, progress=False)
    assert (folder / "Test").is_dir() and not (folder / "Train").exists()
    assert server.requests == ["/missing/test.zip", "/pub/test.zip"]
    with pytest.raises(DownloadError, match=r"/nowhere/train\.zip: HTTP 404"):
        download_events(
            "nmnist", isolated / "e", mirrors=[f"{server.base}/nowhere"], progress=False, backoff=0
        )
    with pytest.raises(ValueError, match="'nmnist-small' cannot be downloaded"):
        download_events("nmnist-small")


# ---------------------------------------- the shared subset
@needs_nmnist_small
def test_shared_nmnist_subset():
    train, test = ev.load_events("nmnist-small", SHARED_DATA)
    assert (len(train), len(test)) == (1000, 100)
    assert torch.bincount(train.targets).tolist() == [97, 116, 99, 93, 105, 92, 94, 117, 87, 100]
    assert torch.bincount(test.targets).tolist() == [8, 14, 8, 11, 14, 7, 10, 15, 2, 11]
    events, label = train[0]
    assert len(events) == 4681 and label == 5 and events["t"].max() <= 336_040
    assert train.check() + test.check() == 4_518_827  # every file verified against its SHA-256


@needs_nmnist_small
def test_data_load_gives_frames_of_the_shared_subset(tmp_path):
    import spikekit as sk

    kw = dict(train_limit=12, test_limit=5, cache=tmp_path / "frames", progress=False)
    train, test = sk.data.load("N-MNIST-small", SHARED_DATA, time_bins=4, **kw)
    assert isinstance(train, ev.FrameDataset) and (len(train), len(test)) == (12, 5)
    assert train.frames.shape == (12, 4, 2, 34, 34) and train.sample_shape == (2, 34, 34)
    assert train.frames.dtype == torch.float32 and train.targets.dtype == torch.int64
    assert train.num_classes == 10 and train.lengths.tolist() == [4] * 12
    events = ev.load_events("nmnist-small", SHARED_DATA, split="train").subset(12)
    assert train.targets.tolist() == [events[i][1] for i in range(12)]
    # each frame counts events; N-MNIST's n_time_bins drop the events at the last time stamp
    first = events[0][0]
    dropped = int((first["t"] == first["t"].max()).sum())
    assert int(train.frames[0].sum()) == len(first) - dropped
    same, _ = ev.load_frames("nmnist-small", SHARED_DATA, n_time_bins=4, **kw)
    assert torch.equal(same.frames, train.frames)
    window = sk.data.load("nmnist-small", SHARED_DATA, split="test", time_window=50_000.0, **kw)
    assert len(window) == 5 and window.frames.shape[1] >= 6  # ~300 ms recordings in 50 ms frames
    assert int(window.frames[0].sum()) == len(ev.load_events("nmnist-small", SHARED_DATA, split="test")[0][0])
    with pytest.raises(ValueError, match="give time_bins or time_window, not both"):
        sk.data.load("nmnist-small", SHARED_DATA, time_bins=4, time_window=1e3)


def test_data_load_unknown_name_lists_every_dataset():
    import spikekit as sk

    with pytest.raises(ValueError, match="unknown dataset 'dvs-gesture'") as err:
        sk.data.load("dvs-gesture")
    assert str(err.value).endswith(
        "known: mnist, fashion-mnist, mnist-10k, digits, idx, nmnist, nmnist-small, shd, "
        "yin-yang, store-recall, randman"
    )


# ---------------------------------------- plots
def test_bin_events_against_hand_counts():
    from spikekit.plot.events import bin_events

    events = np.zeros(4, dtype=CAMERA_DTYPE)
    events["x"], events["y"], events["t"], events["p"] = (
        [0, 1, 1, 2],
        [0, 0, 0, 3],
        [0, 10, 19, 39],
        [1, 0, 0, 1],
    )
    frames, edges = bin_events(events, (4, 4, 2), time_window=20)
    assert edges.tolist() == [0, 20, 40] and frames.shape == (2, 2, 4, 4)
    assert (
        frames[0, 1, 0, 0] == 1 and frames[0, 0, 0, 1] == 2 and frames[1, 1, 3, 2] == 1 and frames.sum() == 4
    )


def test_event_plots_write_files(tmp_path):
    from PIL import Image

    from spikekit.plot.events import animate_events, cochlea_raster, event_scatter, frame_grid

    rng = np.random.default_rng(0)
    events = np.zeros(200, dtype=CAMERA_DTYPE)
    events["x"], events["y"], events["p"] = (
        rng.integers(0, 34, 200),
        rng.integers(0, 34, 200),
        rng.integers(0, 2, 200),
    )
    events["t"] = np.sort(rng.integers(0, 50_000, 200))
    animate_events(events, tmp_path / "a.gif", sensor_size=SENSOR, time_window=10_000, dpi=30)
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 5  # 0-50 ms in 10 ms frames
    event_scatter(events, tmp_path / "s.png", max_events=50)
    frame_grid(torch.rand(6, 2, 34, 34), tmp_path / "g.png")
    cochlea = np.zeros(3, dtype=[("t", np.int64), ("x", np.int64), ("p", np.int64)])
    cochlea_raster(cochlea, tmp_path / "r.png", channels=700)
    assert all((tmp_path / f).stat().st_size > 0 for f in ("s.png", "g.png", "r.png"))
    with pytest.raises(ValueError, match=r"path must end with \.gif"):
        animate_events(events, tmp_path / "a.png", sensor_size=SENSOR)
    with pytest.raises(
        TypeError, match="events must be a structured array of camera events with fields x, y, t, p"
    ):
        event_scatter(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"frames must be \[T, P, H, W\] or \[T, H, W\] with T >= 1"):
        frame_grid(np.zeros((2, 34)))


def test_plot_events_command(tmp_path):
    from spikekit.cli.plot import add_plot_events_arguments, plot_events_command

    sample = tmp_path / "7.bin"
    sample.write_bytes(encode(random_events(np.random.default_rng(0), 100)))
    parser = argparse.ArgumentParser()
    add_plot_events_arguments(parser)
    out = plot_events_command(parser.parse_args([str(sample), "--out", str(tmp_path / "o"), "--bins", "4"]))
    assert out["events"] == 100 and out["kind"] == "camera"
    assert sorted(Path(f).name for f in out["files"]) == ["7-frames.png", "7-xyt.png", "7.gif"]
    with pytest.raises(ValueError, match="--kind raster does not apply to a camera recording"):
        plot_events_command(parser.parse_args([str(sample), "--kind", "raster"]))
    with pytest.raises(ValueError, match="SAMPLE must be an existing file or DATASET:SPLIT:INDEX"):
        plot_events_command(parser.parse_args(["nothing-here"]))


# ---------------------------------------- bad input (issue 14)
def test_binning_and_loader_options_are_checked(tmp_path):
    root = small_manifest(tmp_path / "nmnist-small")
    load = ev.load_frames
    with pytest.raises(ValueError, match=r"n_time_bins must be an int >= 1 \(frames per recording\), got 0"):
        load("nmnist-small", root, n_time_bins=0, cache=False, progress=False)
    with pytest.raises(TypeError, match=r"n_time_bins must be an int >= 1.*got True"):
        load("nmnist-small", root, n_time_bins=True, cache=False, progress=False)
    with pytest.raises(ValueError, match=r"time_window must be a finite number of microseconds > 0, got -5"):
        load("nmnist-small", root, n_time_bins=None, time_window=-5, cache=False, progress=False)
    with pytest.raises(ValueError, match=r"num_workers must be an int >= 0"):
        load("nmnist-small", root, n_time_bins=2, num_workers=-1, cache=False, progress=False)
    with pytest.raises(TypeError, match=r"flatten must be None, True or False"):
        load("nmnist-small", root, n_time_bins=2, flatten="yes", cache=False, progress=False)
    from spikekit.data import load as load_any

    with pytest.raises(ValueError, match=r"time_bins must be an int >= 1 \(frames per recording\), got -4"):
        load_any("nmnist-small", root, time_bins=-4, cache=False)
    with pytest.raises(ValueError, match=r"batch_size must be an int >= 1, got 0"):
        ev.materialize(ev.NMNIST(root, "train"), batch_size=0, progress=False)


def test_manifest_rows_must_stay_inside_the_folder_and_name_a_class(tmp_path):
    root = small_manifest(tmp_path / "nm")
    manifest = root / "MANIFEST.tsv"
    text = manifest.read_text()
    manifest.write_text(text.replace("0.bs2\ttrain", "../0.bs2\ttrain"))
    with pytest.raises(ValueError, match=r"MANIFEST\.tsv line 2: file '\.\./0\.bs2' must be a relative path"):
        ev.NMNIST(root, "train")
    manifest.write_text(text.replace("0.bs2\ttrain", str(root / "0.bs2") + "\ttrain"))
    with pytest.raises(ValueError, match=r"must be a relative path inside"):
        ev.NMNIST(root, "train")
    lines = text.splitlines()
    cells = lines[1].split("\t")
    cells[3] = "12"
    manifest.write_text("\n".join([lines[0], "\t".join(cells), *lines[2:]]) + "\n")
    with pytest.raises(ValueError, match=r"line 2: label must be an int >= 0, < 10; got 12"):
        ev.NMNIST(root, "train")
    with pytest.raises(NotADirectoryError, match=r"is a file, not an N-MNIST folder"):
        ev.NMNIST(manifest, "train")


def test_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"absent\.bin: no such file \(expected an N-MNIST recording\)"
    ):
        read_nmnist(tmp_path / "absent.bin")
    with pytest.raises(IsADirectoryError, match=r"is a folder, not an N-MNIST recording"):
        read_nmnist(tmp_path)
    junk = tmp_path / "shd_train.h5"
    junk.write_bytes(b"not hdf5 at all" * 10)
    with pytest.raises(ValueError, match=r"shd_train\.h5: not an SHD file: it cannot be opened as HDF5"):
        ev.SHD(junk)
    with pytest.raises(IsADirectoryError, match=r"is a folder, not an SHD file"):
        ev.ShdFile(tmp_path)
    good = write_shd(tmp_path / "good.h5", [([0.1], [1])], labels=[0])
    with pytest.raises(ValueError, match=r"channels must be an int >= 1 .*got 0"):
        ev.SHD(good, channels=0)


def test_frame_cache_folder_must_be_a_folder_and_entries_leave_no_temporary_file(tmp_path):
    from spikekit.data.events.cache import FrameCache

    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"cache: .*file is a file, not a folder"):
        FrameCache(tmp_path / "file", None, "key")
    cache = FrameCache(tmp_path / "cache", None, "key")
    cache.put("a", np.arange(6, dtype=np.int16).reshape(2, 3))
    np.testing.assert_array_equal(cache.get("a"), np.arange(6).reshape(2, 3))
    assert sorted(p.name for p in cache.folder.iterdir()) == sorted([cache.path("a").name, "transform.txt"])
    with pytest.raises(TypeError, match=r"lengths must be an integer tensor \[N\] or None, got list"):
        ev.FrameDataset(torch.zeros(2, 3, 4), torch.zeros(2, dtype=torch.int64), [3, 3])
