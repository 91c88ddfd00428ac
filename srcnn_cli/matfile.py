"""A reader for the numeric arrays of MATLAB v5 .mat files (the authors' released weights).

Enough of the format to read real numeric matrices, compressed or not; anything else (cells,
structs, sparse, complex, v7.3 HDF5 files) is reported as unsupported rather than misread.
"""

from __future__ import annotations

import struct
import zlib
from typing import Literal

import numpy as np

_MI_MATRIX, _MI_COMPRESSED = 14, 15
_MI_TYPES = {
    1: np.int8,
    2: np.uint8,
    3: np.int16,
    4: np.uint16,
    5: np.int32,
    6: np.uint32,
    7: np.float32,
    9: np.float64,
    12: np.int64,
    13: np.uint64,
}
_NUMERIC_CLASSES = set(range(6, 16))  # mxDOUBLE_CLASS .. mxUINT64_CLASS


class MatFileError(ValueError):
    pass


def _order(endian: str) -> Literal["<", ">"]:
    return "<" if endian == "<" else ">"


def _elements(buffer: bytes, endian: str):
    """Yield (type, payload) for each data element in ``buffer``."""
    offset = 0
    while offset + 8 <= len(buffer):
        first, second = struct.unpack_from(endian + "II", buffer, offset)
        if first >> 16:  # small data element: type and size packed in one word
            kind, size = first & 0xFFFF, first >> 16
            yield kind, buffer[offset + 4 : offset + 4 + size]
            offset += 8
            continue
        kind, size = first, second
        start = offset + 8
        if start + size > len(buffer):
            raise MatFileError("truncated data element")
        yield kind, buffer[start : start + size]
        offset = start + size
        if kind != _MI_COMPRESSED:
            offset += (-size) % 8  # elements are padded to 8 bytes


def _matrix(payload: bytes, endian: str) -> tuple[str, np.ndarray | None]:
    parts = list(_elements(payload, endian))
    if len(parts) < 3:
        raise MatFileError("malformed matrix element")
    flags = struct.unpack_from(endian + "I", parts[0][1])[0]
    mx_class = flags & 0xFF
    dims = np.frombuffer(parts[1][1], dtype=np.dtype(np.int32).newbyteorder(_order(endian)))
    name = parts[2][1].decode("latin-1")
    if mx_class not in _NUMERIC_CLASSES or flags & 0x0800 or len(parts) < 4:
        return name, None  # not a real numeric array: skipped
    kind, data = parts[3]
    if kind not in _MI_TYPES:
        raise MatFileError(f"{name}: unsupported storage type {kind}")
    item = np.dtype(_MI_TYPES[kind]).newbyteorder(_order(endian))
    shape = tuple(int(d) for d in dims)
    if len(data) % item.itemsize or any(d < 0 for d in shape) or len(data) // item.itemsize != np.prod(shape):
        raise MatFileError(f"{name}: {len(data)} bytes of data do not fill a {'x'.join(map(str, shape))} matrix")
    values = np.frombuffer(data, dtype=item)
    # MATLAB may store a double array in a smaller type; the class says what it really is.
    return name, values.astype(np.float64).reshape(shape, order="F")


def load_mat(path) -> dict[str, np.ndarray]:
    """Numeric variables of a MAT v5 file as float64 arrays in MATLAB's shape."""
    with open(path, "rb") as handle:
        data = handle.read()
    if len(data) < 128 or not data.startswith(b"MATLAB 5.0 MAT-file"):
        raise MatFileError("not a MATLAB v5 .mat file (v7.3 files are HDF5 and not supported)")
    endian = "<" if data[126:128] == b"IM" else ">"
    try:
        return _variables(data, endian)
    except (struct.error, ValueError, IndexError, StopIteration) as exc:
        if isinstance(exc, MatFileError):
            raise
        raise MatFileError(f"malformed .mat file ({exc or type(exc).__name__})") from None


def _variables(data: bytes, endian: str) -> dict[str, np.ndarray]:
    variables: dict[str, np.ndarray] = {}
    for kind, payload in _elements(data[128:], endian):
        if kind == _MI_COMPRESSED:
            try:
                payload = zlib.decompress(payload)
            except zlib.error as exc:
                raise MatFileError(f"corrupt compressed element: {exc}") from None
            kind, payload = next(_elements(payload, endian))
        if kind == _MI_MATRIX:
            name, array = _matrix(payload, endian)
            if array is not None:
                variables[name] = array
    return variables
