"""Does backpropagation engender STDP? Measure it.

The original experiment (G. Chevalier 2018) claimed that backpropagation through time in a spiking
network whose membrane decays by a factor each step credits an input in proportion to how recently it
arrived before the neuron fired: the causal, potentiating half of spike-timing-dependent plasticity. This
package turns that claim into measurements:

- :func:`controlled_window` (controlled mode): one pre spike into one neuron driven to fire at ``t_post``;
  the gradient-implied change ``-dL/dw`` for each ``dt = t_post - t_pre``, its fitted two-sided exponential,
  causal fraction and, for LIF-type neurons, the time constant the decay predicts (``-1 / ln(decay)``).
- :func:`network_window` (in-network mode): a model and a labelled batch; per layer the BPTT gradient beside
  pair-based STDP from the same spike trains, their similarity, and the window reconstructed from all pairs.
- The two remedies the original proposed for the missing depression lobe: L2 weight decay (an option of
  both) and a negative after-potential (:class:`AfterPotential`, :func:`with_after_potential`).
- :func:`run_stdp_window`: the whole controlled-mode table (what ``spikekit stdp-window`` prints).

Example:
    >>> import spikekit as sk
    >>> w = sk.analysis.stdp_window("LIF", surrogate=sk.surrogate.atan())       # controlled mode
    >>> w.tau_plus, w.predicted_tau, w.causal_fraction
    >>> res = sk.analysis.stdp_window(model, batch=(images, labels))            # in-network mode
    >>> print(res.markdown())
    >>> sk.plot.stdp_window(res, path="layers.png")                              # its figure

The analysis returns data; figures are drawn by :func:`spikekit.plot.stdp_window` (a window, a list of them
or a ``network_window`` result) and :func:`spikekit.plot.stdp_window_grid` (a ``run_stdp_window`` table).
What it knows about a neuron comes from its spec (:class:`spikekit.functional.spec.NeuronSpec`).
"""

from __future__ import annotations

from torch import nn

from ..nn import Neuron
from ._neurons import membrane_decay, output_delay, predicted_tau
from .fit import ExpFit, WindowFit, causal_fraction, fit_exponential, fit_window
from .network import (
    LayerWindow,
    NetworkWindow,
    cosine_similarity,
    linear_neuron_pairs,
    network_window,
    pair_stdp,
    pair_window,
    sign_agreement,
)
from .profile import ConnectionProfile, NeuronProfile, Profile, profile
from .remedies import AfterPotential, AfterPotentialState, with_after_potential
from .table import NEURON_SPECS, REMEDIES, SURROGATES, STDPTable, run_stdp_window, table_neurons
from .window import LOSSES, STDPWindow, controlled_window

__all__ = [
    "stdp_window",
    "controlled_window",
    "network_window",
    "run_stdp_window",
    "STDPWindow",
    "NetworkWindow",
    "LayerWindow",
    "STDPTable",
    "WindowFit",
    "ExpFit",
    "fit_window",
    "fit_exponential",
    "causal_fraction",
    "pair_stdp",
    "pair_window",
    "cosine_similarity",
    "sign_agreement",
    "linear_neuron_pairs",
    "AfterPotential",
    "AfterPotentialState",
    "with_after_potential",
    "membrane_decay",
    "predicted_tau",
    "output_delay",
    "LOSSES",
    "SURROGATES",
    "REMEDIES",
    "NEURON_SPECS",
    "table_neurons",
    "profile",
    "Profile",
    "ConnectionProfile",
    "NeuronProfile",
]


def stdp_window(target, batch=None, **kwargs):
    """The STDP window backpropagation implies, in one of two modes.

    - ``stdp_window(neuron, **kw)``: controlled mode, :func:`controlled_window` (``neuron`` a name, class or
      instance of a spikekit neuron).
    - ``stdp_window(model, batch=(inputs, targets), **kw)``: in-network mode, :func:`network_window`.

    Returns:
        An :class:`STDPWindow` (controlled) or a :class:`NetworkWindow` (in a network).
    """
    if batch is None:
        if isinstance(target, nn.Module) and not isinstance(target, (Neuron, AfterPotential)):
            raise TypeError(
                f"stdp_window got a {type(target).__name__} model without a batch: pass "
                "batch=(inputs, targets) for the in-network mode, "
                "or a spikekit neuron for the controlled mode"
            )
        return controlled_window(target, **kwargs)
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError(f"batch must be a pair (inputs, targets), got {type(batch).__name__}")
    return network_window(target, batch[0], batch[1], **kwargs)
