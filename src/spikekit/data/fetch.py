"""Downloading files, verified and written atomically: the published IDX archives and, through
:func:`download_file`, the event datasets' archives (:mod:`spikekit.data.events.fetch`).

Only the standard library's :mod:`urllib` is used. Each file goes to a temporary file in the target
folder, is checked (for the IDX files: against the SHA-256 of its decompressed content), and only then
renamed to its final name with :func:`os.replace`; a failed or interrupted download leaves nothing under
the final name.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import _io
from .idx import read_bytes
from .registry import DATASETS, SPECS, dataset_kind, download_dir, find_file, normalize_name

__all__ = [
    "ChecksumError",
    "DownloadError",
    "check_download_options",
    "download",
    "download_file",
    "sha256_hex",
    "verify_file",
]

_CHUNK = 1 << 16
_USER_AGENT = "spikekit (+https://pypi.org/project/spikekit/)"


class ChecksumError(ValueError):
    """A file's content does not have the expected SHA-256."""


class DownloadError(OSError):
    """No mirror delivered a file; the message lists every attempt."""


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as a hex string."""
    return hashlib.sha256(data).hexdigest()


def verify_file(path: str | os.PathLike, expected: str) -> bytes:
    """Check the SHA-256 of the decompressed content of ``path`` and return that content.

    Args:
        path: an IDX file, raw or gzip-compressed.
        expected: the SHA-256 (hex) of the decompressed content.

    Returns:
        The decompressed bytes, so a caller can parse them without reading the file twice.

    Raises:
        ChecksumError: (a ``ValueError``) naming the file, the expected and the actual hash.
        ValueError: if the file is corrupt gzip data.
    """
    data = read_bytes(path)
    got = sha256_hex(data)
    if got != expected:
        raise ChecksumError(
            f"checksum mismatch for {path}: expected SHA-256 {expected} of the decompressed content, "
            f"got {got}; the file is corrupt or not the published one; delete it and download it again"
        )
    return data


def _fetch_to_temp(url: str, folder: Path, filename: str, timeout: float, progress: bool) -> Path:
    """Stream ``url`` into a new temporary file in ``folder``; remove it on any failure."""
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            written = 0
            with _io.progress(
                total=total,
                desc=filename,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                leave=False,
                enabled=progress,
            ) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
            if total is not None and written != total:
                raise http.client.IncompleteRead(b"", total - written)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _describe(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, http.client.IncompleteRead):
        return f"connection closed with {err.expected} byte(s) still to come"
    return f"{type(err).__name__}: {err}"


def check_download_options(retries: Any, backoff: Any, timeout: Any) -> None:
    """Raise ``ValueError`` unless ``retries`` is an int >= 1, ``backoff`` >= 0 s and ``timeout`` > 0 s."""
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
        raise ValueError(f"retries must be an int >= 1, got {retries!r}")
    if not backoff >= 0:
        raise ValueError(f"backoff must be >= 0 seconds, got {backoff!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")


def download_file(
    urls: Sequence[str],
    path: str | os.PathLike,
    check: Callable[[Path], object] | None = None,
    *,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Fetch ``path`` from the first of ``urls`` that delivers content ``check`` accepts; never half a file.

    Each URL is tried ``retries`` times on network errors and server errors, waiting ``backoff * 2**k``
    seconds before retry ``k + 1``; a 4xx answer (other than 408 and 429) moves on to the next URL at once,
    and so does content that ``check`` rejects (by raising ``ValueError``, e.g. :class:`ChecksumError`).
    The body is streamed into a temporary file beside ``path`` (with a progress bar), checked there, and
    only then renamed to ``path`` with :func:`os.replace`.

    Args:
        urls: full URLs of the same file, tried in order.
        path: where the file goes; its folder must exist.
        check: called with the downloaded temporary file; raises ``ValueError`` if the content is wrong.
        retries, backoff, timeout: see above (:func:`check_download_options`); ``timeout`` is per socket
            operation, in seconds.
        progress: a progress bar per attempt (when tqdm is installed).

    Returns:
        ``path``, as a :class:`~pathlib.Path`.

    Raises:
        ChecksumError: every URL that answered served content ``check`` rejected (lists every attempt).
        DownloadError: (an ``OSError``) no URL delivered the file; lists every attempt.
    """
    check_download_options(retries, backoff, timeout)
    if isinstance(urls, str) or not urls or not all(isinstance(u, str) and u for u in urls):
        raise ValueError(f"urls must be a non-empty sequence of URLs, got {urls!r}")
    final = Path(path)
    attempts: list[str] = []
    bad_content = False
    for url in urls:
        for attempt in range(retries):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            try:
                tmp = _fetch_to_temp(url, final.parent, final.name, timeout, progress)
            except urllib.error.HTTPError as err:
                attempts.append(f"{url}: {_describe(err)}")
                if 400 <= err.code < 500 and err.code not in (408, 429):
                    break  # not there: try the next URL
                continue
            except (OSError, http.client.HTTPException) as err:
                attempts.append(f"{url}: {_describe(err)}")
                continue
            try:
                if check is not None:
                    check(tmp)
            except ValueError as err:  # checksum mismatch or corrupt data: this URL's copy is bad
                tmp.unlink(missing_ok=True)
                bad_content = True
                attempts.append(f"{url}: {err}")
                break
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            os.replace(tmp, final)
            return final
    listing = "\n  ".join(attempts)
    message = f"could not download {final.name} into {final.parent}; attempts:\n  {listing}"
    raise ChecksumError(message) if bad_content else DownloadError(message)


def download(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    retries: int = 3,
    progress: bool = True,
    backoff: float = 1.0,
    timeout: float = 60.0,
) -> Path:
    """Download a named IDX dataset's four archives and verify them.

    Files already present with the right checksum are kept. Every other file is fetched from the
    mirrors in order; each mirror is tried ``retries`` times on network errors and server errors,
    waiting ``backoff * 2**k`` seconds before retry ``k + 1``; a 4xx answer or a checksum mismatch
    moves on to the next mirror. A file is written to a temporary name in the target folder and
    renamed into place (atomically) only once its SHA-256 matches.

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        root: the folder to download into (the dataset folder itself if its name is ``name``,
            else its parent); by default the first folder of ``$SPIKEKIT_DATA``, else the user
            cache directory (``$XDG_CACHE_HOME/spikekit`` or ``~/.cache/spikekit``).
        mirrors: base URLs to use instead of the built-in public mirrors.
        retries: attempts per mirror, ``>= 1``.
        progress: show a tqdm progress bar per file (when tqdm is installed).
        backoff: seconds before the first retry; doubled for each further retry.
        timeout: socket timeout in seconds.

    Returns:
        The dataset folder.

    Raises:
        ValueError: for an unknown name, or one that cannot be downloaded.
        ChecksumError: (a ``ValueError``) if a mirror served content with the wrong SHA-256 and no
            mirror served the right content.
        DownloadError: (an ``OSError``) if no mirror could be reached; lists every attempt.

    Example:
        >>> folder = download("fashion-mnist")  # doctest: +SKIP
    """
    if isinstance(name, str) and name in DATASETS and dataset_kind(name) == "event":
        key = DATASETS.canonical(name)
        raise ValueError(
            f"dataset {key!r} is an event dataset: download it with spikekit.data.load({key!r}, "
            f"download=True) or spikekit.data.events.download_events({key!r})"
        )
    if isinstance(name, str) and name in DATASETS and dataset_kind(name) == "synthetic":
        key = DATASETS.canonical(name)
        raise ValueError(
            f"dataset {key!r} cannot be downloaded: it is generated by code and needs no download; "
            f"load it with spikekit.data.load({key!r})"
        )
    key = normalize_name(name)
    spec = SPECS.get(key)
    downloadable = [n for n, s in SPECS.items() if s.mirrors]
    if spec is None or (not spec.mirrors and mirrors is None):
        why = {
            "digits": "it ships with scikit-learn and needs no download",
            "idx": "it is any folder of IDX files you provide",
        }.get(key, "it has no public mirror; point --data-dir or $SPIKEKIT_DATA at a folder holding it")
        raise ValueError(
            f"dataset {key!r} cannot be downloaded: {why}; downloadable: {', '.join(downloadable)} "
            f"(all names: {', '.join(DATASETS)})"
        )
    check_download_options(retries, backoff, timeout)
    if mirrors is None:
        mirrors = spec.mirrors
    if isinstance(mirrors, str) or not mirrors or not all(isinstance(m, str) and m for m in mirrors):
        raise ValueError(f"mirrors must be a non-empty sequence of base URLs, got {mirrors!r}")

    folder = download_dir(key, root)
    folder.mkdir(parents=True, exist_ok=True)
    for stem, expected in spec.sha256.items():
        existing = find_file(folder, stem)
        if existing is not None:
            try:
                verify_file(existing, expected)
                continue
            except ValueError:
                pass  # corrupt or different: fetch a fresh copy
        filename = f"{stem}.gz"
        download_file(
            [m.rstrip("/") + "/" + filename for m in mirrors],
            folder / filename,
            lambda tmp, expected=expected: verify_file(tmp, expected),
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            progress=progress,
        )
    return folder
