"""Neurons and losses built to behave like a peer library's, so that a port gets the peer's spikes *and*
gradients without knowing every convention that differs.

- :mod:`spikekit.compat.snntorch`: snnTorch 1.0 (``Leaky`` with its default delayed, gradient-detached
  reset; its surrogates; ``SF.ce_rate_loss`` and friends). Differences: docs/from-snntorch.md.

Layer 4 (docs/architecture.md): may import ``nn``, ``functional``, ``surrogate`` and ``decode``; never the
peer library itself.
"""

from . import norse, snntorch, spikingjelly

__all__ = ["norse", "snntorch", "spikingjelly"]
