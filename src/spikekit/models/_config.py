"""Models remember how they were built, so a checkpoint can rebuild them.

:func:`remember_init` decorates a model class: after its ``__init__`` the instance holds
``init_config = {"class": "SpikingMLP", "kwargs": {...}}``, the arguments the caller gave (defaults are
not stored, so a model rebuilt later gets the defaults of that day, e.g. a faster backend), as plain
values a ``weights_only`` checkpoint can hold: numbers, strings, lists, dicts, and surrogates as
``{"surrogate": "atan", "alpha": 2.0}``. A model built with an argument that has no plain form, or a
subclass that is not decorated itself, gets ``init_config = None`` (it can be saved, but not rebuilt by
name). :func:`spikekit.train.fit` writes ``init_config`` into its checkpoints; :func:`spikekit.models.load`
reads it back.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any

__all__ = ["init_config", "plain", "remember_init", "unplain"]

_SCALARS = (bool, int, str, type(None))


class _NotPlain(Exception):
    pass


def plain(value: Any) -> Any:
    """``value`` as plain, checkpoint-safe data (raises ``ValueError`` when it has no plain form)."""
    try:
        return _plain(value)
    except _NotPlain as err:
        raise ValueError(str(err)) from None


def _plain(value: Any) -> Any:
    from ..surrogate import Surrogate

    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotPlain(f"{value!r} is not finite")
        return value
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        if "surrogate" in value:
            raise _NotPlain("a dict with the key 'surrogate' would read back as a surrogate")
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Surrogate):
        return {"surrogate": value.name, **{f: getattr(value, f) for f in value._fields}}
    raise _NotPlain(f"a {type(value).__name__} has no plain form")


def unplain(value: Any) -> Any:
    """The inverse of :func:`plain`: lists become tuples, ``{"surrogate": name, ...}`` a surrogate."""
    if isinstance(value, list):
        return tuple(unplain(v) for v in value)
    if isinstance(value, dict):
        if "surrogate" in value:
            from .. import surrogate as sg

            fields = {k: v for k, v in value.items() if k != "surrogate"}
            name = value["surrogate"]
            cls = getattr(sg, str(name), None)
            if not (isinstance(cls, type) and issubclass(cls, sg.Surrogate)):
                raise ValueError(f"unknown surrogate {name!r} in a model's saved arguments")
            return cls(**fields)
        return {k: unplain(v) for k, v in value.items()}
    return value


def remember_init(cls: type) -> type:
    """Class decorator: instances of ``cls`` (not of its subclasses) record their constructor arguments in
    ``init_config`` (see the module docstring)."""
    init = cls.__init__
    signature = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        config = None
        if type(self) is cls:
            given = signature.bind(self, *args, **kwargs).arguments
            given.pop(next(iter(signature.parameters)))  # self
            try:
                config = {"class": cls.__name__, "kwargs": {k: _plain(v) for k, v in given.items()}}
            except _NotPlain:
                config = None
        if type(self) is cls or not hasattr(self, "init_config"):
            self.init_config = config

    cls.__init__ = __init__
    return cls


def init_config(model: Any) -> dict[str, Any] | None:
    """``{"class", "kwargs"}`` of a model built from a spikekit model class, else ``None``."""
    config = getattr(model, "init_config", None)
    return dict(config) if isinstance(config, dict) else None
