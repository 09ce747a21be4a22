"""Helpers every layer shares: atomic file writes, JSON, plain-text tables and progress bars.

Atomic writes go to a fresh temporary file in the target's folder (created with ``O_EXCL``, so a file or
symlink planted at a predictable name is never followed), are flushed to disk, then renamed over the
target with :func:`os.replace`: a reader sees the old file or the new one, never half of one, and a crash
leaves the old file in place. Nothing here imports torch or tqdm until it is needed.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = [
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_text",
    "format_table",
    "progress",
    "save_torch",
    "write_json",
]


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb"):
    """Open a temporary file beside ``path``; on a clean exit it replaces ``path``, else it is removed.

    Example:
        >>> with atomic_open("out/result.json", "w") as f:
        ...     f.write("{}")
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a folder; give a file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    with atomic_open(path, "w") as f:
        f.write(text)
    return Path(path)


def write_json(path: str | os.PathLike, payload: Any) -> Path:
    """``payload`` as indented JSON (unknown types through ``str``), written atomically."""
    return atomic_write_text(path, json.dumps(payload, indent=2, default=str) + "\n")


def save_torch(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` atomically: never a half-written checkpoint."""
    import torch

    with atomic_open(path, "wb") as f:
        torch.save(obj, f)
    return Path(path)


def format_table(headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table: a header line, a rule, then one aligned line per row."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    for i, row in enumerate(cells[1:], 1):
        if len(row) != len(headers):
            raise ValueError(f"format_table: row {i} has {len(row)} cells, the header {len(headers)}")
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class _NoBar:
    """What :func:`progress` returns when bars are off: the same methods, doing nothing."""

    def __init__(self, iterable: Iterable | None = None, total: int | None = None, initial: int = 0):
        self.iterable, self.total, self.n = iterable, total, initial

    def __iter__(self):
        return iter(self.iterable if self.iterable is not None else ())

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        pass

    def write(self, text: str) -> None:
        print(text, file=sys.stderr)

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "it",
    enabled: bool | None = True,
    stream: IO[str] | None = None,
    **kwargs: Any,
) -> Any:
    """A tqdm progress bar, or a silent stand-in when ``enabled`` is false or tqdm is not installed.

    ``enabled=None`` shows the bar only when ``stream`` (default ``sys.stderr``) is a terminal, so a log
    file gets no carriage-return updates. Extra keyword arguments go to ``tqdm``.
    """
    stream = sys.stderr if stream is None else stream
    if enabled is None:
        enabled = bool(getattr(stream, "isatty", lambda: False)())
    if enabled:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # tqdm is optional (the data extra)
            enabled = False
    initial = int(kwargs.get("initial", 0))
    if not enabled:
        return _NoBar(iterable, total, initial)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream, **kwargs)
