"""Bad inputs to ANN-to-SNN conversion, NIR/Loihi interop (area "convert/interop") and the data loaders
(area "data"): malformed models and calibration sets, malformed NIR graphs and files, wrong dataset folders,
truncated or garbage files, out-of-range options."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch
from harness import Case
from torch import nn

import spikekit as sk

CASES: list[Case] = []
DATA = Path(os.environ.get("SPIKEKIT_DATA") or Path(__file__).parents[3] / "shared" / "data").expanduser()
NMNIST_SMALL = DATA / "nmnist-small"


def _conv(name: str, run) -> None:
    CASES.append(Case("convert/interop", name, run=run))


def _data(name: str, run) -> None:
    CASES.append(Case("data", name, run=run))


# --- conversion ----------------------------------------------------------------------------------------
def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def _convert(model=None, calibration=None, **kw):
    from spikekit.convert import convert

    return convert(
        _mlp() if model is None else model, torch.rand(16, 4) if calibration is None else calibration, **kw
    )


_conv(
    "convert: MaxPool2d layer",
    lambda tmp: _convert(
        nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2, 2)),
        torch.rand(4, 1, 6, 6),
    ),
)
_conv(
    "convert: Sigmoid layer",
    lambda tmp: _convert(nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 3))),
)
_conv("convert: LSTM layer", lambda tmp: _convert(nn.Sequential(nn.LSTM(4, 8))))
_conv("convert: a bare Linear, not a Sequential", lambda tmp: _convert(nn.Linear(4, 3)))
_conv("convert: an empty Sequential", lambda tmp: _convert(nn.Sequential()))
_conv("convert: a Sequential without weight layers", lambda tmp: _convert(nn.Sequential(nn.Flatten())))
_conv("convert: a string for the model", lambda tmp: _convert("model.pt"))
_conv(
    "convert: layers whose sizes do not chain",
    lambda tmp: _convert(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(9, 3))),
)
_conv(
    "convert: NaN weights",
    lambda tmp: _convert(
        nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).apply(
            lambda m: torch.nn.init.constant_(m.weight, float("nan")) if isinstance(m, nn.Linear) else None
        )
    ),
)
_conv("convert: empty calibration", lambda tmp: _convert(calibration=torch.rand(0, 4)))
_conv("convert: NaN calibration", lambda tmp: _convert(calibration=torch.full((8, 4), float("nan"))))
_conv("convert: inf calibration", lambda tmp: _convert(calibration=torch.full((8, 4), float("inf"))))
_conv("convert: calibration of the wrong width", lambda tmp: _convert(calibration=torch.rand(8, 5)))
_conv("convert: calibration without a batch axis", lambda tmp: _convert(calibration=torch.rand(4)))
_conv("convert: integer calibration", lambda tmp: _convert(calibration=torch.ones(8, 4, dtype=torch.int64)))
_conv("convert: calibration as a list", lambda tmp: _convert(calibration=[[0.1, 0.2, 0.3, 0.4]]))
_conv(
    "convert: calibration images too small for the pooling",
    lambda tmp: _convert(
        nn.Sequential(
            nn.Conv2d(1, 2, 3, padding=1), nn.AvgPool2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(2, 2)
        ),
        torch.rand(4, 1, 1, 1),
    ),
)
_conv("convert: steps = 0", lambda tmp: _convert(steps=0))
_conv("convert: steps = -5", lambda tmp: _convert(steps=-5))
_conv("convert: steps = True", lambda tmp: _convert(steps=True))
_conv("convert: steps = 2.5", lambda tmp: _convert(steps=2.5))
_conv("convert: steps = 10**12", lambda tmp: _convert(steps=10**12))
_conv("convert: percentile = 0", lambda tmp: _convert(percentile=0))
_conv("convert: percentile = NaN", lambda tmp: _convert(percentile=float("nan")))
_conv("convert: percentile = 250", lambda tmp: _convert(percentile=250))
_conv("convert: percentile as a str", lambda tmp: _convert(percentile="99"))
_conv("convert: batch_size = 0", lambda tmp: _convert(batch_size=0))
_conv("convert: unknown backend", lambda tmp: _convert(backend="quantum"))
_conv("converted SNN: T = 0", lambda tmp: _convert()(torch.rand(2, 4), steps=0))
_conv("converted SNN: NaN images", lambda tmp: _convert()(torch.full((2, 4), float("nan"))))
_conv("converted SNN: images of the wrong rank", lambda tmp: _convert()(torch.rand(2, 4, 4, 4)))
_conv("converted SNN: images of the wrong width", lambda tmp: _convert()(torch.rand(2, 7)))
_conv("converted SNN: steps as an empty list", lambda tmp: _convert().logits_over_time(torch.rand(2, 4), []))
_conv("ConvertedSNN: steps = 0", lambda tmp: sk.convert.ConvertedSNN(nn.Sequential(), steps=0))


def _acc_empty(tmp):
    snn = _convert()
    return sk.convert.accuracy_over_time(
        snn, torch.utils.data.TensorDataset(torch.rand(0, 4), torch.zeros(0))
    )


_conv("accuracy_over_time: empty dataset", _acc_empty)
_conv(
    "accuracy_over_time: a tensor, not a dataset",
    lambda tmp: sk.convert.accuracy_over_time(_convert(), torch.rand(4, 4)),
)
_conv(
    "ann_accuracy: empty dataset",
    lambda tmp: sk.convert.ann_accuracy(
        _mlp(), torch.utils.data.TensorDataset(torch.rand(0, 4), torch.zeros(0, dtype=torch.int64))
    ),
)
_conv(
    "fold_batchnorm: BatchNorm first",
    lambda tmp: sk.convert.fold_batchnorm(nn.Sequential(nn.BatchNorm1d(4), nn.Linear(4, 2))),
)
_conv("fold_batchnorm: not a module", lambda tmp: sk.convert.fold_batchnorm("net"))
_conv(
    "fold_bn_into: channel counts differ",
    lambda tmp: sk.convert.fold_bn_into(nn.Linear(4, 3), nn.BatchNorm1d(5)),
)
_conv("convertible_mlp: hidden = 0", lambda tmp: sk.convert.convertible_mlp(hidden=(0,)))
_conv("convertible_cnn: image too small", lambda tmp: sk.convert.convertible_cnn(image_size=2))


# --- NIR -----------------------------------------------------------------------------------------------
def _nir():
    import nir

    return nir


def _sknir():
    from spikekit.interop import nir as sknir

    return sknir


def _graph(nodes: dict, edges: list) -> object:
    nir = _nir()
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _io_nodes(n_in: int = 3, n_out: int = 2) -> dict:
    nir = _nir()
    return {"input": nir.Input(np.array([n_in])), "output": nir.Output(np.array([n_out]))}


def _affine(w, b):
    return _nir().Affine(weight=np.asarray(w, np.float32), bias=np.asarray(b, np.float32))


def _import_nodes(fc, extra_edges=(), drop=()):
    nodes = {**_io_nodes(), "fc": fc}
    for k in drop:
        del nodes[k]
    return _sknir().import_(_graph(nodes, [("input", "fc"), ("fc", "output"), *extra_edges]))


def _lif(**over):
    nir = _nir()
    p = dict(
        tau=np.full(2, 1e-3), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2), v_reset=np.zeros(2)
    )
    p.update(over)
    return nir.LIF(**p)


def _import_lif(after=None, **over):
    node = _lif(**over)
    for k, v in (after or {}).items():  # set after construction: nir's own checks would refuse it
        setattr(node, k, v)
    nodes = {**_io_nodes(2, 2), "lif": node}
    return _sknir().import_(_graph(nodes, [("input", "lif"), ("lif", "output")]))


_conv("NIR import: a dict, not a graph", lambda tmp: _sknir().import_({"nodes": {}}))
_conv(
    "NIR import: no Input node",
    lambda tmp: _import_nodes(_affine(np.ones((2, 3)), np.zeros(2)), drop=["input"]),
)
_conv(
    "NIR import: an edge to an unknown node",
    lambda tmp: _import_nodes(_affine(np.ones((2, 3)), np.zeros(2)), [("fc", "ghost")]),
)
_conv(
    "NIR import: an edge from an unknown node",
    lambda tmp: _import_nodes(_affine(np.ones((2, 3)), np.zeros(2)), [("ghost", "fc")]),
)
_conv(
    "NIR import: a node nothing reaches",
    lambda tmp: _sknir().import_(
        _graph(
            {
                **_io_nodes(),
                "fc": _affine(np.ones((2, 3)), np.zeros(2)),
                "lost": _affine(np.ones((2, 2)), np.zeros(2)),
            },
            [("input", "fc"), ("fc", "output")],
        )
    ),
)
_conv(
    "NIR import: the Output node has no source",
    lambda tmp: _sknir().import_(
        _graph({**_io_nodes(), "fc": _affine(np.ones((2, 3)), np.zeros(2))}, [("input", "fc")])
    ),
)
_conv(
    "NIR import: Affine bias of the wrong size",
    lambda tmp: _import_nodes(_affine(np.ones((2, 3)), np.zeros(5))),
)
_conv("NIR import: 3-d Affine weight", lambda tmp: _import_nodes(_affine(np.ones((2, 3, 1)), np.zeros(2))))
_conv(
    "NIR import: NaN Affine weight", lambda tmp: _import_nodes(_affine(np.full((2, 3), np.nan), np.zeros(2)))
)
_conv(
    "NIR import: inf Linear weight", lambda tmp: _import_nodes(_nir().Linear(weight=np.full((2, 3), np.inf)))
)
_conv(
    "NIR import: string Affine weight",
    lambda tmp: _import_nodes(
        _affine(np.zeros((2, 3)), np.zeros(2)).__class__(
            weight=np.array([["a", "b", "c"], ["d", "e", "f"]]), bias=np.zeros(2)
        )
    ),
)
_conv("NIR import: empty Affine weight", lambda tmp: _import_nodes(_affine(np.ones((0, 3)), np.zeros(0))))
_conv("NIR import: LIF with NaN threshold", lambda tmp: _import_lif(v_threshold=np.full(2, np.nan)))
_conv("NIR import: LIF with negative threshold", lambda tmp: _import_lif(v_threshold=np.full(2, -1.0)))
_conv("NIR import: LIF with NaN tau", lambda tmp: _import_lif(tau=np.full(2, np.nan)))
_conv("NIR import: LIF with NaN r", lambda tmp: _import_lif(r=np.full(2, np.nan)))
_conv(
    "NIR import: LIF with tau and threshold of different sizes",
    lambda tmp: _import_lif(after={"tau": np.full(3, 1e-3)}),
)
_conv(
    "NIR import: Threshold with NaN",
    lambda tmp: _sknir().import_(
        _graph(
            {**_io_nodes(2, 2), "th": _nir().Threshold(threshold=np.full(2, np.nan))},
            [("input", "th"), ("th", "output")],
        )
    ),
)
_conv(
    "NIR import: Conv2d with a 2-d weight",
    lambda tmp: _sknir().import_(
        _graph(
            {
                **_io_nodes(2, 2),
                "c": _nir().Conv2d(
                    input_shape=None,
                    weight=np.ones((2, 2)),
                    stride=1,
                    padding=0,
                    dilation=1,
                    groups=1,
                    bias=np.zeros(2),
                ),
            },
            [("input", "c"), ("c", "output")],
        )
    ),
)
_conv(
    "NIR import: Delay node with a negative delay",
    lambda tmp: _sknir().import_(
        _graph({**_io_nodes(2, 2), "d": _nir().Delay(delay=-np.ones(2))}, [("input", "d"), ("d", "output")])
    ),
)
_conv(
    "NIR import: dt = 0",
    lambda tmp: _sknir().import_(
        _graph(
            {**_io_nodes(), "fc": _affine(np.ones((2, 3)), np.zeros(2))}, [("input", "fc"), ("fc", "output")]
        ),
        dt=0,
    ),
)
_conv(
    "NIR import: dt = inf",
    lambda tmp: _sknir().import_(
        _graph(
            {**_io_nodes(), "fc": _affine(np.ones((2, 3)), np.zeros(2))}, [("input", "fc"), ("fc", "output")]
        ),
        dt=float("inf"),
    ),
)
_conv(
    "NIR import: dtype as a str",
    lambda tmp: _sknir().import_(
        _graph(
            {**_io_nodes(), "fc": _affine(np.ones((2, 3)), np.zeros(2))}, [("input", "fc"), ("fc", "output")]
        ),
        dtype="float32",
    ),
)
_conv(
    "NIR import: dtype int64",
    lambda tmp: _sknir().import_(
        _graph(
            {**_io_nodes(), "fc": _affine(np.ones((2, 3)), np.zeros(2))}, [("input", "fc"), ("fc", "output")]
        ),
        dtype=torch.int64,
    ),
)


def _file(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def _good_nir_bytes(tmp: Path) -> bytes:
    model = nn.Sequential(nn.Linear(3, 2), sk.nn.LIF(reset="zero"))
    path = tmp / "good.nir"
    _sknir().save(model, torch.rand(2, 1, 3), path)
    return path.read_bytes()


def _not_nir_hdf5(tmp: Path) -> Path:
    import h5py

    path = tmp / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    return path


def _shd(tmp: Path, times=((0.1, 0.2), (0.3,)), units=((1, 2), (3,)), labels=(0, 1)) -> Path:
    import h5py

    path = tmp / "shd_train.h5"
    with h5py.File(path, "w") as f:
        vf, vi = h5py.vlen_dtype(np.float64), h5py.vlen_dtype(np.int64)
        t = f.create_dataset("spikes/times", (len(times),), dtype=vf)
        u = f.create_dataset("spikes/units", (len(units),), dtype=vi)
        for i, (a, b) in enumerate(zip(times, units, strict=True)):
            t[i], u[i] = np.asarray(a, np.float64), np.asarray(b, np.int64)
        f.create_dataset("labels", data=np.asarray(labels))
    return path


def _bad_node_type(tmp: Path) -> Path:
    import h5py

    path = tmp / "alien.nir"
    with h5py.File(path, "w") as f:
        f.create_dataset("version", data="1.0.8")
        node = f.create_group("node")
        node.create_dataset("type", data="NIRGraph")
        nodes = node.create_group("nodes")
        alien = nodes.create_group("x")
        alien.create_dataset("type", data="WarpDrive")
        node.create_group("edges")
    return path


_conv("NIR read: missing file", lambda tmp: _sknir().read(tmp / "nope.nir"))
_conv("NIR read: a folder", lambda tmp: _sknir().read(tmp))
_conv("NIR read: empty file", lambda tmp: _sknir().read(_file(tmp, "empty.nir", b"")))
_conv("NIR read: garbage", lambda tmp: _sknir().read(_file(tmp, "junk.nir", os.urandom(4096))))
_conv("NIR read: a text file", lambda tmp: _sknir().read(_file(tmp, "t.nir", b"this is not a graph\n")))
_conv("NIR read: truncated", lambda tmp: _sknir().read(_file(tmp, "cut.nir", _good_nir_bytes(tmp)[:700])))
_conv("NIR read: HDF5 but not NIR", lambda tmp: _sknir().read(_not_nir_hdf5(tmp)))
_conv("NIR read: unknown node type in the file", lambda tmp: _sknir().read(_bad_node_type(tmp)))
_conv(
    "NIR load: garbage",
    lambda tmp: _sknir().load(_file(tmp, "junk.nir", b"\x89HDF\r\n\x1a\n" + os.urandom(900))),
)
_conv("NIR import_: path to garbage", lambda tmp: _sknir().import_(_file(tmp, "junk.nir", os.urandom(100))))
_conv("NIR write: not a graph", lambda tmp: _sknir().write("graph", tmp / "g.nir"))
_conv(
    "NIR write: path is a folder",
    lambda tmp: _sknir().write(
        _sknir().export(nn.Sequential(nn.Linear(3, 2), sk.nn.LIF(reset="zero")), torch.rand(2, 1, 3)), tmp
    ),
)
_conv(
    "NIR export: Sigmoid",
    lambda tmp: _sknir().export(nn.Sequential(nn.Linear(3, 2), nn.Sigmoid()), torch.rand(2, 1, 3)),
)
_conv(
    "NIR export: reset subtract",
    lambda tmp: _sknir().export(
        nn.Sequential(nn.Linear(3, 2), sk.nn.LIF(reset="subtract")), torch.rand(2, 1, 3)
    ),
)
_conv(
    "NIR export: sample of the wrong width",
    lambda tmp: _sknir().export(nn.Sequential(nn.Linear(3, 2), sk.nn.LIF(reset="zero")), torch.rand(2, 1, 5)),
)
_conv(
    "NIR export: sample not a tensor",
    lambda tmp: _sknir().export(nn.Sequential(nn.Linear(3, 2), sk.nn.LIF(reset="zero")), [[0.0, 1.0, 2.0]]),
)
_conv(
    "NIR export: dt = 0",
    lambda tmp: _sknir().export(
        nn.Sequential(nn.Linear(3, 2), sk.nn.LIF(reset="zero")), torch.rand(2, 1, 3), dt=0
    ),
)
_conv(
    "NIR export: dt = NaN",
    lambda tmp: _sknir().export(
        nn.Sequential(nn.Linear(3, 2), sk.nn.LIF(reset="zero")), torch.rand(2, 1, 3), dt=float("nan")
    ),
)
_conv(
    "NIR export: NaN weights",
    lambda tmp: _sknir().export(
        nn.Sequential(nn.Linear(3, 2), sk.nn.LIF(reset="zero")).apply(
            lambda m: torch.nn.init.constant_(m.weight, float("nan")) if isinstance(m, nn.Linear) else None
        ),
        torch.rand(2, 1, 3),
    ),
)
_conv("NIR export: a str for the model", lambda tmp: _sknir().export("model", torch.rand(2, 1, 3)))
_conv("NIR decay_to_tau: decay = 1", lambda tmp: _sknir().decay_to_tau(1.0))
_conv("NIR decay_to_tau: decay = 1.5", lambda tmp: _sknir().decay_to_tau(1.5))
_conv("NIR tau_to_decay: tau = 0", lambda tmp: _sknir().tau_to_decay(0.0))
_conv("NIR tau_to_decay: tau < dt", lambda tmp: _sknir().tau_to_decay(1e-5))
_conv(
    "NIR model_input: steps = 0",
    lambda tmp: _sknir().model_input(sk.models.SpikingMLP(4, (8,), 2), torch.rand(2, 4), steps=0),
)
_conv("NIR readout: not a tensor", lambda tmp: _sknir().readout(nn.Identity(), [1.0, 2.0]))
_conv("Loihi layout: a list", lambda tmp: sk.interop.to_loihi_layout([[1.0]]))
_conv("Loihi layout: 1-d tensor", lambda tmp: sk.interop.to_loihi_layout(torch.zeros(4)))
_conv("Loihi layout back: 0-d tensor", lambda tmp: sk.interop.from_loihi_layout(torch.tensor(1.0)))
_conv("Loihi check: a str", lambda tmp: sk.interop.loihi_check("model"))
_conv("Loihi check: a class, not an instance", lambda tmp: sk.interop.loihi_check(nn.Linear))


# --- data ----------------------------------------------------------------------------------------------
def _idx(images: np.ndarray) -> bytes:
    import struct

    return bytes([0, 0, 8, images.ndim]) + struct.pack(f">{images.ndim}I", *images.shape) + images.tobytes()


def _idx_folder(tmp: Path, names=None, corrupt: str | None = None) -> Path:
    folder = tmp / "ds"
    folder.mkdir()
    files = {
        "train-images-idx3-ubyte": _idx(np.zeros((4, 2, 2), np.uint8)),
        "train-labels-idx1-ubyte": _idx(np.zeros(4, np.uint8)),
        "t10k-images-idx3-ubyte": _idx(np.zeros((2, 2, 2), np.uint8)),
        "t10k-labels-idx1-ubyte": _idx(np.zeros(2, np.uint8)),
    }
    for i, (stem, data) in enumerate(files.items()):
        if corrupt == stem:
            data = data[: len(data) // 2]
        (folder / (names[i] if names else stem)).write_bytes(data)
    return folder


def _fake_mnist(tmp: Path) -> Path:
    """A folder named mnist whose four files parse but are not the published ones (their SHA-256 differs)."""
    folder = tmp / "mnist"
    folder.mkdir()
    for stem, array in (
        ("train-images-idx3-ubyte", np.zeros((4, 28, 28), np.uint8)),
        ("train-labels-idx1-ubyte", np.zeros(4, np.uint8)),
        ("t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8)),
        ("t10k-labels-idx1-ubyte", np.zeros(2, np.uint8)),
    ):
        (folder / f"{stem}.gz").write_bytes(gzip.compress(_idx(array)))
    return folder


_data("load: unknown name", lambda tmp: sk.data.load("mnist2"))
_data("load: name not a str", lambda tmp: sk.data.load(7))
_data("load: bad split", lambda tmp: sk.data.load("digits", split="validation"))
_data("load: train_limit = 0", lambda tmp: sk.data.load("digits", train_limit=0))
_data("load: test_limit = -3", lambda tmp: sk.data.load("digits", test_limit=-3))
_data("load: train_limit = True", lambda tmp: sk.data.load("digits", train_limit=True))
_data("load: train_limit = 2.5", lambda tmp: sk.data.load("digits", train_limit=2.5))
_data("load: time_bins for an image dataset", lambda tmp: sk.data.load("digits", time_bins=10))
_data("load idx: no root", lambda tmp: sk.data.load("idx"))
_data("load idx: root is a file", lambda tmp: sk.data.load("idx", root=_file(tmp, "x.gz", b"\0\0\x08\x01")))
_data("load idx: missing folder", lambda tmp: sk.data.load("idx", root=tmp / "nope"))
_data(
    "load idx: wrong file names",
    lambda tmp: sk.data.load(
        "idx", root=_idx_folder(tmp, names=["train_images.gz", "train_labels", "test-images", "test-labels"])
    ),
)
_data(
    "load idx: truncated labels",
    lambda tmp: sk.data.load("idx", root=_idx_folder(tmp, corrupt="t10k-labels-idx1-ubyte")),
)
_data(
    "load idx: a folder where a file belongs",
    lambda tmp: sk.data.load(
        "idx",
        root=(
            lambda f: ((f / "t10k-labels-idx1-ubyte").unlink(), (f / "t10k-labels-idx1-ubyte").mkdir(), f)[-1]
        )(_idx_folder(tmp)),
    ),
)
_data("load mnist: root is a file", lambda tmp: sk.data.load("mnist", root=_file(tmp, "mnist", b"x")))
_data("load mnist: checksum mismatch", lambda tmp: sk.data.load("mnist", root=_fake_mnist(tmp)))
_data("read_idx: missing file", lambda tmp: sk.data.read_idx(tmp / "nope-idx1-ubyte"))
_data("read_idx: a folder", lambda tmp: sk.data.read_idx(tmp))
_data("read_idx: empty file", lambda tmp: sk.data.read_idx(_file(tmp, "e", b"")))
_data("read_idx: garbage", lambda tmp: sk.data.read_idx(_file(tmp, "g", os.urandom(64))))
_data(
    "read_idx: truncated gzip",
    lambda tmp: sk.data.read_idx(_file(tmp, "t.gz", gzip.compress(_idx(np.zeros((4, 3, 3), np.uint8)))[:20])),
)
_data(
    "read_idx: header claims 2**32 items",
    lambda tmp: sk.data.read_idx(_file(tmp, "h", bytes([0, 0, 8, 3]) + b"\xff\xff\xff\xff" * 3)),
)
_data("write_idx: bool tensor", lambda tmp: sk.data.write_idx(tmp / "b", torch.ones(3, dtype=torch.bool)))
_data("write_idx: path is a folder", lambda tmp: sk.data.write_idx(tmp, torch.ones(3, dtype=torch.uint8)))
_data("write_idx: 0-d tensor", lambda tmp: sk.data.write_idx(tmp / "z", torch.tensor(3, dtype=torch.uint8)))
_data("download: unknown name", lambda tmp: sk.data.download("nope", tmp))
_data("download: digits", lambda tmp: sk.data.download("digits", tmp))
_data("download_file: no URLs", lambda tmp: sk.data.download_file([], tmp / "f"))
_data("download_file: retries = 0", lambda tmp: sk.data.download_file(["http://x"], tmp / "f", retries=0))
_data(
    "download_file: timeout = NaN",
    lambda tmp: sk.data.download_file(["http://x"], tmp / "f", timeout=float("nan")),
)
_data(
    "verify_file: checksum mismatch", lambda tmp: sk.data.fetch.verify_file(_file(tmp, "f", b"abc"), "0" * 64)
)
_data(
    "ImageDataset: NaN images",
    lambda tmp: sk.data.ImageDataset(
        torch.full((2, 1, 2, 2), float("nan")), torch.zeros(2, dtype=torch.int64)
    ),
)
_data("ImageDataset.subset: 0", lambda tmp: sk.data.load("digits")[0].subset(0))


def _events():
    from spikekit.data import events

    return events


def _nm(**kw):
    kw.setdefault("cache", False)
    return sk.data.load("nmnist-small", NMNIST_SMALL, split="test", test_limit=2, progress=False, **kw)


_data("events: time_bins = 0", lambda tmp: _nm(time_bins=0))
_data("events: time_bins = -4", lambda tmp: _nm(time_bins=-4))
_data("events: time_bins = True", lambda tmp: _nm(time_bins=True))
_data("events: time_bins = 2.5", lambda tmp: _nm(time_bins=2.5))
_data("events: time_window = 0", lambda tmp: _nm(time_window=0))
_data("events: time_window = -1000", lambda tmp: _nm(time_window=-1000.0))
_data("events: time_window = NaN", lambda tmp: _nm(time_window=float("nan")))
_data("events: time_window as a str", lambda tmp: _nm(time_window="1ms"))
_data("events: both time_bins and time_window", lambda tmp: _nm(time_bins=5, time_window=1000.0))
_data("events: num_workers = -1", lambda tmp: _nm(time_bins=2, num_workers=-1))
_data("events: cache = 3", lambda tmp: _nm(time_bins=2, cache=3))
_data("events: cache folder is a file", lambda tmp: _nm(time_bins=2, cache=_file(tmp, "cache", b"x")))
_data(
    "events: test_limit = 0",
    lambda tmp: sk.data.load("nmnist-small", NMNIST_SMALL, split="test", test_limit=0),
)
_data("events: flatten = 'yes'", lambda tmp: _nm(time_bins=2, flatten="yes"))
_data("load_events: unknown name", lambda tmp: _events().load_events("nmnist-large"))
_data("load_events: image dataset name", lambda tmp: _events().load_events("mnist"))
_data("load_events: bad split", lambda tmp: _events().load_events("nmnist-small", NMNIST_SMALL, split="val"))
_data(
    "load_frames: n_time_bins = 0",
    lambda tmp: _events().load_frames(
        "nmnist-small", split="test", n_time_bins=0, test_limit=2, cache=False, progress=False
    ),
)
_data("NMNIST: root is a file", lambda tmp: _events().NMNIST(_file(tmp, "Train", b"x")))
_data("NMNIST: missing folder", lambda tmp: _events().NMNIST(tmp / "nope"))
_data(
    "NMNIST: manifest without columns",
    lambda tmp: _events().NMNIST((lambda: (_file(tmp, "MANIFEST.tsv", b"a\tb\n1\t2\n"), tmp)[1])()),
)
_data(
    "NMNIST: manifest lists a missing file",
    lambda tmp: _events().NMNIST(
        (lambda: (_file(tmp, "MANIFEST.tsv", b"file\tsplit\tlabel\nghost.bin\ttrain\t3\n"), tmp)[1])()
    ),
)
_data(
    "NMNIST: manifest label not an int",
    lambda tmp: _events().NMNIST(
        (
            lambda: (
                _file(tmp, "a.bin", b""),
                _file(tmp, "MANIFEST.tsv", b"file\tsplit\tlabel\na.bin\ttrain\tx\n"),
                tmp,
            )[2]
        )()
    ),
)
_data(
    "NMNIST: negative label",
    lambda tmp: _events().NMNIST(
        (
            lambda: (
                _file(tmp, "a.bin", b""),
                _file(tmp, "MANIFEST.tsv", b"file\tsplit\tlabel\na.bin\ttrain\t-2\n"),
                tmp,
            )[2]
        )()
    ),
)
_data(
    "NMNIST: manifest path escapes the folder",
    lambda tmp: _events().NMNIST(
        (lambda: (_file(tmp, "MANIFEST.tsv", b"file\tsplit\tlabel\n/etc/passwd\ttrain\t1\n"), tmp)[1])()
    ),
)
_data(
    "read_nmnist: truncated",
    lambda tmp: _events().read_nmnist(_file(tmp, "a.bin", b"\x01\x02\x03\x04\x05\x06")),
)
_data("read_nmnist: missing file", lambda tmp: _events().read_nmnist(tmp / "nope.bin"))
_data("read_nmnist: a folder", lambda tmp: _events().read_nmnist(tmp))
_data(
    "read_nmnist: events off the sensor",
    lambda tmp: _events().read_nmnist(_file(tmp, "a.bin", bytes([200, 5, 0, 0, 1]))),
)
_data(
    "read_nmnist: checksum mismatch",
    lambda tmp: _events().read_nmnist(_file(tmp, "a.bin", bytes([1, 1, 0, 0, 1])), sha256="0" * 64),
)
_data("SHD: garbage .h5", lambda tmp: _events().SHD(_file(tmp, "shd_train.h5", os.urandom(2048))))
_data("SHD: empty .h5", lambda tmp: _events().SHD(_file(tmp, "shd_train.h5", b"")))
_data("SHD: HDF5 without the fields", lambda tmp: _events().SHD(_not_nir_hdf5(tmp)))
_data("SHD: missing folder", lambda tmp: _events().SHD(tmp / "nope"))
_data("SHD: channels = 0", lambda tmp: _events().SHD(_shd(tmp), channels=0))
_data("SHD: channels = -700", lambda tmp: _events().SHD(_shd(tmp), channels=-700))
_data("SHD: labels of another length", lambda tmp: _events().SHD(_shd(tmp, labels=(0, 1, 2))))
_data("SHD: NaN spike time", lambda tmp: _events().SHD(_shd(tmp, times=((0.1, float("nan")), (0.3,))))[0])
_data("SHD: unit off the cochlea", lambda tmp: _events().SHD(_shd(tmp, units=((1, 900), (3,))))[0])
_data("SHD: a folder without the split's file", lambda tmp: _events().SHD((_shd(tmp), tmp)[1], split="test"))
_data("ShdFile: a folder", lambda tmp: _events().ShdFile(tmp))
_data(
    "FrameCache: root is a file",
    lambda tmp: __import__("spikekit.data.events.cache", fromlist=["FrameCache"]).FrameCache(
        _file(tmp, "c", b"x"), "ToFrame()", "k"
    ),
)
_data(
    "FrameCache: put an object",
    lambda tmp: (
        __import__("spikekit.data.events.cache", fromlist=["FrameCache"])
        .FrameCache(tmp, None, "k")
        .put("a", {"x": 1})
    ),
)
_data(
    "write_nmnist: y = 240",
    lambda tmp: _events().write_nmnist(
        tmp / "a.bin", np.array([(1, 240, 0, 0)], dtype=[("x", "i8"), ("y", "i8"), ("t", "i8"), ("p", "i8")])
    ),
)
_data("write_nmnist: a plain array", lambda tmp: _events().write_nmnist(tmp / "a.bin", np.zeros(4)))
_data("EventCollate: sensor_size of two values", lambda tmp: _events().EventCollate((34, 34)))
_data("pad_time_first: no tensors", lambda tmp: _events().pad_time_first([]))
_data(
    "materialize: batch_size = 0",
    lambda tmp: _events().materialize(
        _events().load_events("nmnist-small", NMNIST_SMALL, split="test").subset(2),
        batch_size=0,
        progress=False,
    ),
)
_data(
    "FrameDataset: lengths of the wrong shape",
    lambda tmp: _events().FrameDataset(
        torch.zeros(2, 3, 4), torch.zeros(2, dtype=torch.int64), torch.zeros(5, dtype=torch.int64)
    ),
)
_data(
    "FrameDataset: lengths a list",
    lambda tmp: _events().FrameDataset(torch.zeros(2, 3, 4), torch.zeros(2, dtype=torch.int64), [3, 3]),
)
_data(
    "EventDataset: transform not callable",
    lambda tmp: _events().load_events("nmnist-small", NMNIST_SMALL, split="test", transform=5),
)
