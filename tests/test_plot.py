"""spikekit.plot: every function returns a Figure that shows the data it was given, and saves valid files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

import spikekit as sk
from spikekit import plot

PNG = b"\x89PNG\r\n\x1a\n"


def activity(seed=0, steps=12, batch=3, n=7):
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(steps, batch, n, generator=g)
    return v, (v > 0.8).float()


@pytest.fixture
def recording():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 9), sk.nn.LIF(beta=0.8), nn.Linear(9, 4), sk.nn.RefractoryLIF())
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(15, 2, 16, generator=g) < 0.5).float() * 2
    with sk.record(model) as rec:
        model(x)
    return rec


def assert_png(path):
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == PNG


def test_no_pyplot_figure_is_left_open(recording, tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    before = plt.get_fignums()
    plot.layer_heatmap(recording)
    plot.animate_layers(recording, tmp_path / "a.gif")
    assert plt.get_fignums() == before


def test_raster_marks_every_spike(tmp_path):
    _, s = activity()
    fig = plot.raster(s, sample=1, path=tmp_path / "r.png")
    assert isinstance(fig, Figure)
    offsets = fig.axes[0].collections[0].get_offsets()
    t, n = np.nonzero(s[:, 1].numpy())
    np.testing.assert_array_equal(np.asarray(offsets), np.stack([t, n], 1))
    assert_png(tmp_path / "r.png")
    fig = plot.raster(s[:, 0], path=tmp_path / "r.svg")  # [T, N] is one sample
    assert len(fig.axes[0].collections[0].get_offsets()) == int(s[:, 0].sum())
    assert b"<svg" in (tmp_path / "r.svg").read_bytes()[:1000]


def test_layer_heatmap_shows_membrane_and_output(recording, tmp_path):
    fig = plot.layer_heatmap(recording, sample=1, path=tmp_path / "h.png")
    images = [a.images[0] for a in fig.axes if a.images]
    assert len(images) == 4  # 2 layers x (membrane, output)
    np.testing.assert_allclose(images[0].get_array(), recording["1"].v[:, 1].numpy().T)
    np.testing.assert_allclose(images[3].get_array(), recording["3"].spikes[:, 1].numpy().T)
    assert_png(tmp_path / "h.png")
    v, s = activity()
    fig = plot.layer_heatmap({"a": (None, s), "b": (v, s)})
    assert sum(bool(a.images) for a in fig.axes) == 3


def test_neuron_trace_draws_membrane_threshold_and_spikes(recording, tmp_path):
    fig = plot.neuron_trace(recording["1"], neuron=2, sample=1, threshold=1.0, path=tmp_path / "n.png")
    a = fig.axes[0]
    np.testing.assert_allclose(a.lines[0].get_ydata(), recording["1"].v[:, 1, 2].numpy())
    assert any(np.allclose(line.get_ydata(), 1.0) for line in a.lines[1:])  # the threshold
    markers = [line for line in a.lines if line.get_label().startswith("spikes")][0]
    np.testing.assert_array_equal(markers.get_xdata(), np.nonzero(recording["1"].spikes[:, 1, 2].numpy())[0])
    assert_png(tmp_path / "n.png")
    assert isinstance(plot.neuron_trace(torch.linspace(0, 1, 10)), Figure)  # [T] works too


def test_rate_histogram_counts_every_neuron(recording, tmp_path):
    fig = plot.rate_histogram(recording, bins=5, path=tmp_path / "h.svg")
    for a, name in zip(fig.axes, ["1", "3"], strict=False):
        s = recording[name].spikes
        rates = (s != 0).double().mean((0, 1)).numpy()
        expected, _ = np.histogram(rates, bins=5, range=(0, 1))
        np.testing.assert_array_equal([p.get_height() for p in a.patches], expected)
    assert (tmp_path / "h.svg").stat().st_size > 1000


def test_receptive_fields_draw_each_row_as_an_image(tmp_path):
    w = torch.randn(6, 20)
    fig = plot.receptive_fields(w, (4, 5), ncols=4, path=tmp_path / "rf.png")
    images = [a.images[0] for a in fig.axes if a.images]
    assert len(images) == 6
    np.testing.assert_allclose(images[5].get_array(), w[5].reshape(4, 5).numpy())
    lo, hi = images[5].get_clim()
    assert lo == -hi == -float(w[5].abs().max())  # symmetric around 0
    assert_png(tmp_path / "rf.png")
    fig = plot.receptive_fields(w.numpy(), (1, 4, 5), neurons=[2, 0], titles=["two", "zero"])
    assert [a.get_title() for a in fig.axes if a.images] == ["two", "zero"]


def test_training_curves_from_jsonl(tmp_path):
    rows = [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "test_loss": 2 / e,
            "train_acc": 0.5 + e / 20,
            "lr": 0.1 / e,
            "seconds": 1,
        }
        for e in range(1, 6)
    ]
    rows[2].pop("test_loss")  # a missing value is skipped
    path = tmp_path / "metrics.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    fig = plot.training_curves(path, path=tmp_path / "c.png")
    loss_ax = fig.axes[0]
    lines = {line.get_label(): line for line in loss_ax.lines}
    assert set(lines) == {"train_loss", "test_loss"}
    np.testing.assert_allclose(lines["test_loss"].get_xdata(), [1, 2, 4, 5])
    assert [a.get_title() for a in fig.axes] == ["loss", "accuracy", "learning rate"]
    assert_png(tmp_path / "c.png")


def test_animation_has_one_frame_per_step(recording, tmp_path):
    image = pytest.importorskip("PIL.Image")
    fig = plot.animate_layers(recording, tmp_path / "a.gif", sample=1)
    assert isinstance(fig, Figure)
    data = (tmp_path / "a.gif").read_bytes()
    assert data[:6] in (b"GIF89a", b"GIF87a")
    with image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 15
    v, s = activity(steps=4)
    plot.animate_layers({"a": (v, s)}, tmp_path / "v.gif", kind="v")
    with image.open(tmp_path / "v.gif") as gif:
        assert gif.n_frames == 4


def test_stdp_window_plot_points_and_fit(tmp_path):
    w = sk.analysis.controlled_window("LIF", max_dt=10)
    fig = plot.stdp_window(w, path=tmp_path / "w.png")
    points, curve = fig.axes[0].lines[:2]
    np.testing.assert_allclose(points.get_ydata(), w.dw)
    np.testing.assert_allclose(curve.get_ydata(), w.fitted(curve.get_xdata()))
    assert_png(tmp_path / "w.png")
    fig = plot.stdp_window((np.arange(-2, 3), np.array([0, 0, 2.0, 1, 0.5])), normalize=True)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [0, 0, 1, 0.5, 0.25])
    ws = [sk.analysis.controlled_window("LIF", loss=loss, max_dt=5) for loss in ("post", "all")]
    fig = plot.stdp_window_grid(ws, path=tmp_path / "g.png")
    assert len([a for a in fig.axes if a.lines]) == 1
    assert_png(tmp_path / "g.png")


def test_bad_input_errors(tmp_path):
    v, s = activity()
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(12,\)"):
        plot.raster(s[:, 0, 0])
    with pytest.raises(ValueError, match=r"sample must lie in \[0, 3\)"):
        plot.raster(s, sample=3)
    with pytest.raises(TypeError, match="spikes must be a torch.Tensor or numpy array, got list"):
        plot.raster([[0, 1]])
    with pytest.raises(ValueError, match="must be finite"):
        plot.raster(torch.full((3, 1, 2), float("nan")))
    with pytest.raises(ValueError, match="path must end with one of .png, .svg, .pdf"):
        plot.raster(s, path=tmp_path / "r.txt")
    with pytest.raises(ValueError, match=r"spikes must have the shape of v, \(12, 3, 7\); got \(12, 3, 6\)"):
        plot.neuron_trace(v, s[..., :6])
    with pytest.raises(ValueError, match=r"neuron must lie in \[0, 7\)"):
        plot.neuron_trace(v, neuron=7)
    with pytest.raises(
        ValueError, match=r"weight must be \[N, H\*W\] \(2 dimensions\), got shape \(2, 4, 5\)"
    ):
        plot.receptive_fields(torch.zeros(2, 4, 5), (4, 5))
    with pytest.raises(ValueError, match=r"image_shape \(4, 4\) holds 16 pixels but weight has 20 inputs"):
        plot.receptive_fields(torch.zeros(2, 20), (4, 4))
    with pytest.raises(TypeError, match="layers must be a spikekit Recording"):
        plot.layer_heatmap(42)
    with pytest.raises(ValueError, match="same number of steps, got \\[4, 12\\]"):
        plot.animate_layers({"a": s, "b": s[:4]}, tmp_path / "a.gif")
    with pytest.raises(ValueError, match="path must end with .gif"):
        plot.animate_layers({"a": s}, tmp_path / "a.png")
    with pytest.raises(ValueError, match="kind must be one of 'spikes', 'v'"):
        plot.animate_layers({"a": s}, kind="current")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"epoch": 1, "train_loss": 1.0}\nnot json\n')
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        plot.training_curves(bad)
    with pytest.raises(ValueError, match="no loss, accuracy or lr key"):
        plot.training_curves([{"epoch": 1, "seconds": 2.0}])
    with pytest.raises(ValueError, match=r"dt and dw must be 1-D of the same length, got \(3,\) and \(2,\)"):
        plot.stdp_window((np.arange(3), np.ones(2)))
    with pytest.raises(TypeError, match="windows must be a window"):
        plot.stdp_window("window")


# --- figures fit for a paper or a talk (issue 17) -------------------------------------------------------
def test_one_call_saves_png_svg_and_pdf_that_parse(tmp_path):
    import xml.etree.ElementTree as ET

    _, s = activity()
    paths = [tmp_path / "r.png", tmp_path / "r.svg", tmp_path / "r.pdf"]
    plot.raster(s, path=paths)
    assert_png(paths[0])
    assert ET.parse(paths[1]).getroot().tag.endswith("svg")
    pdf = paths[2].read_bytes()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]
    with pytest.raises(ValueError, match="must end with"):  # every suffix checked before anything is written
        plot.raster(s, path=[tmp_path / "x.png", tmp_path / "x.jpg"])
    assert not (tmp_path / "x.png").exists()


def test_png_is_saved_at_200_dpi_in_the_shared_style(tmp_path):
    from PIL import Image

    _, s = activity()
    fig = plot.raster(s, path=tmp_path / "r.png")
    with Image.open(tmp_path / "r.png") as im:
        assert im.size == (8 * 200, 4 * 200)
    a = fig.axes[0]
    assert not a.spines["top"].get_visible() and not a.spines["right"].get_visible()


def test_every_heatmap_colour_bar_is_labelled(recording):
    fig = plot.layer_heatmap(recording)
    bars = [a for a in fig.axes if a.get_label() == "<colorbar>"]
    assert len(bars) == 4  # membrane and output of 2 layers
    labels = {b.get_ylabel() for b in bars}
    assert labels == {"membrane potential (v)", "spikes per step"}
    w = torch.randn(4, 25)
    fig = plot.receptive_fields(w, (5, 5))
    assert [a.get_ylabel() for a in fig.axes if a.get_label() == "<colorbar>"][0].startswith("weight")


def _hlines_at(ax, y):
    return [
        ln for ln in ax.lines if np.allclose(ln.get_ydata(), y) and len(set(np.ravel(ln.get_xdata()))) == 2
    ]


def test_threshold_line_from_argument_and_from_the_layer(recording):
    fig = plot.neuron_trace(recording["1"], neuron=0, threshold=0.7)
    assert _hlines_at(fig.axes[0], 0.7)

    class Carrying:  # a Trace that carries its layer
        def __init__(self, trace, module):
            self.v, self.spikes, self.module = trace.v, trace.spikes, module

    fig = plot.neuron_trace(Carrying(recording["1"], sk.nn.LIF(threshold=1.25)), neuron=2)
    assert _hlines_at(fig.axes[0], 1.25)
    fig = plot.neuron_trace(recording["1"], neuron=0)  # unknown threshold: no line drawn
    assert not any("threshold" in (ln.get_label() or "") for ln in fig.axes[0].lines)
    fig = plot.neuron_trace(recording["1"], neuron=3, threshold=torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5]))
    assert _hlines_at(fig.axes[0], 0.4)  # a per-neuron threshold: this neuron's


def test_example_neuron_fires_but_not_always():
    s = torch.zeros(10, 1, 5)
    s[:, 0, 0] = 1  # always: rate 1
    s[:5, 0, 1] = 1  # 0.5
    s[:1, 0, 2] = 1  # 0.1
    s[:4, 0, 3] = 1  # 0.4; neuron 4 silent
    assert plot.example_neuron(s) == 2  # closest to 0.2 among those that fire but not always
    s[:3, 0, 3] = 0  # neuron 3 now at 0.1 too; 0.2 at neuron 4
    s[:2, 0, 4] = 1
    assert plot.example_neuron(s) == 4
    assert plot.example_neuron(torch.ones(6, 1, 3)) == 0  # nothing qualifies: never crashes
    assert plot.example_neuron(torch.zeros(6, 2, 3)) == 0


def test_conv_raster_draws_at_most_n_units_marked_by_channel():
    g = torch.Generator().manual_seed(0)
    s = (torch.rand(10, 2, 8, 12, 12, generator=g) < 0.002).float()  # sparse: 8 * 144 = 1152 units
    assert s[:, 0].sum() > 0
    fig = plot.raster(s, sample=0, max_units=50)
    a = fig.axes[0]
    lo, hi = a.get_ylim()
    assert hi - lo <= 50
    offsets = np.asarray(a.collections[0].get_offsets())
    assert len(offsets) == int(s[:, 0].sum()) > 0  # the units that fired are drawn first: none missed
    assert all(t.get_text().startswith("c") for t in a.get_yticklabels())
    assert "channel" in a.get_ylabel()
    fig = plot.raster(s, sample=0, channels=[3], max_units=500)
    assert {t.get_text() for t in fig.axes[0].get_yticklabels()} == {"c3"}
    assert fig.axes[0].get_ylim()[1] - fig.axes[0].get_ylim()[0] == 144
