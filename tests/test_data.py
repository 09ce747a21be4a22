"""Tests of spikekit.data: IDX reader, loaders, search path, checksums, downloads (127.0.0.1 only)."""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

import spikekit.data as skd
from spikekit.data import registry
from spikekit.data.registry import DIGIT_CLASSES, FILES, DatasetSpec

# The shared, read-only datasets: $SPIKEKIT_DATA, else ../shared/data from the repository root.
SHARED_DATA = Path(os.environ.get("SPIKEKIT_DATA") or Path(__file__).parents[2] / "shared" / "data")
needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "mnist-10k").is_dir(),
    reason=f"shared datasets not found at {SHARED_DATA}; set SPIKEKIT_DATA to the folder holding mnist-10k/",
)

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
# Per-class counts of the first 10,000 MNIST training digits, which mnist-10k re-splits.
MNIST_FIRST_10K_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]


# --------------------------------------------------------------------------------------------- helpers
def idx_bytes(t: torch.Tensor) -> bytes:
    """IDX encoding of a uint8 tensor, written by hand (independent of write_idx)."""
    assert t.dtype == torch.uint8
    return bytes([0, 0, 0x08, t.dim()]) + struct.pack(f">{t.dim()}I", *t.shape) + t.numpy().tobytes()


def fake_tensors(n_train: int = 6, n_test: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    """A tiny dataset: 5x3 uint8 images, labels 0..2, keyed by standard file name."""
    g = torch.Generator().manual_seed(seed)
    return {
        FILES["train_images"]: torch.randint(0, 256, (n_train, 5, 3), generator=g, dtype=torch.uint8),
        FILES["train_labels"]: (torch.arange(n_train) % 3).to(torch.uint8),
        FILES["test_images"]: torch.randint(0, 256, (n_test, 5, 3), generator=g, dtype=torch.uint8),
        FILES["test_labels"]: (torch.arange(n_test) % 3).to(torch.uint8),
    }


def write_folder(folder: Path, tensors: dict[str, torch.Tensor], gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, t in tensors.items():
        data = idx_bytes(t)
        (folder / (stem + ".gz" if gz else stem)).write_bytes(gzip.compress(data) if gz else data)
    return folder


def checksums(tensors: dict[str, torch.Tensor]) -> dict[str, str]:
    return {stem: hashlib.sha256(idx_bytes(t)).hexdigest() for stem, t in tensors.items()}


def patch_mnist(monkeypatch, tensors, mirrors=()) -> None:
    """Make 'mnist' the tiny fake dataset: its checksums and mirrors."""
    spec = DatasetSpec("mnist", checksums(tensors), DIGIT_CLASSES, tuple(mirrors))
    monkeypatch.setitem(registry.SPECS, "mnist", spec)


def assert_matches(ds: skd.ImageDataset, images: torch.Tensor, labels: torch.Tensor) -> None:
    assert ds.images.shape == (len(images), 1, *images.shape[1:])
    assert ds.images.dtype == torch.float32 and ds.targets.dtype == torch.int64
    torch.testing.assert_close(ds.images, images.unsqueeze(1).float() / 255)
    assert torch.equal(ds.targets, labels.long())


@pytest.fixture
def isolated(monkeypatch, tmp_path) -> Path:
    """No $SPIKEKIT_DATA, a private cache and system folder, and no proxy for 127.0.0.1."""
    monkeypatch.delenv("SPIKEKIT_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(registry, "SYSTEM_DATA_DIR", tmp_path / "system")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return tmp_path


class ServerState:
    """What the local server serves, and what it was asked."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}  # URL path -> body
        self.fail: dict[str, list[int]] = {}  # URL path -> status codes to answer first, in order
        self.truncate: set[str] = set()  # URL paths whose body is cut short
        self.requests: list[str] = []
        self.base = ""


@pytest.fixture
def server() -> Iterator[ServerState]:
    state = ServerState()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's method name
            state.requests.append(self.path)
            pending = state.fail.get(self.path)
            if pending:
                self.send_error(pending.pop(0))
                return
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if self.path in state.truncate else body)

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


def serve(state: ServerState, tensors: dict[str, torch.Tensor], prefix: str = "/a/") -> str:
    for stem, t in tensors.items():
        state.files[f"{prefix}{stem}.gz"] = gzip.compress(idx_bytes(t))
    return state.base + prefix


# ---------------------------------------------------------------------------------------- (a) IDX reader
def test_read_idx_raw_and_gzip(tmp_path):
    t = torch.arange(24, dtype=torch.uint8).reshape(2, 3, 4)
    (tmp_path / "raw-idx3-ubyte").write_bytes(idx_bytes(t))
    (tmp_path / "x-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(t)))
    (tmp_path / "gzip-without-suffix").write_bytes(gzip.compress(idx_bytes(t)))  # found by magic bytes
    for name in ("raw-idx3-ubyte", "x-idx3-ubyte.gz", "gzip-without-suffix"):
        got = skd.read_idx(tmp_path / name)
        assert got.dtype == torch.uint8 and torch.equal(got, t)
    labels = torch.tensor([3, 1, 4, 1, 5], dtype=torch.uint8)
    (tmp_path / "labels").write_bytes(idx_bytes(labels))
    assert torch.equal(skd.read_idx(str(tmp_path / "labels")), labels)


@pytest.mark.parametrize(
    "dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.float32, torch.float64]
)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_read_round_trip(tmp_path, dtype, suffix):
    t = (torch.randn(3, 4, 2, generator=torch.Generator().manual_seed(1)) * 100).to(dtype)
    path = skd.write_idx(tmp_path / f"t{suffix}", t)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    got = skd.read_idx(path)
    assert got.dtype == dtype and torch.equal(got, t)


def test_write_idx_matches_handmade_bytes(tmp_path):
    t = torch.randint(0, 256, (4, 5, 6), dtype=torch.uint8)
    assert skd.write_idx(tmp_path / "t", t).read_bytes() == idx_bytes(t)
    with pytest.raises(ValueError, match="tensor must have one of the dtypes"):
        skd.write_idx(tmp_path / "bad", torch.zeros(3, dtype=torch.int64))


GOOD = idx_bytes(torch.zeros(2, 3, 4, dtype=torch.uint8))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "shorter than the 4-byte magic"),
        (b"\x00\x00", "shorter than the 4-byte magic"),
        (b"\x01\x02\x08\x03" + GOOD[4:], "bad IDX magic number 0x01020803"),
        (b"\x00\x00\x07\x03" + GOOD[4:], "unknown IDX type code 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (GOOD[:10], "truncated IDX header"),
        (GOOD[:-1], "truncated IDX file: header declares 2x3x4 uint8"),
        (GOOD + b"\x00\x00", "2 trailing byte"),
    ],
)
def test_read_idx_rejects_corrupt_files(tmp_path, data, message):
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as info:
        skd.read_idx(path)
    assert str(path) in str(info.value)
    path.write_bytes(gzip.compress(data))  # the same errors through gzip
    with pytest.raises(ValueError, match=message):
        skd.read_idx(path)


def test_read_idx_rejects_truncated_gzip(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(GOOD)[:-12])
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as info:
        skd.read_idx(path)
    assert "cut.gz" in str(info.value)
    with pytest.raises(FileNotFoundError):
        skd.read_idx(tmp_path / "absent")


# ------------------------------------------------------------------------------------- (b) "idx" folders
@pytest.mark.parametrize("gz", [True, False])
def test_load_idx_folder(tmp_path, gz):
    tensors = fake_tensors()
    write_folder(tmp_path / "mine", tensors, gz=gz)
    train, test = skd.load("idx", tmp_path / "mine")
    assert_matches(train, tensors[FILES["train_images"]], tensors[FILES["train_labels"]])
    assert_matches(test, tensors[FILES["test_images"]], tensors[FILES["test_labels"]])
    assert train.classes == ("0", "1", "2") and train.num_classes == 3
    assert float(train.images.min()) >= 0 and float(train.images.max()) <= 1
    image, target = train[1]
    assert image.shape == (1, 5, 3) and int(target) == 1
    assert isinstance(train, torch.utils.data.TensorDataset) and len(train) == 6
    only_test = skd.load("idx", tmp_path / "mine", split="test")
    assert torch.equal(only_test.images, test.images)
    assert "split='test'" in repr(only_test)


def test_load_idx_accepts_dotted_names_and_mixed_compression(tmp_path):
    tensors = fake_tensors()
    folder = tmp_path / "dotted"
    folder.mkdir()
    for i, (stem, t) in enumerate(tensors.items()):
        name = stem.replace("-idx", ".idx")
        data = idx_bytes(t)
        (folder / (name + ".gz" if i % 2 else name)).write_bytes(gzip.compress(data) if i % 2 else data)
    train, _ = skd.load("idx", folder)
    assert_matches(train, tensors[FILES["train_images"]], tensors[FILES["train_labels"]])


def test_load_idx_errors(tmp_path):
    with pytest.raises(ValueError, match="root is required for dataset 'idx'"):
        skd.load("idx")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        skd.load("idx", tmp_path / "nowhere")
    tensors = fake_tensors()
    write_folder(tmp_path / "partial", tensors)
    (tmp_path / "partial" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="missing IDX file.*t10k-labels-idx1-ubyte"):
        skd.load("idx", tmp_path / "partial")
    tensors[FILES["test_labels"]] = tensors[FILES["test_labels"]][:-1]
    write_folder(tmp_path / "mismatch", tensors)
    with pytest.raises(ValueError, match="4 test images but 3 test labels"):
        skd.load("idx", tmp_path / "mismatch")


def test_image_dataset_validates():
    x, y = torch.rand(3, 1, 2, 2), torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="images must be a float tensor"):
        skd.ImageDataset(x[:, 0], y)
    with pytest.raises(ValueError, match="targets must be int64"):
        skd.ImageDataset(x, y.int())
    with pytest.raises(ValueError, match="same N"):
        skd.ImageDataset(x, y[:2])
    with pytest.raises(ValueError, match="targets must be < len"):
        skd.ImageDataset(x, y, classes=["a", "b"])
    with pytest.raises(TypeError, match="must be tensors"):
        skd.ImageDataset(x.numpy(), y)


# ------------------------------------------------------------------- search order and checksums (no data)
def test_search_order(isolated, monkeypatch):
    env, root = isolated / "env", isolated / "explicit"
    cache, system = isolated / "cache" / "spikekit", isolated / "system"
    versions = {folder: fake_tensors(seed=i) for i, folder in enumerate((root, env, cache, system))}
    for i, (folder, tensors) in enumerate(versions.items()):
        # identical labels, so one checksum table can't tell them apart: verify=False; images differ
        write_folder(folder / "mnist", tensors, gz=bool(i % 2))
    monkeypatch.setenv("SPIKEKIT_DATA", str(env))

    def first_image(**kwargs):
        return skd.load("mnist", verify=False, split="train", **kwargs).images

    def expected(folder):
        return versions[folder][FILES["train_images"]].unsqueeze(1).float() / 255

    assert torch.equal(first_image(root=root), expected(root))  # the parent of mnist/
    assert torch.equal(first_image(root=root / "mnist"), expected(root))  # the dataset folder itself
    assert torch.equal(first_image(), expected(env))
    monkeypatch.delenv("SPIKEKIT_DATA")
    assert torch.equal(first_image(), expected(cache))
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / "empty-cache"))
    assert torch.equal(first_image(), expected(system))
    # a folder given explicitly is the only place searched: never silently another dataset copy
    assert skd.search_paths("mnist", root) == [root, root / "mnist"]
    assert skd.search_paths("mnist") == [isolated / "empty-cache" / "spikekit" / "mnist", system / "mnist"]
    with pytest.raises(FileNotFoundError):
        skd.load("mnist", isolated / "nowhere", verify=False)


def test_checksums_verified_before_use(isolated, monkeypatch):
    tensors = fake_tensors()
    patch_mnist(monkeypatch, tensors)
    folder = write_folder(isolated / "data" / "mnist", tensors)
    train, test = skd.load("mnist", isolated / "data")
    assert_matches(train, tensors[FILES["train_images"]], tensors[FILES["train_labels"]])
    assert train.classes == DIGIT_CLASSES
    # the same content stored raw verifies too: checksums are of the decompressed bytes
    raw = write_folder(isolated / "raw" / "mnist", tensors, gz=False)
    skd.load("mnist", raw)
    # tamper with one label
    labels = tensors[FILES["test_labels"]].clone()
    labels[0] = 2
    path = folder / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(labels)))
    want = checksums(tensors)[FILES["test_labels"]]
    got = hashlib.sha256(idx_bytes(labels)).hexdigest()
    with pytest.raises(skd.ChecksumError, match=f"checksum mismatch for {path}") as info:
        skd.load("mnist", isolated / "data")
    assert want in str(info.value) and got in str(info.value)
    assert isinstance(info.value, ValueError)
    skd.load("mnist", isolated / "data", verify=False)  # explicitly skipping the check works


def test_not_found_lists_every_place(isolated, monkeypatch):
    monkeypatch.setenv("SPIKEKIT_DATA", str(isolated / "env"))
    (isolated / "explicit").mkdir()
    with pytest.raises(FileNotFoundError) as info:
        skd.load("fashion-mnist", isolated / "explicit")
    message = str(info.value)
    for place in skd.search_paths("fashion-mnist", isolated / "explicit"):
        assert str(place) in message
    assert len(skd.search_paths("fashion-mnist", isolated / "explicit")) == 2  # only where it was told
    assert len(skd.search_paths("fashion-mnist")) == 3  # $SPIKEKIT_DATA, the cache, the system folder
    assert "--download" in message and "SPIKEKIT_DATA" in message and "no such folder" in message
    # an incomplete folder says what it lacks
    write_folder(isolated / "env" / "fashion-mnist", fake_tensors())
    (isolated / "env" / "fashion-mnist" / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="incomplete, missing train-images-idx3-ubyte"):
        skd.load("fashion-mnist")
    # mnist-10k has no mirror: not found even with download=True, and says why
    with pytest.raises(FileNotFoundError, match="no public mirror"):
        skd.load("mnist-10k", download=True)


def test_bad_names_and_arguments():
    with pytest.raises(ValueError, match="unknown dataset 'cifar10'; known: mnist, fashion-mnist") as info:
        skd.load("cifar10")
    for name in ("mnist", "fashion-mnist", "mnist-10k", "digits", "idx", "nmnist", "nmnist-small", "shd"):
        assert name in skd.DATASETS and name in str(info.value)
    with pytest.raises(ValueError, match="time_bins, cache: for event datasets only; 'digits' is an image"):
        skd.load("digits", time_bins=4, cache=False)
    with pytest.raises(ValueError, match="train_limit must be None or an int >= 1"):
        skd.load("digits", train_limit=0)
    with pytest.raises(ValueError, match="'nmnist' is an event dataset"):
        skd.load_images("nmnist")
    with pytest.raises(ValueError, match="is an event dataset: download it with spikekit.data.load"):
        skd.download("N-MNIST")
    with pytest.raises(TypeError, match="name must be a str"):
        skd.load(3)
    with pytest.raises(ValueError, match="split must be None, 'train' or 'test'"):
        skd.load("digits", split="validation")
    for name in ("digits", "idx", "mnist-10k", "nope"):
        with pytest.raises(ValueError, match="cannot be downloaded|unknown dataset"):
            skd.download(name)
    with pytest.raises(ValueError, match="retries must be an int >= 1"):
        skd.download("mnist", retries=0)
    with pytest.raises(ValueError, match="mirrors must be a non-empty sequence"):
        skd.download("mnist", mirrors="http://127.0.0.1/")


# -------------------------------------------------------------------------- (c) downloads, 127.0.0.1 only
def test_download_success(isolated, monkeypatch, server):
    tensors = fake_tensors()
    patch_mnist(monkeypatch, tensors, mirrors=[serve(server, tensors)])
    folder = skd.download("mnist", isolated / "dl", progress=False)
    assert folder == isolated / "dl" / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{stem}.gz" for stem in FILES.values())
    train, test = skd.load("mnist", isolated / "dl")
    assert_matches(test, tensors[FILES["test_images"]], tensors[FILES["test_labels"]])
    n = len(server.requests)
    skd.download("mnist", isolated / "dl" / "mnist", progress=False)  # already there and verified
    assert len(server.requests) == n == 4


def test_load_download_goes_to_cache_with_progress_bar(isolated, monkeypatch, server):
    tensors = fake_tensors()
    patch_mnist(monkeypatch, tensors, mirrors=[serve(server, tensors)])
    train, _ = skd.load("mnist", download=True, progress=True)
    assert_matches(train, tensors[FILES["train_images"]], tensors[FILES["train_labels"]])
    assert (isolated / "cache" / "spikekit" / "mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_download_retries_after_server_error(isolated, monkeypatch, server):
    tensors = fake_tensors()
    base = serve(server, tensors)
    patch_mnist(monkeypatch, tensors, mirrors=[base])
    server.fail["/a/train-images-idx3-ubyte.gz"] = [500]
    skd.download("mnist", isolated, progress=False, backoff=0)
    assert server.requests.count("/a/train-images-idx3-ubyte.gz") == 2
    assert skd.load("mnist", isolated, split="train").images.shape == (6, 1, 5, 3)


def test_download_moves_to_next_mirror_on_404(isolated, monkeypatch, server):
    tensors = fake_tensors()
    patch_mnist(monkeypatch, tensors)
    good = serve(server, tensors)
    skd.download("mnist", isolated, mirrors=[server.base + "/gone/", good], progress=False, backoff=0)
    assert server.requests.count("/gone/train-images-idx3-ubyte.gz") == 1  # a 404 is not retried
    skd.load("mnist", isolated)


def test_download_checksum_mismatch_leaves_nothing(isolated, monkeypatch, server):
    tensors = fake_tensors()
    patch_mnist(monkeypatch, fake_tensors(seed=5), mirrors=[serve(server, tensors)])  # other checksums
    folder = isolated / "dl" / "mnist"
    with pytest.raises(skd.ChecksumError, match="checksum mismatch") as info:
        skd.download("mnist", folder, progress=False, backoff=0)
    expected = checksums(fake_tensors(seed=5))[FILES["train_images"]]
    assert expected in str(info.value) and "train-images-idx3-ubyte.gz" in str(info.value)
    assert list(folder.iterdir()) == []  # no final file, no temporary file


def test_interrupted_download_leaves_nothing(isolated, monkeypatch, server):
    tensors = fake_tensors()
    patch_mnist(monkeypatch, tensors, mirrors=[serve(server, tensors)])
    server.truncate.add("/a/train-images-idx3-ubyte.gz")
    with pytest.raises(skd.DownloadError, match="train-images-idx3-ubyte.gz") as info:
        skd.download("mnist", isolated / "dl", retries=2, progress=False, backoff=0)
    assert "still to come" in str(info.value)
    assert server.requests.count("/a/train-images-idx3-ubyte.gz") == 2
    assert list((isolated / "dl" / "mnist").iterdir()) == []


def test_download_unreachable_mirror(isolated, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    patch_mnist(monkeypatch, fake_tensors(), mirrors=[f"http://127.0.0.1:{port}/"])
    with pytest.raises(skd.DownloadError, match=f"127.0.0.1:{port}"):
        skd.download("mnist", isolated, retries=2, progress=False, backoff=0)
    assert list((isolated / "mnist").iterdir()) == []


def test_download_replaces_corrupt_file(isolated, monkeypatch, server):
    tensors = fake_tensors()
    patch_mnist(monkeypatch, tensors, mirrors=[serve(server, tensors)])
    folder = write_folder(isolated / "mnist", tensors)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    skd.download("mnist", isolated, progress=False)
    assert server.requests == ["/a/train-labels-idx1-ubyte.gz"]
    skd.load("mnist", isolated)


# ------------------------------------------------------------------------------ (d) the shared datasets
@needs_shared
def test_mnist_10k():
    train, test = skd.load("mnist-10k", SHARED_DATA)
    assert train.images.shape == (8000, 1, 28, 28) and test.images.shape == (2000, 1, 28, 28)
    assert train.images.dtype == torch.float32 and float(train.images.max()) == 1.0
    counts = torch.bincount(train.targets, minlength=10) + torch.bincount(test.targets, minlength=10)
    assert counts.tolist() == MNIST_FIRST_10K_COUNTS
    assert torch.bincount(test.targets).tolist() == [217, 245, 186, 204, 191, 184, 203, 188, 189, 193]


@needs_shared
def test_shared_data_found_through_environment(isolated, monkeypatch):
    monkeypatch.setenv("SPIKEKIT_DATA", str(SHARED_DATA))
    assert len(skd.load("mnist-10k", split="test")) == 2000
    assert len(skd.load("mnist-10k", SHARED_DATA / "mnist-10k", split="test")) == 2000


@needs_shared
@pytest.mark.data
def test_mnist_full():
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"full MNIST not found at {SHARED_DATA / 'mnist'}")
    train, test = skd.load("mnist", SHARED_DATA)
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert torch.bincount(train.targets).tolist() == MNIST_TRAIN_COUNTS
    assert torch.bincount(test.targets).tolist() == MNIST_TEST_COUNTS


@needs_shared
@pytest.mark.data
def test_fashion_mnist_full():
    if not (SHARED_DATA / "fashion-mnist").is_dir():
        pytest.skip(f"Fashion-MNIST not found at {SHARED_DATA / 'fashion-mnist'}")
    train, test = skd.load("fashion-mnist", SHARED_DATA)
    assert torch.bincount(train.targets).tolist() == [6000] * 10
    assert torch.bincount(test.targets).tolist() == [1000] * 10
    assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"


@needs_shared
def test_tampered_copy_of_real_file_is_refused(tmp_path):
    folder = tmp_path / "mnist-10k"
    folder.mkdir()
    for stem in FILES.values():
        name = f"{stem}.gz"
        (folder / name).write_bytes((SHARED_DATA / "mnist-10k" / name).read_bytes())
    skd.load("mnist-10k", tmp_path, split="test")  # the intact copy verifies
    path = folder / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(gzip.decompress(path.read_bytes()))
    data[-1] = (data[-1] + 1) % 10
    path.write_bytes(gzip.compress(bytes(data)))
    expected = registry.SPECS["mnist-10k"].sha256["t10k-labels-idx1-ubyte"]
    with pytest.raises(skd.ChecksumError, match=f"{path}: expected SHA-256 {expected}") as info:
        skd.load("mnist-10k", tmp_path)
    assert hashlib.sha256(bytes(data)).hexdigest() in str(info.value)
    path.write_bytes(path.read_bytes()[:-20])  # a truncated archive: refused too
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        skd.load("mnist-10k", tmp_path)


# -------------------------------------------------------------------------------------------- (e) digits
def test_datasets_registry_lists_image_and_event_datasets():
    kinds = {name: skd.DATASETS.info(name)["kind"] for name in skd.DATASETS}
    assert kinds == {
        "mnist": "image",
        "fashion-mnist": "image",
        "mnist-10k": "image",
        "digits": "image",
        "idx": "image",
        "nmnist": "event",
        "nmnist-small": "event",
        "shd": "event",
        "yin-yang": "synthetic",
        "store-recall": "synthetic",
        "randman": "synthetic",
    }
    assert all(skd.DATASETS.info(name)["help"] for name in skd.DATASETS)
    assert (
        skd.DATASETS.canonical("N_MNIST") == "nmnist"
        and skd.DATASETS.canonical("FashionMNIST") == "fashion-mnist"
    )
    assert skd.dataset_kind("n-mnist-small") == "event"


def test_load_limits_image_splits():
    pytest.importorskip("sklearn")
    train, test = skd.load("digits", train_limit=10, test_limit=3)
    assert (len(train), len(test)) == (10, 3)
    assert len(skd.load("digits", split="test", test_limit=5)) == 5


def test_digits_fixed_stratified_split():
    pytest.importorskip("sklearn")
    train, test = skd.load("digits")
    again_train, again_test = skd.load("digits")
    assert train.images.shape == (1437, 1, 8, 8) and test.images.shape == (360, 1, 8, 8)
    assert torch.equal(train.images, again_train.images) and torch.equal(test.targets, again_test.targets)
    assert float(train.images.min()) == 0.0 and float(train.images.max()) == 1.0
    total = torch.bincount(train.targets, minlength=10) + torch.bincount(test.targets, minlength=10)
    assert total.sum() == 1797
    # stratified: each class's test share is 20 % up to rounding
    assert ((torch.bincount(test.targets, minlength=10) - 0.2 * total).abs() <= 1).all()
    assert train.classes == DIGIT_CLASSES and test.name == "digits"
    assert torch.equal(skd.load("digits", split="test").images, test.images)


# ------------------------------------------------------------------- bad input (issue 14)
def test_unreadable_paths_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"absent: no such file \(expected an IDX file\)"):
        skd.read_idx(tmp_path / "absent")
    with pytest.raises(IsADirectoryError, match=r"is a folder, not an IDX file"):
        skd.read_idx(tmp_path)
    not_a_folder = tmp_path / "mnist"
    not_a_folder.write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match=r"root .*mnist is a file, not a folder"):
        skd.load("mnist", not_a_folder)
    with pytest.raises(NotADirectoryError, match=r"is a file, not a folder"):
        skd.download("mnist", not_a_folder)


def test_image_dataset_refuses_nan_images():
    with pytest.raises(ValueError, match=r"images must be finite, got 4 NaN"):
        skd.ImageDataset(torch.full((1, 1, 2, 2), float("nan")), torch.zeros(1, dtype=torch.int64))
