"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a big-endian header followed by the raw array::

    0x00 0x00 <type code> <ndim>   uint32 dim_0 ... uint32 dim_{ndim-1}   data

with type codes 0x08 (uint8), 0x09 (int8), 0x0B (int16), 0x0C (int32), 0x0D (float32) and
0x0E (float64). Files may be gzip-compressed; compression is recognised by its magic bytes
(``1f 8b``), whatever the file is called.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from .. import _io

__all__ = ["read_idx", "write_idx", "read_bytes", "read_file", "parse_idx"]

_GZIP_MAGIC = b"\x1f\x8b"

# type code -> (big-endian numpy dtype, torch dtype, name)
_TYPES: dict[int, tuple[str, torch.dtype, str]] = {
    0x08: (">u1", torch.uint8, "uint8"),
    0x09: (">i1", torch.int8, "int8"),
    0x0B: (">i2", torch.int16, "int16"),
    0x0C: (">i4", torch.int32, "int32"),
    0x0D: (">f4", torch.float32, "float32"),
    0x0E: (">f8", torch.float64, "float64"),
}
_CODES: dict[torch.dtype, int] = {torch_dtype: code for code, (_, torch_dtype, _) in _TYPES.items()}
_ACCEPTED = ", ".join(f"0x{code:02X} ({name})" for code, (_, _, name) in _TYPES.items())


def read_file(path: str | os.PathLike, what: str = "file") -> bytes:
    """The bytes of ``path``; a missing file, a folder or an unreadable file raises an ``OSError`` whose
    message names the path and ``what`` was expected there (e.g. ``"an IDX file"``)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path to {what}, got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not {what}")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file (expected {what})") from None
    except OSError as err:
        raise OSError(f"{path}: cannot read {what}: {err.strerror or err}") from err


def read_bytes(path: str | os.PathLike) -> bytes:
    """Return the content of ``path``, decompressed if it is gzip data.

    Args:
        path: a file, raw or gzip-compressed (recognised by its magic bytes, not its name).

    Returns:
        The decompressed bytes.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file starts like gzip data but is truncated or corrupt.
    """
    path = Path(path)
    raw = read_file(path, "an IDX file")
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(
            f"{path}: corrupt or truncated gzip data ({err}); delete the file and fetch it again"
        ) from err


def parse_idx(data: bytes, source: str = "<bytes>") -> torch.Tensor:
    """Parse the (decompressed) bytes of an IDX file into a tensor.

    Args:
        data: the whole file content, header included.
        source: what to call the data in error messages, usually its path.

    Returns:
        A tensor of the shape stored in the header and the dtype of its type code
        (``uint8`` for MNIST images and labels).

    Raises:
        ValueError: on a bad magic number, an unknown type code, zero dimensions, or a size that
            does not match the header (truncated file or trailing bytes).
    """
    n = len(data)
    if n < 4:
        raise ValueError(f"{source}: not an IDX file: {n} byte(s), shorter than the 4-byte magic number")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{source}: bad IDX magic number 0x{data[:4].hex()}: an IDX file starts with two zero bytes, "
            "a type code and the number of dimensions"
        )
    code, ndim = data[2], data[3]
    if code not in _TYPES:
        raise ValueError(f"{source}: unknown IDX type code 0x{code:02X}; accepted: {_ACCEPTED}")
    if ndim == 0:
        raise ValueError(f"{source}: IDX header declares 0 dimensions; at least 1 is needed")
    header = 4 + 4 * ndim
    if n < header:
        raise ValueError(
            f"{source}: truncated IDX header: {ndim} dimension(s) need {header} header bytes, file has {n}"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    np_dtype, _, type_name = _TYPES[code]
    count = math.prod(dims)
    expected = header + count * np.dtype(np_dtype).itemsize
    shape = "x".join(map(str, dims))
    if n < expected:
        raise ValueError(
            f"{source}: truncated IDX file: header declares {shape} {type_name} ({expected} bytes), "
            f"file has {n} bytes"
        )
    if n > expected:
        raise ValueError(
            f"{source}: corrupt IDX file: header declares {shape} {type_name} ({expected} bytes), "
            f"file has {n - expected} trailing byte(s)"
        )
    array = np.frombuffer(data, dtype=np_dtype, count=count, offset=header)
    return torch.from_numpy(array.astype(np.dtype(np_dtype).newbyteorder("="))).reshape(dims)


def read_idx(path: str | os.PathLike) -> torch.Tensor:
    """Read an IDX file, raw or gzip-compressed.

    Args:
        path: the file. Gzip compression is detected from the magic bytes.

    Returns:
        A tensor with the stored shape and dtype, e.g. ``uint8`` ``[N, H, W]`` for an image file
        and ``uint8`` ``[N]`` for a label file (:func:`spikekit.data.load` turns labels into
        ``int64``).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is not valid IDX (bad magic, truncated, trailing bytes) or is
            corrupt gzip data. The message names the file.

    Example:
        >>> images = read_idx("mnist/train-images-idx3-ubyte.gz")  # doctest: +SKIP
        >>> images.shape, images.dtype                              # doctest: +SKIP
        (torch.Size([60000, 28, 28]), torch.uint8)
    """
    return parse_idx(read_bytes(path), source=str(path))


def write_idx(path: str | os.PathLike, tensor: torch.Tensor, *, compress: bool | None = None) -> Path:
    """Write ``tensor`` to ``path`` in IDX format.

    Args:
        path: the file to write.
        tensor: a tensor of dtype uint8, int8, int16, int32, float32 or float64, with 1 to 255
            dimensions.
        compress: gzip the file; by default, when ``path`` ends in ``.gz``.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Example:
        >>> write_idx("labels-idx1-ubyte.gz", torch.tensor([3, 1, 4], dtype=torch.uint8))  # doctest: +SKIP
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dtype not in _CODES:
        names = ", ".join(name for _, _, name in _TYPES.values())
        raise ValueError(f"tensor must have one of the dtypes {names}; got {tensor.dtype}")
    if not 1 <= tensor.dim() <= 255:
        raise ValueError(f"tensor must have 1 to 255 dimensions, got shape {tuple(tensor.shape)}")
    path = Path(path)
    code = _CODES[tensor.dtype]
    header = bytes([0, 0, code, tensor.dim()]) + struct.pack(f">{tensor.dim()}I", *tensor.shape)
    body = tensor.detach().cpu().contiguous().numpy().astype(_TYPES[code][0]).tobytes()
    data = header + body
    if compress is None:
        compress = path.name.endswith(".gz")
    return _io.atomic_write_bytes(path, gzip.compress(data, mtime=0) if compress else data)
