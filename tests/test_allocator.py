"""``spikekit.train.tune_allocator``: glibc keeps freed memory (checked on the process's resident size)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from spikekit.cli import main
from spikekit.train import tune_allocator

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt tuning is glibc only")

# Resident MiB after a 48 MiB tensor is written and freed, minus before: the default policy maps the
# buffer fresh and unmaps it on free (about 0); tuned, it comes from the heap and stays (about 48).
_KEPT = """
import os, sys, torch
from spikekit.train import tune_allocator
if sys.argv[1] == "tuned":
    assert tune_allocator()
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
before = rss()
x = torch.ones(12 << 20)
del x
print(rss() - before)
"""


def _kept_mib(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", _KEPT, mode], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


@glibc
def test_tuned_process_keeps_freed_buffers_default_gives_them_back():
    assert _kept_mib("default") < 8
    assert _kept_mib("tuned") > 40


@glibc
def test_cli_header_says_which_allocator(capsys):
    args = ["train", "--model", "spiking-mlp", "--epochs", "1", "--train-limit", "64", "--no-progress"]
    assert main(args) == 0
    assert "allocator: freed memory kept (glibc mmap threshold 64 MiB, no trim)" in capsys.readouterr().out


def test_bad_arguments():
    with pytest.raises(TypeError, match="mmap_threshold must be an int"):
        tune_allocator(True)
    with pytest.raises(TypeError, match="mmap_threshold must be an int"):
        tune_allocator(1.5)
    with pytest.raises(ValueError, match=r"mmap_threshold must lie in \(0, 2\*\*31\)"):
        tune_allocator(0)
    with pytest.raises(ValueError, match="mmap_threshold"):
        tune_allocator(2**31)
    code = main(["train", "--model", "spiking-mlp", "--allocator", "jemalloc", "--no-progress"])
    assert code != 0
