"""Writers that take an image a band of rows at a time, so that no output-sized array exists.

* PNG: the chunks are framed here and the rows compressed by zlib as they come (a PNG is
  zlib-compressed rows; Pillow and OpenCV only encode a whole image, pypng packs 16-bit
  samples one by one in Python, and libvips cannot take rows made in Python without a raw
  copy of the output on disk). Every row uses the Up filter (the row above subtracted). The
  default, level 1 (``--png-level``), is ISA-L's deflate (the ``isal`` package) where it is
  installed: 5-7 times faster than zlib's level 1, with files no larger, so the encoder does
  not take the cores from the network; other levels, or no ``isal``, use zlib.
* TIFF: tifffile writes the strips as they come (uncompressed, BigTIFF past 4 GB, alpha as
  unassociated extra samples, the ICC profile); EXIF, with its Exif and GPS sub-directories,
  is serialised by Pillow and merged into tifffile's directory afterwards.

Both keep 8 or 16 bits by dtype, gray, gray + alpha, RGB and RGBA, the ICC profile and EXIF.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import numpy as np

STREAMED_FORMATS = ("PNG", "TIFF")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> gray, gray+alpha, RGB, RGBA
_IDAT_BYTES = 1 << 20
_STRIP_BYTES = 1 << 18


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _write_chunk(file: BinaryIO, kind: bytes, pieces: list[bytes]) -> None:
    """One chunk whose payload is ``pieces`` end to end, written without joining them (the
    pixels' chunks are megabytes)."""
    crc = _crc32(kind)
    for piece in pieces:
        crc = _crc32(piece, crc)
    file.write(struct.pack(">I", sum(map(len, pieces))) + kind)
    for piece in pieces:
        file.write(piece)
    file.write(struct.pack(">I", crc))


def png_metadata_chunks(icc: bytes | None, exif: bytes | None) -> bytes:
    """iCCP and eXIf chunks (they belong after IHDR, before the pixels)."""
    chunks = b""
    if icc:
        chunks += png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if exif:
        chunks += png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    return chunks


def _channels(shape: tuple[int, ...]) -> int:
    return shape[2] if len(shape) == 3 else 1


PNG_LEVEL = 1  # the fastest; with ISA-L as small as zlib's level 6 on photos


try:  # ISA-L's CRC-32 is several times faster than zlib's, and gives the same values
    from isal.isal_zlib import crc32 as _crc32
except ImportError:
    from zlib import crc32 as _crc32


def _compressor(level: int):
    """A deflate stream: ISA-L's level 1 for ``level`` 1 where ``isal`` is installed, else zlib's."""
    if level == 1:
        try:
            from isal import isal_zlib
        except ImportError:
            pass
        else:
            return isal_zlib.compressobj(1)
    return zlib.compressobj(level)


def write_png(
    file: BinaryIO,
    shape: tuple[int, ...],
    dtype,
    bands: Iterable[np.ndarray],
    *,
    icc: bytes | None = None,
    exif: bytes | None = None,
    level: int = PNG_LEVEL,
) -> None:
    """A PNG of ``shape`` (H x W or H x W x C) written from its bands of rows, top to bottom."""
    height, width = shape[:2]
    depth = 16 if np.dtype(dtype) == np.uint16 else 8
    stride = width * _channels(shape) * depth // 8
    header = struct.pack(">IIBBBBB", width, height, depth, _PNG_COLOUR_TYPES[_channels(shape)], 0, 0, 0)
    file.write(_PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_metadata_chunks(icc, exif))
    compressor = _compressor(level)
    previous = np.zeros(stride, np.uint8)
    pending: list[bytes] = []

    def flush(final: bool = False) -> None:
        if sum(map(len, pending)) >= _IDAT_BYTES or (final and pending):
            _write_chunk(file, b"IDAT", pending)
            pending.clear()

    for band in bands:
        raw = np.ascontiguousarray(band.astype(">u2") if depth == 16 else band).view(np.uint8)
        raw = raw.reshape(len(band), stride)
        rows = np.empty((len(band), stride + 1), np.uint8)
        rows[:, 0] = 2  # the Up filter; uint8 arithmetic wraps modulo 256, as PNG's filters do
        np.subtract(raw[1:], raw[:-1], out=rows[1:, 1:])
        np.subtract(raw[0], previous, out=rows[0, 1:])
        previous = raw[-1].copy()
        pending.append(compressor.compress(rows.data))
        flush()
    pending.append(compressor.flush())
    flush(final=True)
    file.write(png_chunk(b"IEND", b""))


def write_tiff(
    file: BinaryIO,
    shape: tuple[int, ...],
    dtype,
    bands: Iterable[np.ndarray],
    *,
    icc: bytes | None = None,
    exif: bytes | None = None,
    notes: list[str] | None = None,
) -> None:
    """A TIFF of ``shape`` written strip by strip from its bands; ``file`` must be seekable."""
    import tifffile

    dtype = np.dtype(dtype)
    channels = _channels(shape)
    row_bytes = shape[1] * channels * dtype.itemsize
    rows_per_strip = max(1, _STRIP_BYTES // row_bytes)
    bigtiff = int(np.prod(shape)) * dtype.itemsize > 2**32 - 2**26
    options: dict = {"photometric": "rgb" if channels >= 3 else "minisblack"}
    if channels in (2, 4):
        options["extrasamples"] = ["unassalpha"]
    start = file.tell()
    with tifffile.TiffWriter(file, bigtiff=bigtiff, byteorder="<") as tiff:
        tiff.write(
            _strips(bands, rows_per_strip, row_bytes, dtype),
            shape=shape,
            dtype=dtype,
            rowsperstrip=rows_per_strip,
            iccprofile=icc or None,
            metadata=None,
            software=False,
            **options,
        )
    if exif:
        problem = "a TIFF over 4 GB is written without EXIF metadata" if bigtiff else _add_exif(file, start, exif)
        if problem and notes is not None:
            notes.append(problem)


def _strips(bands: Iterable[np.ndarray], rows_per_strip: int, row_bytes: int, dtype: np.dtype) -> Iterator[bytes]:
    """The bands' bytes cut into strips of ``rows_per_strip`` rows (the last may be shorter)."""
    little = dtype.newbyteorder("<")
    held = bytearray()
    for band in bands:
        held += np.ascontiguousarray(band, dtype=little).tobytes()
        whole = len(held) // (rows_per_strip * row_bytes) * rows_per_strip * row_bytes
        for offset in range(0, whole, rows_per_strip * row_bytes):
            yield bytes(held[offset : offset + rows_per_strip * row_bytes])
        del held[:whole]
    if held:
        yield bytes(held)


def _add_exif(file: BinaryIO, start: int, exif: bytes) -> str | None:
    """Merge EXIF's tags (and its sub-directories) into the first directory of the classic,
    little-endian TIFF that begins at ``start``: Pillow serialises the EXIF directory at the
    end of the file; a merged directory follows it and the header points there. Values of
    the old directory stay where they are, so its entries stay valid."""
    from PIL import Image

    file.seek(0, 2)
    if file.tell() % 2:
        file.write(b"\0")
    exif_at = file.tell()
    try:
        tags = Image.Exif()
        tags.load(exif)
        tags.endian = "<"
        serialised = tags.tobytes(exif_at - start)[6 + 8 :]  # without "Exif\0\0" and its TIFF header
    except Exception:  # Pillow raises anything on damaged EXIF
        return "the input's EXIF metadata is damaged: written without it"
    file.write(serialised)
    (count,) = struct.unpack_from("<H", serialised)
    entries = {
        struct.unpack_from("<H", serialised, 2 + 12 * i)[0]: serialised[2 + 12 * i : 14 + 12 * i] for i in range(count)
    }
    file.seek(start + 4)
    (ifd_offset,) = struct.unpack("<I", file.read(4))
    file.seek(start + ifd_offset)
    (count,) = struct.unpack("<H", file.read(2))
    table = file.read(12 * count + 4)
    for i in range(count):  # the image's own entries win over EXIF's
        entries[struct.unpack_from("<H", table, 12 * i)[0]] = table[12 * i : 12 * i + 12]
    file.seek(0, 2)
    if file.tell() % 2:
        file.write(b"\0")
    merged_at = file.tell()
    file.write(struct.pack("<H", len(entries)) + b"".join(entries[t] for t in sorted(entries)) + table[-4:])
    file.seek(start + 4)
    file.write(struct.pack("<I", merged_at - start))
    file.seek(0, 2)
    return None


def write_bands(
    file: BinaryIO,
    fmt: str,
    shape: tuple[int, ...],
    dtype,
    bands: Iterable[np.ndarray],
    *,
    icc: bytes | None = None,
    exif: bytes | None = None,
    notes: list[str] | None = None,
    png_level: int = PNG_LEVEL,
) -> None:
    """Write a streamed image in ``fmt`` (one of ``STREAMED_FORMATS``)."""
    if fmt == "PNG":
        write_png(file, shape, dtype, bands, icc=icc, exif=exif, level=png_level)
    elif fmt == "TIFF":
        write_tiff(file, shape, dtype, bands, icc=icc, exif=exif, notes=notes)
    else:
        raise ValueError(f"{fmt} is not written band by band")
