"""What ``spikekit bench`` measures by default: its workloads and its peers (no imports, so ``spikekit
bench --help`` stays light)."""

from __future__ import annotations

# (T, B, F) shapes measured with memory, then the timing-only grid
MAIN_WORKLOADS = ((500, 16, 512), (500, 64, 512), (100, 16, 4096))
GRID = tuple((t, b, f) for t in (100, 500) for b in (16, 64) for f in (256, 1024))
QUICK_WORKLOADS = ((50, 8, 128),)
PEERS = ("snntorch", "spikingjelly", "norse")
