"""NIR (the Neuromorphic Intermediate Representation, Pedersen et al. 2024) export and import.

``export(model, sample)`` writes a spikekit model as a ``nir.NIRGraph``; ``import_(graph)`` builds a
spikekit module that runs one; ``write``/``read`` (and ``save``/``load``) move graphs through NIR's HDF5
files, which snnTorch, Norse, SpikingJelly, Sinabs, Rockpool, Lava and several chips read and write.
Needs the ``nir`` package (``pip install nir``).

Time. NIR's neurons are continuous-time, ``tau dv/dt = (v_leak - v) + r I``; spikekit's run in steps,
``v[t] = beta v[t-1] + x[t]``. One forward-Euler step of length ``dt`` of the ODE is
``v[t] = (1 - dt/tau) v[t-1] + (r dt / tau) I[t]``, so (as snnTorch, Norse and SpikingJelly map them):

    beta = 1 - dt / tau          tau = dt / (1 - beta)          input gain g = r dt / tau

with ``dt = 1e-4`` s by default (snnTorch's fixed value; pass Norse's importer the same ``dt``). Per layer:

========================  =========================================================================
spikekit                  NIR
========================  =========================================================================
Linear                    Affine (Linear if it has no bias)
Conv2d, TimeDistributed   Conv2d (zero padding)
Flatten                   Flatten (start/end without the batch and time axes)
AvgPool2d                 AvgPool2d
MaxPool2d of spikes       SumPool2d, then LIF(tau = dt, r = 1, v_threshold = 0.5): the window's max of
                          0/1 spikes is [sum > 0]; that LIF forgets its membrane every step. Exact.
BatchNorm after Conv/Lin  folded into it (running statistics)
IF (reset "zero")         IF(r = 1/dt, v_threshold = threshold)
LIF (reset "zero")        LIF(tau, r = 1, v_threshold = (1 - beta) threshold): the same spikes, with NIR's
                          membrane (1 - beta) times spikekit's (r = 1 is the form every importer reads)
PLIF (reset "zero")       LIF(tau = dt / sigmoid(w), r = 1, v_threshold = threshold) (decay_input=True)
Synaptic (reset "zero")   CubaLIF(tau_syn = dt/(1-alpha), tau_mem = dt/(1-beta), w_in = tau_syn/dt,
                          r = tau_mem/dt, v_threshold = threshold): unit gains, as snnTorch writes it
RLIF (reset "zero")       subgraph input -> LIF -> output, LIF -> Linear(W_rec) -> LIF, with the LIF at
                          r = tau/dt (snnTorch's RLeaky layout; the feedback uses last step's spikes)
reset "none" neuron       LI / I / CubaLI (the membrane, r = tau/dt: spikekit's units), then
                          Threshold(threshold) unless it is the model's membrane readout
========================  =========================================================================

Each neuron is written by its spec's NIR form (``NeuronSpec.nir``: ``"leaky"`` as IF/LIF above,
``"cuba"`` as Synaptic, ``"recurrent"`` as RLIF); import picks the neuron for a node by the same spec
fields (``nir_nodes``, or the ``"spikekit.module"`` metadata that PLIF writes, read by its ``nir_restore``).

Refused, with the module named: reset ``"subtract"`` (NIR's neurons reset to ``v_reset``), neurons whose
spec has no NIR form (RefractoryLIF, ALIF, SRM: with their spec's ``nir_reason``), non-spiking activations,
and anything else not above. ``detach_reset`` and surrogates are
training-time choices and are not written; learnable parameters are written at their current values.

Models. ``SpikingMLP``/``SpikingCNN`` export their inference path: the encoder stays outside the graph (with
``"direct"`` encoding the graph's input is the image, presented unchanged at every step; see
:func:`model_input`), the first layer is the graph's first node, and the membrane readout is an ``LI`` node
whose output (the output layer's membrane ``[T, B, C]``) :func:`readout` turns into logits.

Firing. spikekit fires at ``v >= threshold``; NIR, snnTorch and Norse at ``v > threshold``. They differ only
when a membrane equals its threshold exactly.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

try:
    import nir
except ImportError as err:  # pragma: no cover - exercised only without the optional dependency
    raise ImportError("spikekit.interop.nir needs the 'nir' package: pip install nir") from err

from .. import _io
from .._checks import check_positive_int, check_range, check_tensor
from ._nir_export import export_model
from ._nir_import import SUPPORTED, import_graph

__all__ = [
    "DEFAULT_DT",
    "SUPPORTED",
    "export",
    "import_",
    "write",
    "read",
    "save",
    "load",
    "decay_to_tau",
    "tau_to_decay",
    "model_input",
    "readout",
]

DEFAULT_DT = 1e-4  # seconds per step, snnTorch's fixed NIR time step
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _check_dt(dt: Any) -> float:
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not math.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be a float > 0 and finite (seconds per step), got {dt!r}")
    return float(dt)


def decay_to_tau(decay: float | torch.Tensor, dt: float = DEFAULT_DT):
    """NIR's time constant for a per-step decay: ``tau = dt / (1 - decay)`` (``decay`` in [0, 1)).

    Raises:
        ValueError: a decay outside [0, 1) (1 has no finite time constant), a ``dt`` that is not > 0.
    """
    check_range(decay, "decay_to_tau: decay", 0.0, 1.0, high_open=True)
    return _check_dt(dt) / (1 - decay)


def tau_to_decay(tau: float | torch.Tensor, dt: float = DEFAULT_DT):
    """The per-step decay of a forward-Euler step ``dt`` of ``tau dv/dt = -v``: ``1 - dt / tau``.

    Raises:
        ValueError: ``tau < dt`` (a negative decay: the Euler step is unstable), a ``dt`` that is not > 0.
    """
    dt = _check_dt(dt)
    check_range(tau, f"tau_to_decay: tau (seconds, at least dt = {dt:g})", dt, math.inf, high_open=True)
    return 1 - dt / tau


def export(
    model: nn.Module, sample: torch.Tensor, *, dt: float = DEFAULT_DT, include_readout: bool = True
) -> nir.NIRGraph:
    """Write ``model`` as a NIR graph.

    Args:
        model: an ``nn.Sequential`` chain (``TimeDistributed`` wrappers, nested Sequentials), one layer, or
            a ``SpikingMLP``/``SpikingCNN``. Not modified (export works on an eval-mode copy).
        sample: an input the model takes: a time-first sequence ``[T, B, ...]``, or for the reference models
            also an image batch ``[B, ...]``. Only its shape matters.
        dt: seconds per step, the ``dt`` of ``tau = dt / (1 - beta)``.
        include_readout: keep a reference model's membrane readout (an ``LI`` node); ``False`` ends the
            graph at the output layer's current, for importers without ``LI`` (snnTorch, Norse).

    Returns:
        a ``nir.NIRGraph`` with one ``input`` and one ``output`` node; its ``metadata`` holds ``dt`` and,
        for reference models, the encoder, ``T`` and the readout.

    Raises:
        ValueError: a layer NIR cannot express (the message names the module and says why).

    Example:
        >>> graph = export(model, images[:1])
        >>> write(graph, "model.nir")
    """
    return export_model(model, sample, dt, include_readout)


def import_(
    graph: nir.NIRGraph | str | os.PathLike, *, dt: float | None = None, dtype: torch.dtype | None = None
) -> nn.Module:
    """Build a spikekit module that runs ``graph`` (or the ``.nir`` file at that path).

    A chain becomes an ``nn.Sequential`` (node names with ``.`` become ``_``); any other acyclic graph a
    :class:`~spikekit.interop.layers.GraphModule`. Both take and return time-first ``[T, B, ...]`` and keep no
    state between calls.

    Args:
        graph: the graph or a path.
        dt: seconds per step for every node. Default: the graph's ``spikekit.dt`` (or ``dt``) metadata, else
            each neuron node's own step, read from its parameters as a unit-gain step (``IF``: ``1/r``, so
            Sinabs' and Norse's ``IF(r = 1)`` is ``v += x``; ``LIF``: ``tau/r`` when ``r > 1``, snnTorch's
            ``r = tau/dt``; a ``LIF`` with ``r = 1`` takes the step the rest of the graph implies, else 1 when
            its time constants are >= 1 (Sinabs' steps) or :data:`DEFAULT_DT`, with a ``UserWarning``). See
            docs/interop.md. Norse runs its graphs at ``dt = 1e-3`` (Norse 1.1.0's ``to_nir``: ``1e-6``).
        dtype: of the module's tensors (default: torch's default dtype); weights are copied at this
            precision, so ``torch.float64`` keeps a float64 graph exact.

    Raises:
        ValueError: a node type spikekit cannot import (named, with the supported types), a cycle other than
            a recurrent LIF/CubaLIF, a nonzero ``v_leak``/``v_reset``, ``tau < dt``.

    Warns:
        UserWarning: a leaky node whose step nothing in the graph decides (named, with the step assumed).
    """
    if isinstance(graph, (str, os.PathLike)):
        graph = read(graph)
    if dt is None:
        meta = getattr(graph, "metadata", None) or {}
        name = next((k for k in ("spikekit.dt", "dt") if k in meta), None)
        if name is not None:
            try:
                dt = float(np.asarray(meta[name]).item())
            except (TypeError, ValueError):
                raise ValueError(
                    f"import_: the graph's metadata {name!r} must be a number, got {meta[name]!r}; pass "
                    "dt=..."
                ) from None
    if dtype is not None and (not isinstance(dtype, torch.dtype) or not dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating torch.dtype (e.g. torch.float64) or None, got {dtype!r}")
    return import_graph(graph, None if dt is None else _check_dt(dt), dtype)


def write(graph: nir.NIRGraph, path: str | os.PathLike) -> Path:
    """Write ``graph`` to an HDF5 ``.nir`` file (``nir.write``); returns the path."""
    if not isinstance(graph, nir.NIRNode):
        raise TypeError(f"write: graph must be a NIR graph (from export), got {type(graph).__name__}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"write: {path} is a folder; give a file name such as model.nir")
    buffer = io.BytesIO()  # built in memory, then written atomically: never half a file under `path`
    try:
        nir.write(buffer, graph)
    except Exception as err:  # noqa: BLE001 - nir/h5py raise many types on a graph they cannot store
        raise ValueError(f"write: nir could not serialise the graph for {path}: {err}") from err
    return _io.atomic_write_bytes(path, buffer.getvalue())


def read(path: str | os.PathLike) -> nir.NIRGraph:
    """Read a ``.nir`` file (``nir.read``).

    Raises:
        FileNotFoundError / IsADirectoryError: no file at ``path``, or a folder.
        ValueError: the file is empty, not HDF5, truncated, or HDF5 that does not hold a NIR graph nir can
            read (the message names the file and says what nir or h5py found).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"read: path must be a str or a path, got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a NIR file; give the .nir file inside it")
    if not path.is_file():
        raise FileNotFoundError(f"no NIR file at {path}")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path}: empty file (0 bytes), not a NIR file; write it again")
    with open(path, "rb") as f:  # the signature is at 0, or after a user block of 512, 1024, 2048, ... bytes
        start = f.read(1 << 16)
    head = start[: len(_HDF5_SIGNATURE)]
    offsets = [0] + [1 << k for k in range(9, 16)]
    if not any(start[o : o + len(_HDF5_SIGNATURE)] == _HDF5_SIGNATURE for o in offsets):
        raise ValueError(
            f"{path}: not a NIR file: NIR files are HDF5, which start with the bytes {_HDF5_SIGNATURE!r}; "
            f"this one starts with {head!r}"
        )
    try:
        return nir.read(path)
    except Exception as err:  # noqa: BLE001 - h5py and nir raise OSError, KeyError, AssertionError, ...
        raise ValueError(
            f"{path}: not a readable NIR graph ({type(err).__name__}: "
            f"{str(err) or 'nir refused a node: an unknown node type or a malformed node'}); the file is "
            "truncated, corrupt or HDF5 of another kind"
        ) from err


def save(model: nn.Module, sample: torch.Tensor, path: str | os.PathLike, **kwargs: Any) -> nir.NIRGraph:
    """``write(export(model, sample, **kwargs), path)``; returns the graph."""
    graph = export(model, sample, **kwargs)
    write(graph, path)
    return graph


def load(path: str | os.PathLike, **kwargs: Any) -> nn.Module:
    """``import_(read(path), **kwargs)``."""
    return import_(read(path), **kwargs)


def model_input(model: nn.Module, images: torch.Tensor, steps: int | None = None) -> torch.Tensor:
    """The sequence ``[T, B, ...]`` that the graph of a ``SpikingMLP``/``SpikingCNN`` takes for ``images``.

    ``"direct"`` encoding: the images (flattened for the MLP) at every one of ``T`` steps (default: the
    model's). ``"poisson"``/``"flicker"``: the encoded sequence (random; draw it once and feed both). A
    sequence ``[T, B, ...]`` passes through (flattened for the MLP).
    """
    from ..encode import flicker, poisson
    from ..models import SpikingCNN, SpikingMLP

    check_tensor(images, "images")
    if not isinstance(model, SpikingMLP | SpikingCNN):
        raise TypeError(f"model_input: model must be a SpikingMLP or SpikingCNN, got {type(model).__name__}")
    t = model.steps if steps is None else check_positive_int(steps, "steps")
    static_dims = 2 if isinstance(model, SpikingMLP) else 4
    x = images.flatten(1) if isinstance(model, SpikingMLP) and images.dim() != 3 else images
    if isinstance(model, SpikingMLP) and images.dim() == 3:  # already [T, B, F]
        return images
    if x.dim() == static_dims + 1:
        return x.flatten(2) if isinstance(model, SpikingMLP) else x
    if model.encoder == "direct":
        return x.unsqueeze(0).expand(t, *x.shape)
    return poisson(x, t) if model.encoder == "poisson" else flicker(x, t)


def readout(model: nn.Module, output: torch.Tensor) -> torch.Tensor:
    """Logits from the graph's output ``[T, B, C]``, as the model reads them: the mean membrane
    (``readout="membrane"``) or the spike count (``"rate"``)."""
    check_tensor(output, "output")
    return output.mean(0) if getattr(model, "readout", "membrane") == "membrane" else output.sum(0)
