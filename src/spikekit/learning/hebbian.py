r"""Rate-free Hebbian rules: the simple threshold rule and Oja's normalised rule.

**Hebbian** (the rule of a well-read introduction to SNNs): when post-synaptic neuron ``j`` fires,
weights from inputs above ``pre_threshold`` grow by ``lr`` and weights from all other inputs shrink by
``lr``:

.. math::
    \Delta w_{ji} = \eta \, s^{post}_j \,\big(2\,\mathbb{1}[x_i > \theta_{pre}] - 1\big)

The introduction pairs it with a layer whose state halves each step, fires past 0.6 and resets to zero:
``spikekit.nn.LIF(beta=0.5, threshold=0.6, reset="zero")``.

**Oja** (1982): Hebbian growth with a decay that keeps each neuron's weight vector at unit norm,

.. math::
    \Delta w_{ji} = \eta \, y_j \,(x_i - y_j \, w_{ji})

with ``y`` the post-synaptic activity (spikes, rates or a trace) and ``x`` the pre-synaptic activity.
For a linear neuron ``y = w . x`` it converges to the first principal component of ``x``.

Both are summed over the batch (``reduce="sum"``) or averaged (``"mean"``); neither has traces, so
their state is the empty :class:`~spikekit.learning.base.EmptyState`.
"""

from __future__ import annotations

from . import validate as V
from .base import EmptyState, LocalRule
from .connection import Connection

__all__ = ["Hebbian", "Oja"]


class Hebbian(LocalRule):
    """The simple Hebbian rule: ``dw = lr * post * (+1 if pre > pre_threshold else -1)``.

    Args:
        lr: step size ``eta`` (>= 0); the introduction used 0.05.
        pre_threshold: inputs above it count as active (0.6 in the introduction; any value in [0, 1)
            for binary spikes).
        w_min, w_max: optional weight bounds (``None``: unbounded), applied after every step.
        reduce: ``"sum"`` or ``"mean"`` over the batch.

    Example:
        >>> layer = nn.Linear(4, 2, bias=False)
        >>> syn = Hebbian(lr=0.05).attach(layer)
        >>> syn.step(torch.tensor([[1.0, 0.0, 1.0, 0.0]]), torch.tensor([[1.0, 0.0]]))
        >>> # row 0 changed by [+0.05, -0.05, +0.05, -0.05]; row 1 unchanged
    """

    State = EmptyState

    def __init__(
        self,
        lr: float = 0.05,
        pre_threshold: float = 0.6,
        *,
        w_min: float | None = None,
        w_max: float | None = None,
        reduce: str = "sum",
    ) -> None:
        name = type(self).__name__
        self.lr = V.nonnegative(lr, f"{name}: lr")
        self.pre_threshold = V.real(pre_threshold, f"{name}: pre_threshold")
        self.w_min, self.w_max = V.bounds(w_min, w_max, name, allow_none=True)
        self._set_reduce(reduce)

    def delta(self, conn: Connection, pre, post, state, reward=None):
        sign = (pre > self.pre_threshold).to(pre.dtype) * 2 - 1  # a conv's zero padding adds 0, not -1
        return self._reduced(self.lr * conn.outer(post, sign), pre.shape[0]), EmptyState()


class Oja(LocalRule):
    """Oja's rule: ``dw_ji = lr * y_j * (x_i - y_j * w_ji)``.

    Args:
        lr: learning rate (>= 0).
        w_min, w_max: optional weight bounds (``None``: unbounded).
        reduce: ``"sum"`` or ``"mean"`` over the batch.

    Example:
        >>> layer = nn.Linear(10, 1, bias=False)
        >>> syn = Oja(lr=1e-3).attach(layer)
        >>> for x in data:                       # [B, 10]
        ...     syn.step(x, layer(x))            # y = w . x: converges to the first principal component
    """

    State = EmptyState

    def __init__(
        self,
        lr: float = 0.01,
        *,
        w_min: float | None = None,
        w_max: float | None = None,
        reduce: str = "sum",
    ) -> None:
        name = type(self).__name__
        self.lr = V.nonnegative(lr, f"{name}: lr")
        self.w_min, self.w_max = V.bounds(w_min, w_max, name, allow_none=True)
        self._set_reduce(reduce)

    def delta(self, conn: Connection, pre, post, state, reward=None):
        dw = conn.outer(post, pre) - conn.post_sum(post * post) * conn.weight
        return self._reduced(self.lr * dw, pre.shape[0]), EmptyState()
