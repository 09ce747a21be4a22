"""Downloading the published IDX archives, verified and written atomically.

Only the standard library's :mod:`urllib` is used. Each file goes to a temporary file in the target
folder, is checked against the SHA-256 of its decompressed content, and only then renamed to its
final name with :func:`os.replace`; a failed or interrupted download leaves nothing under the final
name.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from .idx import read_bytes
from .registry import DATASETS, SPECS, download_dir, find_file, normalize_name

__all__ = ["ChecksumError", "DownloadError", "download", "verify_file"]

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


def _progress_bar(total: int | None, desc: str, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional; downloading works without a bar
        return None
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)


def _fetch_to_temp(url: str, folder: Path, filename: str, timeout: float, progress: bool) -> Path:
    """Stream ``url`` into a new temporary file in ``folder``; remove it on any failure."""
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            bar = _progress_bar(total, filename, progress)
            written = 0
            try:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()
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


def _download_file(
    filename: str,
    expected: str,
    folder: Path,
    mirrors: Sequence[str],
    retries: int,
    backoff: float,
    timeout: float,
    progress: bool,
) -> Path:
    """Fetch ``filename`` from the first mirror that delivers content with SHA-256 ``expected``."""
    attempts: list[str] = []
    bad_content = False
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        for attempt in range(retries):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            try:
                tmp = _fetch_to_temp(url, folder, filename, timeout, progress)
            except urllib.error.HTTPError as err:
                attempts.append(f"{url}: {_describe(err)}")
                if 400 <= err.code < 500 and err.code not in (408, 429):
                    break  # not there: try the next mirror
                continue
            except (OSError, http.client.HTTPException) as err:
                attempts.append(f"{url}: {_describe(err)}")
                continue
            try:
                verify_file(tmp, expected)
            except ValueError as err:  # checksum mismatch or corrupt gzip: this mirror's copy is bad
                tmp.unlink(missing_ok=True)
                bad_content = True
                attempts.append(f"{url}: {err}")
                break
            final = folder / filename
            os.replace(tmp, final)
            return final
    listing = "\n  ".join(attempts)
    message = f"could not download {filename} into {folder}; attempts:\n  {listing}"
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
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
        raise ValueError(f"retries must be an int >= 1, got {retries!r}")
    if not backoff >= 0:
        raise ValueError(f"backoff must be >= 0 seconds, got {backoff!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
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
        _download_file(f"{stem}.gz", expected, folder, mirrors, retries, backoff, timeout, progress)
    return folder
