"""Downloading the published event-dataset archives: verified, with a progress bar, written atomically.

Each archive is fetched by :func:`spikekit.data.fetch.download_file` (retries, mirrors, a progress bar)
into a temporary file in the dataset folder, checked against the published MD5 (and SHA-256 when one is
known), renamed into place, then unpacked into a temporary folder whose result is renamed into place with
:func:`os.replace`. An interrupted download or unpacking leaves nothing under the final names, so a
half-written dataset is never mistaken for a whole one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from ... import _io
from ..fetch import ChecksumError, check_download_options, download_file
from ..registry import download_dir
from .registry import EVENT_DATASETS, EVENT_SPECS, Archive, normalize_event_name

__all__ = ["download_events", "verify_archive"]

_CHUNK = 1 << 20


def verify_archive(path: str | os.PathLike, archive: Archive) -> None:
    """Raise ``ChecksumError`` unless ``path`` has the archive's published MD5 (and SHA-256, if known)."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            md5.update(chunk)
            sha.update(chunk)
    checks = [("MD5", archive.md5, md5.hexdigest())]
    if archive.sha256:
        checks.append(("SHA-256", archive.sha256, sha.hexdigest()))
    for algorithm, expected, got in checks:
        if got != expected:
            raise ChecksumError(
                f"checksum mismatch for {path}: expected {algorithm} {expected} (the published archive), "
                f"got {got}; the download is corrupt or not the published file"
            )


def _find_member(top: Path, member: str) -> Path | None:
    """``member`` at the top of an unpacked archive or one folder down (case-insensitive)."""
    for parent in [top, *sorted(p for p in top.iterdir() if p.is_dir() and p.name != "__MACOSX")]:
        for child in parent.iterdir():
            if child.name.lower() == member.lower():
                return child
    return None


def _unpack(path: Path, member: str, folder: Path, progress: bool) -> Path:
    """Unpack zip ``path`` into a temporary folder and rename its ``member`` to ``folder/member``."""
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{member}.unpack-"))
    try:
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                unpacking = f"unpacking {path.name}"
                with _io.progress(names, desc=unpacking, unit="file", leave=False, enabled=progress) as bar:
                    for name in bar:
                        zf.extract(name, tmp)
        except zipfile.BadZipFile as err:
            raise ValueError(
                f"{path}: not a valid zip archive ({err}); delete it and download it again"
            ) from err
        found = _find_member(tmp, member)
        if found is None:
            top = ", ".join(sorted(p.name for p in tmp.iterdir())) or "nothing"
            raise ValueError(f"{path}: the archive holds no {member!r} at its top (it holds {top})")
        final = folder / member
        os.replace(found, final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def download_events(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    splits: Sequence[str] = ("train", "test"),
    mirrors: Sequence[str] | None = None,
    retries: int = 3,
    progress: bool = True,
    backoff: float = 1.0,
    timeout: float = 60.0,
) -> Path:
    """Download and unpack a published event dataset (``"nmnist"``: ``Train/``, ``Test/``; ``"shd"``).

    Parts already unpacked are kept; an archive already present with the published checksum is not
    fetched again. Mirrors, retries and back-off behave as in :func:`spikekit.data.download`.

    Args:
        name: ``"nmnist"`` or ``"shd"``.
        root: the dataset folder (if its name is ``name``) or its parent; by default the first folder
            of ``$SPIKEKIT_DATA``, else the user cache directory.
        splits: which of ``"train"``, ``"test"`` to fetch.
        mirrors: base URLs to use instead of the publisher's (``<base>/<archive file name>``).
        retries: attempts per URL, ``>= 1``.
        progress: progress bars for the download and the unpacking.
        backoff: seconds before the first retry, doubled after each.
        timeout: socket timeout in seconds.

    Returns:
        The dataset folder.

    Raises:
        ValueError: unknown name, a dataset without archives, a bad split; a corrupt archive.
        ChecksumError: (a ``ValueError``) every copy served had the wrong checksum.
        DownloadError: (an ``OSError``) no URL could be reached; lists every attempt.

    Example:
        >>> folder = download_events("nmnist")  # doctest: +SKIP  (about 1 GB)
    """
    key = normalize_event_name(name)
    spec = EVENT_SPECS[key]
    if not spec.archives:
        downloadable = [n for n in EVENT_DATASETS if EVENT_SPECS[n].archives]
        raise ValueError(
            f"event dataset {key!r} cannot be downloaded (no published archive); downloadable: "
            f"{', '.join(downloadable)}. Point --data-dir or $SPIKEKIT_DATA at a folder holding it"
        )
    unknown = [s for s in splits if s not in spec.archives]
    if isinstance(splits, str) or unknown:
        raise ValueError(
            f"splits must be a sequence of {', '.join(map(repr, spec.archives))}; got {splits!r}"
        )
    check_download_options(retries, backoff, timeout)
    if mirrors is not None and (isinstance(mirrors, str) or not mirrors):
        raise ValueError(f"mirrors must be a non-empty sequence of base URLs, got {mirrors!r}")
    folder = download_dir(key, root)
    folder.mkdir(parents=True, exist_ok=True)
    for split in splits:
        archive = spec.archives[split]
        if (folder / archive.member).exists():
            continue
        path = folder / archive.filename
        fresh = True
        if path.is_file():
            try:
                verify_archive(path, archive)
                fresh = False
            except ChecksumError:
                pass  # a stale or corrupt copy: fetch it again
        if fresh:
            urls = [m.rstrip("/") + "/" + archive.filename for m in mirrors] if mirrors else archive.urls
            path = download_file(
                urls,
                path,
                lambda tmp, archive=archive: verify_archive(tmp, archive),
                retries=retries,
                backoff=backoff,
                timeout=timeout,
                progress=progress,
            )
        _unpack(path, archive.member, folder, progress)
    return folder
