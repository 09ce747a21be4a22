"""The C++ engine of the ``"fused"`` backend on the CPU.

The source (:mod:`spikekit.kernels._cpp_source`) is compiled on first use with
:func:`torch.utils.cpp_extension.load_inline` and cached by PyTorch in its extensions directory (a user
cache directory: ``$TORCH_EXTENSIONS_DIR``, else ``~/.cache/torch_extensions``), so later processes load
it in well under a second. If it cannot be built (no C++ compiler, no Python headers), :func:`available`
is ``False``, a warning says why once, and ``"fused"`` runs the PyTorch engine instead (same algorithm,
same results; :func:`spikekit.kernels.engine_name` tells which runs).

Same functions and contract as :mod:`spikekit.kernels.torch_engine`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import warnings
from types import ModuleType

import torch

from ._cpp_source import FUNCTIONS, SOURCE
from ._spec import (
    DENSE_RLIF,
    FAMILY_CODES,
    FAMILY_LAYOUT,
    FORM_PLIF,
    RESETS,
    opmath,
    per_neuron,
    surrogate_code,
)
from ._validate import check_codes, check_engine

DTYPES = (torch.float32, torch.float64, torch.bfloat16)  # what the C++ source dispatches on

NAME = "cpp"

# What LIFFunction may ask of this engine beyond the common contract: a forward that keeps no membrane
# (lif_forward_checkpointed: the state every few steps instead; lif_backward(..., checkpoints=...)
# recomputes h from the input, a chunk of steps at a time, while it is in the cache), and inputs and output
# gradients that are the same at every step (one row, row stride 0, as ``row.expand(T, M)``: the direct
# encoding's input current, the gradient of a sum) read without a copy.
RECOMPUTES_H = True
BROADCAST_ROWS = True
RECOMPUTE_BYTES = 1 << 19  # h of one chunk of steps x RECOMPUTE_WIDTH neurons, recomputed in the backward
RECOMPUTE_WIDTH = 8192  # the C++ source's kRecomputeWidth

# No fused multiply-add (spikes must equal the reference bit for bit); -fno-trapping-math lets GCC
# vectorize the compare-and-select loops (10x here) without changing any result.
BASE_FLAGS = ["-O3", "-ffp-contract=off", "-fno-trapping-math", "-fopenmp"]


def _flags() -> list[str]:
    """Compiler flags; AVX2 where PyTorch itself runs AVX2 kernels (the cache name includes the flags)."""
    capability = torch.backends.cpu.get_cpu_capability()
    return BASE_FLAGS + (["-mavx2"] if capability in ("AVX2", "AVX512") else [])


def build(
    prefix: str, what: str, source: str, functions: list[str], flags: list[str], fallback: str
) -> ModuleType | None:
    """Compile ``source`` with ``load_inline`` (cached by PyTorch under a name hashing source, flags, torch
    version and torch's folder); ``None``, with one warning saying ``what`` failed and ``fallback``, if it
    cannot be."""
    from torch.utils.cpp_extension import load_inline

    # torch's folder: two virtual environments would otherwise share one build folder whose ninja file
    # names the other's headers, and rebuild it (a minute or two) each time the other one ran
    key = source + " ".join(flags) + torch.__version__ + os.path.dirname(torch.__file__)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    if not _built(f"{prefix}_{digest}"):  # a minute of silence otherwise: say what is happening
        print(f"spikekit: compiling {what} (once per PyTorch installation; about a minute)", file=sys.stderr)
    try:
        return load_inline(
            name=f"{prefix}_{digest}",
            cpp_sources=source,
            functions=functions,
            extra_cflags=flags,
            extra_ldflags=["-fopenmp"],
            verbose=False,
        )
    except (RuntimeError, OSError, ImportError) as err:  # compiler or headers missing, build failed
        lines = str(err).strip().splitlines()
        reason = lines[-1] if lines else type(err).__name__
        warnings.warn(
            f"spikekit: {what} could not be built ({reason}); {fallback}",
            RuntimeWarning,
            stacklevel=4,
        )
        return None


def _built(name: str) -> bool:
    """Whether PyTorch's extension cache already holds the compiled ``name`` (the directory
    ``torch.utils.cpp_extension`` builds it in)."""
    from torch.utils.cpp_extension import get_default_build_root

    root = os.environ.get("TORCH_EXTENSIONS_DIR")
    if root is None:
        accel = f"cu{torch.version.cuda.replace('.', '')}" if torch.version.cuda else "cpu"
        root = os.path.join(
            get_default_build_root(), f"py{sys.version_info.major}{sys.version_info.minor}_{accel}"
        )
    return os.path.exists(os.path.join(root, name, f"{name}.so"))


AVX512_FLAGS = ["-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx512bw", "-mprefer-vector-width=512"]


def _engine_flags() -> list[str]:
    """The engine's own flags: :func:`_flags`, plus AVX-512 where PyTorch runs AVX-512 kernels (16 floats
    per register in the LIF loops; wider vectors change no result: each neuron's arithmetic is its own)."""
    return _flags() + (AVX512_FLAGS if torch.backends.cpu.get_cpu_capability() == "AVX512" else [])


@functools.lru_cache(maxsize=1)
def _load() -> ModuleType | None:
    return build(
        "spikekit_fused",
        "the C++ engine of the 'fused' backend",
        SOURCE,
        FUNCTIONS,
        _engine_flags(),
        "'fused' runs its PyTorch engine instead",
    )


def available() -> bool:
    """Whether the C++ engine is built (building it now if needed)."""
    return _load() is not None


def _ext() -> ModuleType:
    ext = _load()
    if ext is None:  # pragma: no cover - dispatch checks available() first
        raise RuntimeError("spikekit: the C++ engine is not available on this machine")
    return ext


def param(p: torch.Tensor | None, step_shape: torch.Size, dtype: torch.dtype) -> torch.Tensor | None:
    """Parameters as ``[M]`` arrays in the arithmetic dtype (float32 for 16-bit inputs)."""
    return None if p is None else per_neuron(p, step_shape, opmath(dtype))


def _code(spec) -> tuple[int, float]:
    code = surrogate_code(spec.surrogate)
    return code if code is not None else (0, 2.0)  # unused: graded refractory neurons never call it


def _check(fn: str, x, **groups) -> None:
    check_engine(f"cpp.{fn}", x, dtypes=DTYPES, device="cpu", param_dtype=opmath(x.dtype), **groups)


def lif_forward(x, v, a, thr, form: int, reset: str):
    check_codes("cpp.lif_forward", form, reset, a)
    _check("lif_forward", x, vecs={"v": v}, params={"a": a, "thr": thr}, broadcast_rows=True)
    return _ext().lif_forward(x, v, a, thr, form, RESETS[reset])


def checkpoint_steps(x: torch.Tensor) -> int:
    """Steps between two checkpoints for ``x [T, M]``: one chunk of recomputed h takes about
    :data:`RECOMPUTE_BYTES`."""
    steps, m = x.shape
    return max(1, min(steps, RECOMPUTE_BYTES // (max(1, min(m, RECOMPUTE_WIDTH)) * x.element_size())))


def lif_forward_checkpointed(x, v, a, thr, form: int, reset: str, store_h: bool, keep: bool = True):
    """The forward for a backward that recomputes h: ``(spikes, h or None, final v, checkpoints)``, the
    checkpoints (the state every ``K`` steps, ``(ck [ceil(T / K) - 1, M], K)``) for :func:`lif_backward`;
    ``keep=False`` (no backward to come): none (``K = T``)."""
    check_codes("cpp.lif_forward_checkpointed", form, reset, a)
    _check("lif_forward_checkpointed", x, vecs={"v": v}, params={"a": a, "thr": thr}, broadcast_rows=True)
    steps = checkpoint_steps(x) if keep else max(1, x.shape[0])
    s, h, v, ck = _ext().lif_forward_ck(x, v, a, thr, form, RESETS[reset], steps, store_h)
    return s, (h if store_h else None), v, (ck, steps)


def _check_checkpoints(x: torch.Tensor, ck, steps) -> None:
    where = "spikekit engine cpp.lif_backward"
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(
            f"{where}: the checkpoints' K (steps between two) must be an int >= 1, got {steps!r}"
        )
    rows = -(-x.shape[0] // steps) - 1
    check_engine(
        "cpp.lif_backward", x, dtypes=DTYPES, device="cpu", param_dtype=None, broadcast_rows=True,
        seqs=None, vecs=None,
    )  # fmt: skip
    if not isinstance(ck, torch.Tensor) or tuple(ck.shape) != (rows, x.shape[1]):
        got = tuple(ck.shape) if isinstance(ck, torch.Tensor) else type(ck).__name__
        raise ValueError(
            f"{where}: checkpoints must be [ceil(T / K) - 1, M] = {(rows, x.shape[1])}, got {got}"
        )
    if ck.dtype != x.dtype or ck.device != x.device or not ck.is_contiguous():
        raise ValueError(f"{where}: checkpoints must be a contiguous tensor of x's dtype and device")


def lif_backward(saved, v0, a, thr, spec, gs, gh, gv_end, need_a: bool, need_thr: bool, checkpoints=None):
    """The common contract. With ``checkpoints`` (from :func:`lif_forward_checkpointed`) ``saved`` is the
    input ``x`` and the kernel recomputes ``h`` from it; so it does for ``FORM_PLIF``, which always saves
    ``x`` (its checkpoints are made here when not given). ``gs``/``gh`` may be broadcast over time."""
    check_codes("cpp.lif_backward", spec.form, spec.reset, a)
    _check(
        "lif_backward", saved, seqs={"gs": gs, "gh": gh}, vecs={"v0": v0, "gv_end": gv_end},
        params={"a": a, "thr": thr}, broadcast_rows=True,
    )  # fmt: skip
    if checkpoints is None and spec.form == FORM_PLIF:
        checkpoints = lif_forward_checkpointed(saved, v0.clone(), a, thr, spec.form, spec.reset, False)[3]
    gu = gv_end.clone() if gv_end is not None else torch.zeros_like(v0)
    kind, sp = _code(spec)
    args = (v0, a, thr, gs, gh, gu, spec.form, RESETS[spec.reset], spec.detach, kind, sp, need_a, need_thr)
    if checkpoints is None:
        gx, gu, ga, gthr = _ext().lif_backward(saved, None, *args)
    else:
        ck, steps = checkpoints
        _check_checkpoints(saved, ck, steps)
        gx, gu, ga, gthr = _ext().lif_backward_recompute(saved, ck, steps, *args)
    return gx, gu, (ga if need_a else None), (gthr if need_thr else None)


def refractory_forward(x, c, o, d, thr, cp, spec, record_v: bool):
    _check("refractory_forward", x, vecs={"c": c, "o": o}, params={"d": d, "thr": thr, "cp": cp})
    out, v, h, c, o = _ext().refractory_forward(
        x, c, o.clone(), d, thr, cp, spec.reset == "seed", spec.spike == "graded", record_v
    )
    return out, (v if record_v else None), h, c, o


def refractory_backward(h_all, c0, d, thr, cp, spec, g_out, g_v, gc_end, go_end, needs):
    _check(
        "refractory_backward", h_all, seqs={"g_out": g_out, "g_v": g_v},
        vecs={"c0": c0, "gc_end": gc_end, "go_end": go_end}, params={"d": d, "thr": thr, "cp": cp},
    )  # fmt: skip
    kind, sp = _code(spec)
    gx, carry, gd, gthr, gcp = _ext().refractory_backward(
        h_all,
        c0,
        d,
        thr,
        cp,
        g_out,
        g_v,
        gc_end,
        go_end,
        spec.reset == "seed",
        spec.spike == "graded",
        kind,
        sp,
        needs[0],
    )
    gc0 = carry if g_v is None else carry + g_v[0]
    go0 = g_out[0] if g_out is not None else torch.zeros_like(c0)
    return gx, gc0, go0, (gd if needs[0] else None), (gthr if needs[1] else None), (gcp if needs[2] else None)


def family_forward(family: str, x, state: list, params: list, reset: str):
    """A state-layout family's forward (:mod:`spikekit.kernels.families`): ``x [T, M]``, states and
    parameters ``[M]`` in ``x``'s dtype (float32 or float64). Returns ``(spikes, saved sequences (the
    membrane first), final states)``; the states are updated in place."""

    if family == DENSE_RLIF:
        return _dense_forward(x, state, params, reset)
    code, (n_state, n_params, n_saved) = FAMILY_CODES[family], FAMILY_LAYOUT[family]
    check_codes(f"cpp.{family}_forward", reset=reset)
    _check_family(f"{family}_forward", x, state, params, n_state, n_params)
    res = _ext().family_forward(code, x, list(state), list(params), RESETS[reset])
    return res[0], res[1 : 1 + n_saved], res[1 + n_saved :]


def _check_family(fn: str, x, state, params, n_state: int, n_params: int, seqs=None) -> None:
    if len(state) != n_state or len(params) != n_params:
        raise ValueError(
            f"spikekit engine cpp.{fn}: needs {n_state} state and {n_params} parameter tensors, got "
            f"{len(state)} and {len(params)}"
        )
    vecs = {f"state[{i}]": t for i, t in enumerate(state)}
    vecs.update({f"params[{i}]": t for i, t in enumerate(params)})
    check_engine(f"cpp.{fn}", x, dtypes=FAMILY_DTYPES, device="cpu", param_dtype=None, seqs=seqs, vecs=vecs)


FAMILY_DTYPES = (torch.float32, torch.float64)  # the state-layout families compute in the storage dtype


def family_backward(family: str, saved: list, state0: list, params: list, spec, gout, gh, gstate: list):
    """Hand-written backward of :func:`family_forward`: ``saved`` as it returned them (the membrane
    first), ``gstate`` the final state's gradient (zeros where none). Returns ``(gx, [gradient of each
    initial state field], [gradient of each parameter])``."""

    if family == DENSE_RLIF:
        return _dense_backward(saved, state0, params, spec, gout, gh, gstate)
    code, (n_state, n_params, n_saved) = FAMILY_CODES[family], FAMILY_LAYOUT[family]
    check_codes(f"cpp.{family}_backward", reset=spec.reset)
    if len(saved) != n_saved or len(gstate) != n_state:
        raise ValueError(
            f"spikekit engine cpp.{family}_backward: needs {n_saved} saved sequences and {n_state} state "
            f"gradients, got {len(saved)} and {len(gstate)}"
        )
    seqs = {f"saved[{i}]": t for i, t in enumerate(saved[1:], 1)} | {"gout": gout, "gh": gh}
    _check_family(f"{family}_backward", saved[0], state0, params, n_state, n_params, seqs=seqs)
    check_engine(
        f"cpp.{family}_backward", saved[0], dtypes=FAMILY_DTYPES, device="cpu", param_dtype=None,
        vecs={f"gstate[{i}]": t for i, t in enumerate(gstate)},
    )  # fmt: skip
    kind, sp = _code(spec)
    res = _ext().family_backward(
        code, list(saved), list(state0), list(params), gout, gh, [g.clone() for g in gstate],
        RESETS[spec.reset], spec.detach, kind, sp,
    )  # fmt: skip
    return res[0], res[1 : 1 + n_state], res[1 + n_state :]


def _check_dense(fn: str, x, state, params, seqs=None) -> None:
    if len(state) != 2 or len(params) != 3:
        raise ValueError(
            f"spikekit engine cpp.{fn}: needs 2 state and 3 parameter tensors, got {len(state)} and "
            f"{len(params)}"
        )
    w = params[0]
    if not isinstance(w, torch.Tensor) or w.dim() != 2 or w.shape[0] != w.shape[1] or w.shape[0] == 0:
        raise ValueError(f"spikekit engine cpp.{fn}: params[0] must be a weight [N, N]")
    n = w.shape[0]
    if x.dim() == 2 and x.shape[1] % n:
        raise ValueError(f"spikekit engine cpp.{fn}: x's {x.shape[1]} neurons are not a multiple of N = {n}")
    if w.dtype != x.dtype or w.device != x.device or not w.is_contiguous():
        raise TypeError(
            f"spikekit engine cpp.{fn}: params[0] (W) must be a contiguous tensor of x's dtype {x.dtype}"
        )
    _check_family(fn, x, state, params[1:], 2, 2, seqs=seqs)


def _dense_forward(x, state, params, reset: str):
    """The dense RLIF's forward: ``params = (W [N, N], beta [M], threshold [M])``, ``M = B N``."""
    check_codes("cpp.rlif_dense_forward", reset=reset)
    _check_dense("rlif_dense_forward", x, state, params)
    out, h, v, s = _ext().rlif_dense_forward(x, state[0], state[1], *params, RESETS[reset])
    return out, [h], [v, s]


def _dense_backward(saved, state0, params, spec, gout, gh, gstate):
    check_codes("cpp.rlif_dense_backward", reset=spec.reset)
    if len(saved) != 1 or len(gstate) != 2:
        raise ValueError(
            "spikekit engine cpp.rlif_dense_backward: needs 1 saved sequence and 2 state gradients, got "
            f"{len(saved)} and {len(gstate)}"
        )
    seqs = {"gout": gout, "gh": gh}
    _check_dense("rlif_dense_backward", saved[0], state0, params, seqs=seqs)
    check_engine(
        "cpp.rlif_dense_backward", saved[0], dtypes=FAMILY_DTYPES, device="cpu", param_dtype=None,
        vecs={f"gstate[{i}]": t for i, t in enumerate(gstate)},
    )  # fmt: skip
    kind, sp = _code(spec)
    gx, gv, gs, gw, gb, gt = _ext().rlif_dense_backward(
        saved[0], state0[0], state0[1], *params, gout, gh, gstate[0].clone(), gstate[1].clone(),
        RESETS[spec.reset], spec.detach, kind, sp,
    )  # fmt: skip
    return gx, [gv, gs], [gw, gb, gt]
