"""Long sequences: carry the states of a model's layers from one call to the next, and checkpoint time.

Every stateful layer of spikekit is stateless between calls (``run(x, state) -> (out, final_state)``). Two
tools build on that contract for sequences too long for one autograd graph:

- :class:`Stream`: inside ``with Stream(model):`` each stateful layer of ``model`` (every
  :class:`~spikekit.nn.Neuron`, :class:`~spikekit.nn.LinearLIF`, :class:`~spikekit.nn.Delay`) starts a
  call from the state its previous call in the stream ended with, so calling ``model`` on the chunks of a
  sequence gives the output of one call on the whole sequence. The states live in the stream object
  (``stream.states``); ``stream.detach()`` cuts the graph between chunks (truncated backpropagation
  through time). Outside the block nothing changes.
- :func:`checkpoint_time` runs a time-first module ``[T, B, ...] -> [T, B, ...]`` in chunks of ``every``
  steps, each under :func:`torch.utils.checkpoint.checkpoint`, threading the layer states from chunk to
  chunk: backward keeps only the chunks' inputs, the states at the chunk boundaries and the output, and
  recomputes everything inside a chunk (one more forward pass). Same output (bit for bit) and gradients
  (to float rounding) as the plain call. :func:`checkpointing` applies it, for the duration of a
  ``with`` block, to the parts of a model that the model declares ``chunkable`` (what
  ``fit(..., TrainConfig(checkpoint_every=K))`` uses).

A layer whose output at step ``t`` depends on other steps than through its state cannot be chunked
exactly: a BatchNorm that normalises with batch statistics (training mode) is refused inside a chunk (in an
``nn.Sequential`` it runs over the whole sequence between chunked runs), and a module with a state of its
own that these tools do not know (one with a ``run`` method that is not one of the layers above, e.g.
``spikekit.quant.QuantLIF``) is refused by name. Dropout draws its masks chunk by chunk (the same
distribution, other numbers than one call on the whole sequence); checkpointing replays them in backward.
"""

from __future__ import annotations

import functools
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .._checks import check_positive_int, check_tensor, check_time_first
from .delay import Delay
from .linear_lif import LinearLIF
from .neuron import Neuron

__all__ = ["Stream", "checkpoint_time", "checkpointing", "stateful_layers"]

CARRIED = (Neuron, LinearLIF, Delay)
"""The layer types whose state a :class:`Stream` carries."""

# The methods every call of a carried layer goes through: each takes ``(x, state, ...)`` (``state=None``:
# rest) and returns a tuple whose last element is the final state. ``Neuron.run``/``trace``/``forward`` and
# ``LinearLIF``'s go through ``_run``; ``step`` does not.
_METHODS = {Neuron: ("_run", "step"), LinearLIF: ("_run", "step"), Delay: ("run",)}

# The streams active on each layer, innermost last (checkpoint_time reads and writes the innermost).
_ACTIVE: weakref.WeakKeyDictionary[nn.Module, list[Stream]] = weakref.WeakKeyDictionary()


def _methods_of(layer: nn.Module) -> tuple[str, ...]:
    for cls, names in _METHODS.items():
        if isinstance(layer, cls):
            return names
    raise TypeError(f"{type(layer).__name__} is not a layer a Stream carries")  # pragma: no cover


def stateful_layers(model: nn.Module, owner: str = "stateful_layers") -> list[tuple[str, nn.Module]]:
    """The layers of ``model`` that carry a state from step to step, as ``(name, layer)``.

    Names are those of ``model.named_modules()`` (``""`` for ``model`` itself). A carried layer's own
    submodules are not listed (``LinearLIF.lif`` runs as part of ``LinearLIF``).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: ``model`` holds a module with a ``run`` method (a state of its own) that is not a
            carried layer type (:data:`CARRIED`): its state would silently restart at every chunk.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"{owner}: model must be an nn.Module, got {type(model).__name__}")
    found: list[tuple[str, nn.Module]] = []
    seen: set[int] = set()

    def walk(module: nn.Module, name: str) -> None:
        if id(module) in seen:
            return
        seen.add(id(module))
        if isinstance(module, CARRIED):
            found.append((name, module))
            return
        if callable(getattr(type(module), "run", None)):
            raise ValueError(
                f"{owner}: {name or 'the model'} ({type(module).__name__}) keeps a state of its own between "
                "steps, which only spikekit.nn's neuron layers, LinearLIF and Delay can carry from chunk "
                "to chunk; run it on the whole sequence, without chunks"
            )
        for child_name, child in module.named_children():
            walk(child, f"{name}.{child_name}" if name else child_name)

    walk(model, "")
    return found


def _check_states(states: Any, names: Sequence[str], owner: str) -> dict[str, Any]:
    if not isinstance(states, Mapping):
        raise TypeError(
            f"{owner}: states must be a mapping {{layer name: state or None}} (as stream.states gives), "
            f"got {type(states).__name__}"
        )
    unknown = [k for k in states if k not in names]
    if unknown:
        raise ValueError(f"{owner}: no stateful layer named {unknown[0]!r}; the layers are {list(names)}")
    for k, s in states.items():
        if s is not None and not (isinstance(s, tuple) and all(isinstance(t, torch.Tensor) for t in s)):
            raise TypeError(
                f"{owner}: the state of {k!r} must be None (rest) or a state tuple of tensors, as the "
                f"layer's run() returns, got {type(s).__name__}"
            )
    return {n: states.get(n) for n in names}


class Stream:
    """Carry the state of every stateful layer of ``model`` from one call to the next, inside ``with``.

    Inside ``with stream:`` a call of a stateful layer of ``model`` (a :class:`~spikekit.nn.Neuron`,
    :class:`~spikekit.nn.LinearLIF` or :class:`~spikekit.nn.Delay`, through ``forward``, ``run``, ``trace``
    or ``step``) that gets no state (``None``, the default) starts from the state the layer's previous call
    in this stream ended with (rest for its first), and the state it ends with is kept in the stream. A call
    given an explicit state starts from it (and its final state is kept too). So for any model built from
    these layers and stateless time-first modules, ``model(x[:k])`` then ``model(x[k:])`` in one stream give
    ``model(x)``, and ``stream.detach()`` between them truncates backpropagation through time.

    The states are the stream's, not the layers': ``stream.states`` (a dict ``{layer name: state or
    None}``, names as in ``model.named_modules()``) can be read, saved and assigned; leaving the block keeps
    them, and entering it again continues from them. Outside the block the layers behave as always.

    A layer that gets no state twice during one call of ``model`` (the same module used at two places) is
    refused: a stream holds one state per layer. A module with a state that a stream does not know is
    refused when the stream is made (see :func:`stateful_layers`).

    Args:
        model: a module containing stateful spikekit layers.
        states: the states to start from (default: all at rest).

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 8), sk.nn.LIF())
        >>> x = torch.rand(100, 2, 3)
        >>> with sk.nn.Stream(net) as stream:
        ...     a = net(x[:60])
        ...     b = net(x[60:])                    # continues from the states at step 60
        >>> torch.equal(torch.cat([a, b]), net(x))
        True
    """

    def __init__(self, model: nn.Module, states: Mapping[str, Any] | None = None) -> None:
        self.model = model
        layers = stateful_layers(model, "Stream")
        if not layers:
            raise ValueError(
                f"Stream: {type(model).__name__} contains no stateful spikekit layer (a neuron layer, "
                "LinearLIF or Delay): there is no state to carry from one call to the next"
            )
        self._layers: dict[str, nn.Module] = dict(layers)
        self._names: dict[int, str] = {id(m): n for n, m in layers}
        self._states: dict[str, Any] = {n: None for n in self._layers}
        if states is not None:
            self.states = states
        self._active = False
        self._saved: list[tuple[nn.Module, str, Any]] = []
        self._hooks: list[Any] = []
        self._depth = 0  # nesting of model calls in progress
        self._seen: set[str] = set()  # layers started from the stream during the current model call

    # --- states -----------------------------------------------------------------------------------
    @property
    def layers(self) -> dict[str, nn.Module]:
        """The stateful layers, by name (as in ``model.named_modules()``)."""
        return dict(self._layers)

    @property
    def states(self) -> dict[str, Any]:
        """``{layer name: state}``: where each layer's next call starts (``None``: rest). A copy."""
        return dict(self._states)

    @states.setter
    def states(self, states: Mapping[str, Any]) -> None:
        self._states = _check_states(states, list(self._layers), "Stream")  # absent names: rest

    def detach(self) -> None:
        """Detach every state from the autograd graph (values unchanged): backpropagation through later
        calls stops at this point (truncated BPTT)."""
        self._states = {
            n: None if s is None else type(s)(*(t.detach() for t in s)) for n, s in self._states.items()
        }

    def reset(self) -> None:
        """Put every layer back to rest."""
        self._states = {n: None for n in self._states}

    # --- the block --------------------------------------------------------------------------------
    def __enter__(self) -> Stream:
        if self._active:
            raise RuntimeError("Stream: this stream is already active (a stream cannot be entered twice)")
        try:
            for name, layer in self._layers.items():
                for method in _methods_of(layer):
                    before = layer.__dict__.get(method, _ABSENT)
                    self._saved.append((layer, method, before))
                    setattr(layer, method, self._wrapper(layer, name, method))
                _ACTIVE.setdefault(layer, []).append(self)
            self._hooks = [
                self.model.register_forward_pre_hook(self._begin_call),
                self.model.register_forward_hook(self._end_call, always_call=True),
            ]
        except BaseException:
            self._restore()
            raise
        self._active = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self._restore()

    def _restore(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
        for layer, method, before in reversed(self._saved):
            if before is _ABSENT:
                layer.__dict__.pop(method, None)
            else:
                layer.__dict__[method] = before
        self._saved = []
        for layer in self._layers.values():
            stack = _ACTIVE.get(layer)
            if stack and self in stack:
                stack.remove(self)
                if not stack:
                    del _ACTIVE[layer]
        self._active, self._depth, self._seen = False, 0, set()

    def _wrapper(self, layer: nn.Module, name: str, method: str) -> Callable[..., Any]:
        # the class's method, not whatever is reached now (an outer stream's wrapper)
        fn = getattr(type(layer), method).__get__(layer, type(layer))

        @functools.wraps(fn)
        def call(x: Any, state: Any = None, *args: Any, **kwargs: Any) -> Any:
            if state is None:
                state = self._take(name)
            result = fn(x, state, *args, **kwargs)
            self._states[name] = result[-1]
            return result

        return call

    def _begin_call(self, *_: Any) -> None:
        if self._depth == 0:
            self._seen = set()
        self._depth += 1

    def _end_call(self, *_: Any) -> None:
        self._depth = max(0, self._depth - 1)

    def _take(self, name: str) -> Any:
        """The state ``name`` starts from, refusing a second start within one call of the model."""
        if self._depth > 0:
            if name in self._seen:
                layer = self._layers[name]
                raise RuntimeError(
                    f"Stream: {name} ({type(layer).__name__}) started from its carried state twice in one "
                    f"call of {type(self.model).__name__}: a stream holds one state per layer, so a layer "
                    "used at two places cannot be streamed; give that layer's calls explicit states"
                )
            self._seen.add(name)
        return self._states[name]


_ABSENT = object()


def _innermost(layer: nn.Module) -> Stream | None:
    stack = _ACTIVE.get(layer)
    return stack[-1] if stack else None


def _uses_batch_statistics(module: nn.Module) -> bool:
    bn = nn.modules.batchnorm._BatchNorm
    return isinstance(module, bn) and (module.training or not module.track_running_stats)


def _batch_statistics_in(module: nn.Module) -> tuple[str, nn.Module] | None:
    for name, m in module.named_modules():
        if _uses_batch_statistics(m):
            return name, m
    return None


def _flatten(states: Sequence[Any]) -> tuple[list[torch.Tensor], list[Any]]:
    flat: list[torch.Tensor] = []
    spec: list[Any] = []
    for s in states:
        if s is None:
            spec.append(None)
        else:
            spec.append((type(s), len(s)))
            flat.extend(s)
    return flat, spec


def _unflatten(spec: Sequence[Any], flat: Sequence[torch.Tensor]) -> list[Any]:
    out, i = [], 0
    for item in spec:
        if item is None:
            out.append(None)
        else:
            kind, n = item
            out.append(kind(*flat[i : i + n]))
            i += n
    return out


def _run_chunk(
    call: Callable[[torch.Tensor], torch.Tensor],
    owner: nn.Module,
    names: list[str],
    spec: list[Any],
    holder: dict[str, Any],
    what: str,
    x_c: torch.Tensor,
    *flat: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    """One chunk: ``call(x_c)`` in a stream that starts from the given states; returns the output and the
    final states, flattened (their layout goes to ``holder``). Runs again in backward (checkpoint)."""
    if names:
        stream = Stream(owner, states=dict(zip(names, _unflatten(spec, flat), strict=True)))
        with stream:
            stream._begin_call()
            try:
                y = call(x_c)
            finally:
                stream._end_call()
        finals = [stream._states[n] for n in names]
    else:
        y, finals = call(x_c), []
    if not isinstance(y, torch.Tensor) or y.dim() < 1 or y.shape[0] != x_c.shape[0]:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(
            f"{what}: the chunked module must map [T, B, ...] to [T, B, ...]; a chunk of "
            f"{x_c.shape[0]} steps {tuple(x_c.shape)} gave {got}"
        )
    out, holder["spec"] = _flatten(finals)
    return (y, *out)


def _chunked(
    call: Callable[[torch.Tensor], torch.Tensor], owner: nn.Module, x: torch.Tensor, every: int, what: str
) -> torch.Tensor:
    """``call(x)`` in checkpointed chunks of ``every`` steps, the states of ``owner``'s layers threaded
    through (starting from, and left in, the innermost active stream of each layer, if any)."""
    found = _batch_statistics_in(owner)
    if found is not None:
        name, bn = found
        raise ValueError(
            f"{what}: {name or 'the module'} ({type(bn).__name__}) normalises with batch statistics "
            f"(training mode) inside the chunked module: over a chunk of {every} steps they are not "
            "those of the whole sequence, and checkpointing would update its running statistics twice. "
            "Put the chunked layers and the BatchNorm in an nn.Sequential (the BatchNorm then runs over "
            "the whole sequence between chunked runs), call .eval() on it, or keep it out of the chunked "
            "module"
        )
    layers = stateful_layers(owner, what)
    names = [n for n, _ in layers]
    outers = [_innermost(m) for _, m in layers]
    start = [
        None if s is None else s._take(s._names[id(m)]) for s, (_, m) in zip(outers, layers, strict=True)
    ]
    if not torch.is_grad_enabled():  # nothing is saved: one call, from the same states
        chunks = [(0, x.shape[0])]
    else:
        chunks = [(t0, min(t0 + every, x.shape[0])) for t0 in range(0, x.shape[0], every)]
    flat, spec = _flatten(start)
    ys = []
    for t0, t1 in chunks:
        holder: dict[str, Any] = {}
        args = (call, owner, names, spec, holder, what, x[t0:t1], *flat)
        if torch.is_grad_enabled():
            res = checkpoint(_run_chunk, *args, use_reentrant=False, preserve_rng_state=True)
        else:
            res = _run_chunk(*args)
        ys.append(res[0])
        flat, spec = list(res[1:]), holder["spec"]
    for s, (_, m), state in zip(outers, layers, _unflatten(spec, flat), strict=True):
        if s is not None:
            s._states[s._names[id(m)]] = state
    return ys[0] if len(ys) == 1 else torch.cat(ys, 0)


def checkpoint_time(module: nn.Module, x: torch.Tensor, every: int) -> torch.Tensor:
    """``module(x)`` for a time-first module, computed in checkpointed chunks of ``every`` steps.

    Each chunk ``x[t:t+every]`` runs under ``torch.utils.checkpoint.checkpoint(use_reentrant=False)`` in a
    :class:`Stream` that starts from the states the previous chunk ended with, so the output is that of
    ``module(x)`` bit for bit and the gradients are its gradients up to float rounding (a weight gradient
    sums over time in another order; within 1e-12 relative in float64 in the tests). Backward keeps only
    ``x``, the layer states at the chunk boundaries and the output, and recomputes each chunk once: the
    memory of one chunk instead of the whole sequence, for one more forward pass. It generalises
    ``LinearLIF(memory="recompute")`` to any module built from spikekit layers and stateless time-first
    modules (``nn.Linear``, :class:`~spikekit.nn.TimeDistributed`, ...).

    Inside an active :class:`Stream` covering the module's layers, the chunks start from that stream's
    states and leave theirs there. Without gradients (``torch.no_grad``) it is one plain call.
    An ``nn.Sequential`` holding a BatchNorm that uses batch statistics (training mode) is split around it:
    the runs of layers before and after are chunked, the BatchNorm sees the whole sequence. Any other
    module containing one is refused (see the module docstring).

    Args:
        module: maps ``[T, B, ...]`` to ``[T, B, ...]`` step by step (the output at step ``t`` depends on
            earlier steps only through the states of its spikekit layers).
        x: the input ``[T, B, ...]``.
        every: steps per chunk, an int >= 1 (``sqrt(T)`` balances the chunk and the boundaries).

    Returns:
        ``module(x)``, ``[T, B, ...]``.

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 64), sk.nn.LIF(), nn.Linear(64, 64), sk.nn.LIF())
        >>> x = torch.rand(1000, 8, 3)
        >>> y = sk.nn.checkpoint_time(net, x, every=50)      # == net(x), ~20x less kept for backward
    """
    what = "checkpoint_time"
    if not isinstance(module, nn.Module):
        raise TypeError(f"{what}: module must be an nn.Module, got {type(module).__name__}")
    check_positive_int(every, f"{what}: every")
    check_tensor(x, f"{what}: x")
    check_time_first(x, f"{what}: x", min_dim=2)
    return _time_chunks(module, x, every, what, call=module)


def _time_chunks(
    module: nn.Module, x: torch.Tensor, every: int, what: str, call: Callable[[torch.Tensor], Any]
) -> torch.Tensor:
    if not isinstance(module, nn.Sequential) or _batch_statistics_in(module) is None:
        return _chunked(call, module, x, every, what)
    run: list[tuple[str, nn.Module]] = []
    y = x

    def flush(y: torch.Tensor) -> torch.Tensor:
        if not run:
            return y
        part = nn.Sequential(OrderedDict(run))
        run.clear()
        return _chunked(part, part, y, every, what)

    for name, child in module.named_children():
        if _batch_statistics_in(child) is None:
            run.append((name, child))
            continue
        y = flush(y)
        y = child(y)  # over the whole sequence; its stateful layers (if any) follow an active stream
        if not isinstance(y, torch.Tensor) or y.dim() < 1 or y.shape[0] != x.shape[0]:
            raise ValueError(f"{what}: {name} ({type(child).__name__}) must map [T, B, ...] to [T, B, ...]")
    return flush(y)


def _chunkable_parts(model: nn.Module, parts: Sequence[str] | str | None) -> list[tuple[str, nn.Module]]:
    owner = "checkpointing"
    if not isinstance(model, nn.Module):
        raise TypeError(f"{owner}: model must be an nn.Module, got {type(model).__name__}")
    names = parts if parts is not None else getattr(model, "chunkable", None)
    if names is None:
        raise ValueError(
            f"{owner}: {type(model).__name__} declares no chunkable part: name its submodules that map "
            "[T, B, ...] to [T, B, ...] step by step in a class attribute chunkable = ('body', ...) "
            "(spikekit's SpikingMLP, SpikingCNN and SpikingRNN declare theirs), or give parts=..., or call "
            "spikekit.nn.checkpoint_time in its forward"
        )
    if isinstance(names, str):
        names = (names,)
    if not isinstance(names, Sequence) or not names or not all(isinstance(n, str) for n in names):
        raise TypeError(f"{owner}: the chunkable parts must be a non-empty sequence of names, got {names!r}")
    found = []
    for name in names:
        try:
            found.append((name, model.get_submodule(name)))
        except AttributeError:
            raise ValueError(
                f"{owner}: {type(model).__name__} has no submodule {name!r} (a chunkable part)"
            ) from None
    for a, ma in found:
        for b, mb in found:
            if ma is not mb and any(m is ma for m in mb.modules()):
                raise ValueError(f"{owner}: the chunkable part {a!r} lies inside the part {b!r}; name one")
    for name, m in found:
        stateful_layers(m, f"{owner}: {name}")  # refuses unknown states now, before any work
    return found


@contextmanager
def checkpointing(
    model: nn.Module, every: int, parts: Sequence[str] | str | None = None
) -> Iterator[list[str]]:
    """Inside the block, the chunkable parts of ``model`` run through :func:`checkpoint_time`.

    The parts are the submodules named by ``parts`` or, by default, by the model's attribute
    ``chunkable`` (a tuple of names for ``model.get_submodule``): each must map ``[T, B, ...]`` to
    ``[T, B, ...]`` step by step (``SpikingMLP.hidden``, ``SpikingCNN.body``, ``SpikingRNN.rlif``). Their
    ``forward`` is replaced for the duration of the block (``state_dict`` and parameters are untouched) and
    restored after it. Under ``torch.no_grad`` the parts run as usual.

    Args:
        model: the model.
        every: steps per chunk, an int >= 1.
        parts: names of submodules (default: ``model.chunkable``).

    Yields:
        The names of the parts.

    Raises:
        ValueError: the model declares no chunkable part and none is given, a name is not a submodule, one
            part lies inside another, or a part holds a state these tools cannot carry.

    Example:
        >>> with sk.nn.checkpointing(model, every=50):
        ...     loss = F.cross_entropy(model(x), y)
        ...     loss.backward()
    """
    every = check_positive_int(every, "checkpointing: every")
    found = _chunkable_parts(model, parts)
    saved: list[nn.Module] = []
    try:
        for _, part in found:
            if "forward" in part.__dict__:
                raise RuntimeError(
                    f"checkpointing: {type(part).__name__}.forward is already replaced (a checkpointing "
                    "block is active on this model)"
                )
            saved.append(part)
            part.forward = functools.partial(_checkpointed_forward, part, every)
        yield [name for name, _ in found]
    finally:
        for part in saved:
            part.__dict__.pop("forward", None)


def _checkpointed_forward(part: nn.Module, every: int, x: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
    what = f"checkpointing {type(part).__name__}"
    if args or kwargs:
        raise TypeError(f"{what}: a chunkable part takes one tensor [T, B, ...], got more arguments")
    check_tensor(x, f"{what}: x")
    check_time_first(x, f"{what}: x", min_dim=2)
    call = type(part).forward.__get__(part, type(part))  # the class's forward: no recursion
    return _time_chunks(part, x, every, what, call=call)
