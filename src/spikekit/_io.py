"""Helpers every layer shares: atomic file writes, JSON, plain-text tables and progress bars.

Atomic writes go to a fresh temporary file in the target's folder (created with ``O_EXCL``, so a file or
symlink planted at a predictable name is never followed), are flushed to disk, then renamed over the
target with :func:`os.replace`: a reader sees the old file or the new one, never half of one, and a crash
leaves the old file in place. A symlink at the target itself is replaced, never written through. Every
file spikekit writes goes through :func:`atomic_open`.

Checkpoints (:func:`save_checkpoint`, :func:`load_checkpoint`) carry SHA-256 digests. The file is still a
plain ``torch.save`` zip archive of the checkpoint's dict (``torch.load(path, weights_only=True)["model"]``
works), with two more entries, ``"spikekit_format": "spikekit-checkpoint-v2"`` and ``"spikekit_sha256"``
(the digest of the other entries: every tensor's dtype, shape and bytes and every plain value, in order),
and the zip archive's comment (its last 80 bytes) is ``spikekit-sha256:`` + the hex SHA-256 of every byte
before it. :func:`load_checkpoint` checks the file digest before anything is unpickled (so one flipped
byte anywhere is refused), then loads with ``weights_only=True`` (no code from a file is ever run) and
checks the content digest. A file with neither (written by spikekit before this format, or a state dict
saved by hand) still loads, with ``weights_only=True``; only the digest checks are missing there.
Nothing here imports torch or tqdm until it is needed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import sys
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_text",
    "content_digest",
    "format_table",
    "load_checkpoint",
    "progress",
    "save_checkpoint",
    "save_torch",
    "write_json",
]


CHECKPOINT_FORMAT = "spikekit-checkpoint-v2"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: empty, truncated, corrupt (its SHA-256 does not match), not a
    checkpoint at all, or holding objects other than tensors and plain data. A ``spikekit`` command reports
    it as a runtime error (exit status 1)."""

    exit_code = 1


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", *, durable: bool = True):
    """Open a temporary file beside ``path``; on a clean exit it replaces ``path``, else it is removed.

    The temporary file is created with ``O_EXCL`` under a random name (never an existing file or a planted
    symlink), gets the permissions a new file would (the umask's), and is renamed over ``path`` with
    :func:`os.replace` (which replaces a symlink at ``path`` rather than writing through it).

    Args:
        path: the file to (re)place.
        mode: ``"wb"`` or ``"w"`` (UTF-8 text).
        durable: flush the file and its folder to disk (``fsync``) before and after the rename, so the
            new content survives a power cut; ``False`` for caches, which can be rebuilt.

    Example:
        >>> with atomic_open("out/result.json", "w") as f:
        ...     f.write("{}")
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    if target.is_dir() and not target.is_symlink():
        raise IsADirectoryError(f"{target} is a folder; give a file name")
    for parent in target.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise NotADirectoryError(f"cannot write {target}: {parent} is a file, not a folder")
            break
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        os.close(fd)  # reopened by name: ``f.name`` is then the temporary path (a GIF writer needs it)
        with open(tmp, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


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
    """Plain ``torch.save(obj)`` to ``path`` atomically (no digest; checkpoints use
    :func:`save_checkpoint`)."""
    import torch

    with atomic_open(path, "wb") as f:
        torch.save(obj, f)
    return Path(path)


_FORMAT_KEY, _DIGEST_KEY = "spikekit_format", "spikekit_sha256"
_MARK = b"spikekit-sha256:"
_TRAILER_LEN = len(_MARK) + 64


def _file_digest(data: bytes, path: Path) -> bool:
    """Check the trailing file digest; ``True`` when there is one (and it matches), ``False`` when the file
    has none; a damaged one raises."""
    tail = data[-_TRAILER_LEN:]
    if (
        len(data) <= _TRAILER_LEN
        or sum(a == b for a, b in zip(tail[: len(_MARK)], _MARK, strict=True)) < len(_MARK) - 2
    ):
        return False
    expected = hashlib.sha256(data[:-_TRAILER_LEN]).hexdigest().encode()
    if tail != _MARK + expected:
        raise CheckpointError(
            f"checkpoint {path} is corrupt: its SHA-256 does not match (the file was damaged after it was "
            "written); use an intact copy or start again"
        )
    return True


def _digest_update(h: Any, obj: Any) -> None:
    import torch

    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous().reshape(-1)
        h.update(f"T{t.dtype}{tuple(obj.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}|".encode())
        for k, v in obj.items():
            _digest_update(h, k)
            _digest_update(h, v)
    elif isinstance(obj, (list, tuple)):
        h.update(f"{type(obj).__name__[0]}{len(obj)}|".encode())
        for v in obj:
            _digest_update(h, v)
    elif isinstance(obj, bytes):
        h.update(f"B{len(obj)}|".encode() + obj)
    else:  # str, int, float (repr is exact), bool, None, torch.dtype, torch.Size, ...
        h.update(f"{type(obj).__name__}:{obj!r}|".encode())


def content_digest(obj: Any) -> str:
    """SHA-256 of a checkpoint's content: every tensor's dtype, shape and bytes and every plain value, in
    order (independent of how ``torch.save`` lays the file out)."""
    h = hashlib.sha256()
    _digest_update(h, obj)
    return h.hexdigest()


def save_checkpoint(obj: dict[str, Any], path: str | os.PathLike, *, durable: bool = True) -> Path:
    """``torch.save`` the dict ``obj`` (tensors and plain data) to ``path`` atomically, with the SHA-256 of
    its content under ``"spikekit_sha256"`` (see the module docstring); :func:`load_checkpoint` checks it."""
    import torch

    if not isinstance(obj, dict):
        raise TypeError(f"save_checkpoint: obj must be a dict, got {type(obj).__name__}")
    body = {k: v for k, v in obj.items() if k not in (_FORMAT_KEY, _DIGEST_KEY)}
    container = {**body, _FORMAT_KEY: CHECKPOINT_FORMAT, _DIGEST_KEY: content_digest(body)}
    buf = io.BytesIO()
    torch.save(container, buf)
    data = bytearray(buf.getvalue())
    if data[-22:-18] != b"PK\x05\x06" or data[-2:] != b"\x00\x00":  # pragma: no cover - torch's layout
        raise RuntimeError("save_checkpoint: torch.save wrote an unexpected zip layout")
    data[-2:] = _TRAILER_LEN.to_bytes(2, "little")  # the archive comment's length
    data += _MARK + hashlib.sha256(data).hexdigest().encode()
    with atomic_open(path, "wb", durable=durable) as f:
        f.write(data)
    return Path(path)


def _torch_load(data: bytes, path: Path, map_location: Any) -> Any:
    """``torch.load(data, weights_only=True)``; every failure a :class:`CheckpointError` naming ``path``."""
    import torch

    if not data:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes): it was never written completely")
    try:
        return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if "Unsupported global" in str(err) or "GLOBAL" in str(err):
            raise CheckpointError(
                f"checkpoint {path} was refused: it holds objects other than tensors and plain data, whose "
                "loading could run code (spikekit loads files with weights_only=True only)"
            ) from None
        raise CheckpointError(
            f"checkpoint {path} is not a readable checkpoint (truncated, corrupt or another kind of file)"
        ) from None
    except Exception:  # noqa: BLE001 - torch raises RuntimeError, EOFError, OSError, ... on bad bytes
        raise CheckpointError(
            f"checkpoint {path} is not a readable checkpoint (truncated, corrupt or another kind of file)"
        ) from None


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """Read what :func:`save_checkpoint` wrote (``weights_only=True``) and check its SHA-256.

    A plain ``torch.save`` file (spikekit's format before the digest, or a state dict saved by hand) loads
    too, with ``weights_only=True`` and without a digest to check.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: a folder, an empty, truncated or corrupt file (its SHA-256 does not match), another
            kind of file, or one holding objects other than tensors and plain data.
    """

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no checkpoint at {p}")
    if p.is_dir():
        raise CheckpointError(f"checkpoint {p} is a folder; give the file (e.g. {p / 'checkpoint.pt'})")
    data = p.read_bytes()
    if not data:
        raise CheckpointError(f"checkpoint {p} is empty (0 bytes): it was never written completely")
    checked = _file_digest(data, p)
    ckpt = _torch_load(data, p, map_location)
    if not (isinstance(ckpt, dict) and (_DIGEST_KEY in ckpt or _FORMAT_KEY in ckpt)):
        if checked:
            raise CheckpointError(f"checkpoint {p} is corrupt: its content digest is missing")
        return ckpt  # no digest: spikekit before v2, or a plain torch.save
    if not checked:
        raise CheckpointError(f"checkpoint {p} is corrupt: its file digest is missing (a truncated file?)")
    digest, fmt = ckpt.pop(_DIGEST_KEY, None), ckpt.pop(_FORMAT_KEY, None)
    if fmt != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {p} has format {fmt!r}; this spikekit reads {CHECKPOINT_FORMAT!r} (and older files)"
        )
    if content_digest(ckpt) != digest:
        raise CheckpointError(
            f"checkpoint {p} is corrupt: its SHA-256 does not match (the file was damaged after it was "
            "written); use an intact copy or start again"
        )
    return ckpt


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
