"""spikekit report: a self-contained HTML page whose images load in a real (headless) browser."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest

from spikekit.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    assert (
        main(
            [
                "train",
                "--model",
                "spiking-mlp",
                "--dataset",
                "digits",
                "--epochs",
                "2",
                "--steps",
                "6",
                "--train-limit",
                "300",
                "--no-progress",
                "--out",
                str(tmp / "run"),
            ]
        )
        == 0
    )
    out = tmp / "report.html"
    assert (
        main(
            [
                "report",
                "--checkpoint",
                str(tmp / "run" / "checkpoint.pt"),
                "--out",
                str(out),
                "--index",
                "5",
                "--stdp-batch",
                "16",
            ]
        )
        == 0
    )
    return out


def test_report_has_the_profile_section(report):
    """Synaptic operations and energy of the model on a test batch (sk.analysis.profile)."""
    page = report.read_text()
    section = page.split("<h2>Synaptic operations and energy</h2>", 1)[1].split("<h2>", 1)[0]
    for cell in ("Effective ACs", "Effective MACs", "ANN energy", "first", "out", "hidden.0", "out_lif"):
        assert cell in section
    assert "Horowitz" in section and "not available" not in section


def test_report_is_self_contained_with_every_section(report):
    page = report.read_text()
    for heading in ("Training", "Test image 5", "Receptive fields", "Does backpropagation engender STDP?"):
        assert heading in page
    assert "test accuracy" in page and "hidden.0" in page
    srcs = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert len(srcs) >= 6
    for src in srcs:
        assert src.startswith("data:image/png;base64,")  # nothing fetched from elsewhere
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium here (make test installs Debian's chromium when it can)"
)
def test_report_opens_in_headless_chromium_and_its_images_load(report, tmp_path):
    probe = tmp_path / "probe.html"
    script = (
        "<script>window.addEventListener('load', () => { const im = [...document.images];"
        " document.title = 'loaded ' + im.filter(i => i.complete && i.naturalWidth > 0).length"
        " + ' of ' + im.length; });</script>"
    )
    probe.write_text(report.read_text().replace("</body>", script + "</body>"))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
        "--dump-dom",
    ]
    dom = subprocess.run(
        [CHROMIUM, *flags, probe.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    m = re.search(r"<title>loaded (\d+) of (\d+)</title>", dom)
    assert m, "the page did not finish loading in Chromium"
    assert int(m.group(1)) == int(m.group(2)) >= 6
