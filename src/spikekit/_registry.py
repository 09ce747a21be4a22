"""One registry shape for everything spikekit knows by name: neurons, models, datasets, learning rules.

A :class:`Registry` maps names to objects (a class, a factory, a spec) with a little metadata each, and
refuses an unknown name with an error that lists the known ones. Names are matched after ``normalize``
(by default: lower case, ``_`` as ``-``), and aliases resolve to their entry.

Example:
    >>> MODELS = Registry("model")
    >>> @MODELS.register("seed-snn", help="the original experiment's network")
    ... def seed_snn(input_shape, num_classes, **kw): ...
    >>> MODELS["Seed_SNN"] is seed_snn
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["Entry", "Registry", "UnknownNameError"]

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """An unknown name: a ``KeyError`` for mapping code and a ``ValueError`` for argument checks."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _default_normalize(name: str) -> str:
    return name.strip().lower().replace("_", "-")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered name: the object, its aliases and free-form metadata (``help``, ...)."""

    name: str
    obj: T
    aliases: tuple[str, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)


class Registry(Mapping[str, T]):
    """Names -> objects of one ``kind`` (``"model"``, ``"dataset"``, ...); see the module docstring."""

    def __init__(self, kind: str, normalize: Callable[[str], str] | None = _default_normalize) -> None:
        self.kind = kind
        self._normalize = normalize or (lambda s: s)
        self._entries: dict[str, Entry[T]] = {}
        self._keys: dict[str, str] = {}  # normalised name or alias -> name

    def register(self, name: str, obj: T | None = None, *, aliases: tuple[str, ...] = (), **info: Any):
        """Register ``obj`` under ``name``; without ``obj``, a decorator that registers what it decorates."""
        if obj is None:
            return lambda o: self.register(name, o, aliases=aliases, **info)
        keys = [self._normalize(k) for k in (name, *aliases)]
        for k in keys:
            if k in self._keys and self._keys[k] != name:
                raise ValueError(f"{self.kind} name {k!r} is already registered for {self._keys[k]!r}")
        self._entries[name] = Entry(name, obj, tuple(aliases), dict(info))
        for k in keys:
            self._keys[k] = name
        return obj

    def canonical(self, name: str) -> str:
        """The registered name that ``name`` (any spelling or alias) stands for."""
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} name must be a str, got {type(name).__name__}")
        key = self._keys.get(self._normalize(name))
        if key is None:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {', '.join(self._entries)}")
        return key

    def entry(self, name: str) -> Entry[T]:
        """The :class:`Entry` for ``name``."""
        return self._entries[self.canonical(name)]

    def info(self, name: str) -> dict[str, Any]:
        """The metadata registered with ``name``."""
        return self.entry(name).info

    def names(self) -> list[str]:
        """Registered names, in registration order (aliases not included)."""
        return list(self._entries)

    def __getitem__(self, name: str) -> T:
        return self.entry(name).obj

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._normalize(name) in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
