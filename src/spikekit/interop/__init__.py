"""Interop: NIR export and import (:mod:`spikekit.interop.nir`, needs the ``nir`` package), the Loihi/Lava
tensor layout and a check of what Loihi cannot run (:mod:`spikekit.interop.loihi`).

Example:
    >>> from spikekit.interop import nir as sknir
    >>> graph = sknir.export(model, images[:1]); sknir.write(graph, "model.nir")
    >>> same = sknir.import_(sknir.read("model.nir"))
"""

from .loihi import from_loihi_layout, loihi_check, to_loihi_layout

__all__ = ["to_loihi_layout", "from_loihi_layout", "loihi_check"]
