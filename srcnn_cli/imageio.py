"""Decoding and encoding image files: modes, 16-bit, alpha, EXIF orientation, metadata, atomic writes.

Everything here turns files into arrays and back; nothing here knows about super-resolution.

* Decoded pixels are uint8 or uint16 (the dtype is the bit depth, never guessed from values),
  laid out H x W (gray), H x W x 2 (gray + alpha), x 3 (RGB) or x 4 (RGBA).
* 16-bit colour PNG/TIFF, which Pillow would reduce to 8 bits, are decoded with OpenCV.
* EXIF orientation is applied on read and reset to 1 in the EXIF that is carried to the output.
* Only allow-listed formats are opened (PNG, JPEG, TIFF, WebP, BMP, GIF), told by their first
  bytes, never by the name: a PostScript file named ``.png`` never reaches Pillow's EPS plugin.
* PNG chunk checksums are verified; a PNG's single transparent colour (tRNS) becomes alpha.
* Encoding takes an array or a ``pipeline.Stream``: PNG and TIFF are written band by band
  (``bandwriters``), other formats from the whole image; writes are atomic
  (``files.atomic_output``).
"""

from __future__ import annotations

import errno
import io
import struct
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .bandwriters import PNG_LEVEL, STREAMED_FORMATS, write_bands
from .errors import UnsupportedImage
from .files import atomic_output, read_regular_file
from .formats import FORMATS, READ_FORMATS
from .limits import DEFAULT_MAX_PIXELS
from .machine import decoding_memory_problem

_ORIENTATION = 0x0112
# Tags that describe how a TIFF stores its pixels (size, samples, compression, strips, tiles,
# colour map, ICC), not the picture. Pillow returns a TIFF's whole first IFD as its EXIF, so
# these are dropped: they are wrong for the upscaled image, and written back into a TIFF they
# contradict the new pixel layout (Pillow fails with "codec configuration error").
_TIFF_LAYOUT_TAGS = frozenset(
    {
        254,
        255,
        256,
        257,
        258,
        259,
        262,
        263,
        264,
        265,
        266,
        273,
        277,
        278,
        279,
        280,
        281,
        284,
        288,
        289,
        290,
        291,
        292,
        293,
        317,
        320,
        321,
        322,
        323,
        324,
        325,
        330,
        332,
        338,
        339,
        340,
        341,
        347,
        512,
        513,
        514,
        515,
        517,
        518,
        519,
        520,
        521,
        529,
        530,
        531,
        532,
        34675,
    }
)
_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_WIDE_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
# The formats we open, by their first bytes: the allow-list. Pillow is asked for this one alone.
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SIGNATURES = (
    (_PNG_SIGNATURE, "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)


@dataclass
class Decoded:
    pixels: np.ndarray
    mode: str  # L, LA, RGB or RGBA
    format: str | None = None
    icc_profile: bytes | None = None
    exif: bytes | None = None
    notes: list[str] = field(default_factory=list)  # conversions the user should hear about

    @property
    def bits(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8


def mode_of(pixels: np.ndarray) -> str:
    return _MODES[1 if pixels.ndim == 2 else pixels.shape[2]]


# --- decoding ---------------------------------------------------------------------------------
def _opencv():
    """OpenCV, with its own logging silenced: libtiff's complaints about a damaged file would
    print lines of their own, where the user gets one clear error from us."""
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    return cv2


def sniff_format(data: bytes) -> str | None:
    """The allow-listed format whose signature ``data`` starts with, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    return None


def _png_header(data: bytes) -> tuple[int, int] | None:
    """(bit depth, colour type) from a PNG's IHDR, or None if this is not a PNG."""
    if data[:8] != _PNG_SIGNATURE or len(data) < 26:
        return None
    return data[24], data[25]


def _png_chunks(data: bytes) -> dict[bytes, bytes]:
    """The first payload of each chunk type in a PNG, every chunk's CRC checked on the way.

    Pillow checks the CRCs of the chunks it parses, but not of the image data (IDAT): a
    damaged file would be upscaled without a word.
    """
    chunks: dict[bytes, bytes] = {}
    offset = len(_PNG_SIGNATURE)
    while offset + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        end = offset + 8 + length
        if end + 4 > len(data):
            raise UnsupportedImage(f"truncated PNG (the {_chunk_name(kind)} chunk runs past the end of the file)")
        (stored,) = struct.unpack_from(">I", data, end)
        if zlib.crc32(data[offset + 4 : end]) != stored:
            raise UnsupportedImage(f"corrupt PNG: the {_chunk_name(kind)} chunk fails its checksum")
        chunks.setdefault(kind, data[offset + 8 : end])
        if kind == b"IEND":
            return chunks
        offset = end + 4
    raise UnsupportedImage("truncated PNG (no end chunk)")


_INFLATED_METADATA = (b"iCCP", b"iTXt", b"zTXt")  # compressed metadata Pillow inflates only up to a limit


def _png_without(data: bytes, kinds: tuple[bytes, ...]) -> bytes:
    """The PNG with every chunk of ``kinds`` left out (the others, CRCs and all, as they are)."""
    parts = [data[: len(_PNG_SIGNATURE)]]
    offset = len(_PNG_SIGNATURE)
    while offset + 12 <= len(data):
        (length, kind) = struct.unpack_from(">I4s", data, offset)
        end = offset + 12 + length
        if kind not in kinds:
            parts.append(data[offset:end])
        offset = end
    return b"".join(parts)


def _chunk_name(kind: bytes) -> str:
    return kind.decode("ascii", "replace") if kind.isalpha() else repr(kind)


def _transparent_colour_alpha(pixels: np.ndarray, trns: bytes) -> np.ndarray | None:
    """For 16-bit gray or RGB pixels with a PNG tRNS key colour: the pixels with an alpha band."""
    bands = 1 if pixels.ndim == 2 else pixels.shape[2]
    if len(trns) != 2 * bands:
        return None
    key = np.array(struct.unpack(f">{bands}H", trns), dtype=pixels.dtype)
    colour = pixels[:, :, None] if pixels.ndim == 2 else pixels
    opaque = (colour != key).any(axis=2)
    alpha = np.where(opaque, np.iinfo(pixels.dtype).max, 0).astype(pixels.dtype)
    return np.concatenate([colour, alpha[:, :, None]], axis=2)


def _is_16bit_colour(image: Image.Image, data: bytes) -> bool:
    header = _png_header(data)
    if header is not None:
        return header[0] == 16 and header[1] in (2, 4, 6)  # RGB, gray+alpha, RGBA
    if image.format == "TIFF":
        bits = image.tag_v2.get(258) if hasattr(image, "tag_v2") else None
        samples = image.tag_v2.get(277, 1) if hasattr(image, "tag_v2") else 1
        bits = bits if isinstance(bits, tuple) else (bits,)
        return 16 in bits and samples >= 2
    return False


def _decode_16bit_tiff(data: bytes) -> np.ndarray:
    """A 16-bit TIFF of 2 to 4 samples through tifffile: gray + alpha, RGB or RGBA, as stored
    (OpenCV's reader made a gray + alpha file 8-bit gray without its alpha, without a word).
    Colour models other than gray and RGB (CMYK, say) are unsupported, not corrupt."""
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tiff:
            page = tiff.pages[0]
            photometric = page.photometric
            samples = page.samplesperpixel
            if photometric not in (tifffile.PHOTOMETRIC.MINISBLACK, tifffile.PHOTOMETRIC.RGB):
                raise UnsupportedImage(
                    f"16-bit TIFF in {photometric.name} colour is not supported (gray and RGB are, each with alpha)"
                )
            pixels = page.asarray()
            separate = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
    except UnsupportedImage:
        raise
    except Exception as exc:  # tifffile raises its own, and ValueError, for damaged files
        if "imagecodecs" in str(exc):  # a compression tifffile reads only with that package
            raise UnsupportedImage(f"16-bit gray + alpha TIFF with this compression is not supported ({exc})") from None
        raise UnsupportedImage(f"corrupt 16-bit TIFF data ({exc or type(exc).__name__})") from None
    if separate:
        pixels = np.moveaxis(pixels, 0, -1)
    wanted = 2 if photometric == tifffile.PHOTOMETRIC.MINISBLACK else (3, 4)
    if pixels.dtype != np.uint16 or pixels.ndim != 3 or pixels.shape[2] not in np.atleast_1d(wanted):
        raise UnsupportedImage(
            f"16-bit TIFF with {samples} samples of {pixels.dtype} in {photometric.name} colour is not supported"
        )
    return np.ascontiguousarray(pixels)


def _tiff_is_16bit_multisample(data: bytes) -> bool:
    """Whether a TIFF's first page holds 16-bit unsigned samples, two or more to a pixel, that
    OpenCV's reader would get wrong: gray + alpha, or a colour model other than RGB."""
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tiff:
            page = tiff.pages[0]
            wide = page.bitspersample == 16 and page.samplesperpixel >= 2 and page.sampleformat == 1
            return wide and (page.samplesperpixel == 2 or page.photometric != tifffile.PHOTOMETRIC.RGB)
    except Exception:  # not readable by tifffile either: OpenCV's reader decides
        return False


def _decode_16bit_colour(data: bytes, png_colour_type: int | None) -> np.ndarray:
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+") and _tiff_is_16bit_multisample(data):
        return _decode_16bit_tiff(data)
    cv2 = _opencv()

    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise UnsupportedImage("corrupt 16-bit image data")
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        pixels = pixels[:, :, ::-1]
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[:, :, [2, 1, 0, 3]]
        if png_colour_type == 4:  # gray + alpha arrives as BGRA with B = G = R
            pixels = pixels[:, :, [0, 3]]
    return np.ascontiguousarray(pixels.astype(np.uint16))


def _icc_to_srgb(image: Image.Image, mode: str) -> Image.Image | None:
    """Colour-manage a CMYK (or other) image with an embedded profile into sRGB, if possible."""
    profile = image.info.get("icc_profile")
    if not profile:
        return None
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode)
    except Exception:
        return None


_IMAGE_DESCRIPTION = 270
_BITS, _SAMPLE_FORMAT, _SIGNED = 258, 339, 2


def _tiff_sample_kind(image: Image.Image) -> tuple[int, bool]:
    """(bits per sample, signed) of a TIFF's samples; (0, False) for any other image."""
    tags = getattr(image, "tag_v2", None)
    if image.format != "TIFF" or tags is None:
        return 0, False
    bits, kind = tags.get(_BITS, 0), tags.get(_SAMPLE_FORMAT, 1)
    bits = bits[0] if isinstance(bits, tuple) else bits
    kind = kind[0] if isinstance(kind, tuple) else kind
    return int(bits or 0), kind == _SIGNED


def _signed_tiff_samples(image: Image.Image, pixels: np.ndarray, notes: list[str]) -> np.ndarray:
    """Signed 8-bit TIFF samples, which Pillow hands over as unsigned (-5 became 251): taken as
    signed, negative values clipped to 0, and said."""
    bits, signed = _tiff_sample_kind(image)
    if not (signed and bits == 8 and pixels.dtype == np.uint8):
        return pixels
    values = pixels.view(np.int8)
    notes.append("converted signed 8-bit samples to unsigned" + (", negative values to 0" if values.min() < 0 else ""))
    return np.clip(values, 0, 127).astype(np.uint8)


def pil_to_array(image: Image.Image, notes: list[str] | None = None) -> tuple[np.ndarray, str]:
    """Pixels and mode of an (already oriented) PIL image, converting unusual modes."""
    notes = notes if notes is not None else []
    mode = image.mode
    if mode in ("1", "L", "RGB") and "transparency" in image.info:  # a PNG's transparent colour
        target = "RGBA" if mode == "RGB" else "LA"
        return np.array(image.convert(target)), target
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.array(image), mode
    if mode.startswith("I;16"):
        return np.array(image).astype(np.uint16), "L"
    if mode == "I":
        # Pillow opens 16-bit gray PNGs as 32-bit "I"; PNG holds at most 16 bits.
        values = np.array(image)
        if image.format != "PNG":
            bits, signed = _tiff_sample_kind(image)
            kind = f"{'signed ' if signed else ''}{bits or 32}-bit integer"
            negative = ", negative values to 0" if values.min() < 0 else ""
            notes.append(f"converted {kind} gray to unsigned 16-bit (values clipped to 0..65535{negative})")
        return np.clip(values, 0, 65535).astype(np.uint16), "L"
    if mode == "1":
        return np.array(image.convert("L")), "L"
    if mode == "P":
        target = "RGBA" if "transparency" in image.info else "RGB"
        return np.array(image.convert(target)), target
    if mode in ("PA", "RGBa", "La"):
        target = "LA" if mode == "La" else "RGBA"
        return np.array(image.convert(target)), target
    if mode == "F":  # float pixels are taken as 0..1, like our float API
        return _float_to_uint16(np.array(image, dtype=np.float64), notes), "L"
    managed = _icc_to_srgb(image, "RGB")
    if managed is not None:
        notes.append(f"converted {mode} to RGB with its ICC profile")
        return np.array(managed), "RGB"
    notes.append(f"converted {mode} to RGB")
    return np.array(image.convert("RGB")), "RGB"


def array_to_pil(pixels: np.ndarray, mode: str | None = None) -> Image.Image:
    """Inverse of ``pil_to_array`` for the modes it returns (uint16 gray becomes ``I;16``)."""
    mode = mode or mode_of(pixels)
    if pixels.dtype == np.uint16:
        if mode != "L":
            raise UnsupportedImage("Pillow cannot hold 16-bit colour images; use numpy arrays")
        return Image.fromarray(np.ascontiguousarray(pixels.astype("<u2")))  # mode I;16
    image = Image.fromarray(np.ascontiguousarray(pixels))
    return image if image.mode == mode else image.convert(mode)


# The most bytes a pixel can take in a file we read: 4 samples of 32-bit float, uncompressed.
# A file bigger than this times --max-pixels (plus room for metadata) is refused unread.
_MAX_BYTES_PER_PIXEL = 16
_METADATA_ROOM = 64 * 2**20


def max_file_bytes(max_pixels: int | None) -> int | None:
    return None if not max_pixels else max_pixels * _MAX_BYTES_PER_PIXEL + _METADATA_ROOM


def read_image(path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Decoded:
    """Decode a file into a ``Decoded`` image, or raise ``UnsupportedImage`` saying why."""
    return decode_image(read_file_bytes(path, max_bytes=max_file_bytes(max_pixels)), max_pixels=max_pixels)


def read_file_bytes(path, *, max_bytes: int | None = None) -> bytes:
    """A regular file's bytes, or ``UnsupportedImage`` saying why they cannot be read."""
    try:
        return read_regular_file(Path(path), max_bytes)
    except ValueError as exc:  # a FIFO, a device, a folder
        raise UnsupportedImage(str(exc)) from None
    except IsADirectoryError:
        raise UnsupportedImage("is a folder, not an image file") from None
    except FileNotFoundError:
        raise UnsupportedImage("no such file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsupportedImage("a symbolic link loop") from None
        raise UnsupportedImage(f"cannot read the file ({exc.strerror or exc})") from None


_BOMB_LIMIT_LOCK = threading.Lock()


def _open_as(kind: str, data: bytes) -> Image.Image:
    """Open ``data`` with the plugin of the allow-listed format its signature named, and no other.

    The plugin is called directly rather than through ``Image.open``: that way Pillow's global
    decompression-bomb limit, which would refuse a size that --max-pixels allows, stays out of
    it; the size is checked against --max-pixels from the header right after.
    """
    Image.init()
    factory, accept = Image.OPEN[kind]
    if accept is not None and not accept(data[:16]):
        raise UnidentifiedImageError(kind)
    # WebP's plugin checks Pillow's bomb limit itself, and called a valid 182-megapixel file
    # "corrupt": --max-pixels alone decides, so the limit is lifted while the plugin opens
    with _BOMB_LIMIT_LOCK:
        limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return factory(io.BytesIO(data), "")
        finally:
            Image.MAX_IMAGE_PIXELS = limit


def _check_size(width: int, height: int, max_pixels: int | None) -> None:
    if max_pixels and width * height > max_pixels:
        raise UnsupportedImage(
            f"{width}x{height} is {width * height:,} pixels, over the limit of {max_pixels:,} "
            f"(raise it with --max-pixels)"
        )


def _serialise_exif(exif, notes: list[str]) -> bytes | None:
    """EXIF as bytes to write out again; a directory Pillow cannot write back (a damaged
    value, such as bytes where a fraction belongs) is dropped with a note."""
    try:
        return exif.tobytes()
    except Exception:  # Pillow raises anything on values of the wrong type
        notes.append("the input's EXIF metadata is damaged: written without it")
        return None


def decode_image(data: bytes, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Decoded:
    """Decode an encoded image (a file's bytes, or standard input) like ``read_image``.

    A PNG whose ICC profile or text (iCCP, iTXt, zTXt) inflates past what Pillow reads has fine
    pixels: it is upscaled without that metadata, with a note, rather than called corrupt."""
    try:
        return _decode(data, max_pixels)
    except UnsupportedImage as exc:
        if "decompressed data too large" not in str(exc).lower() or sniff_format(data) != "PNG":
            raise
    decoded = _decode(_png_without(data, _INFLATED_METADATA), max_pixels)
    decoded.notes.append("its ICC profile or text metadata inflates past the size that is read: upscaled without it")
    return decoded


def _decode(data: bytes, max_pixels: int | None) -> Decoded:
    if not data:
        raise UnsupportedImage("empty file (0 bytes)")
    kind = sniff_format(data)
    if kind is None:
        raise UnsupportedImage(f"not an image in a format srcnn reads ({READ_FORMATS})")
    chunks = _png_chunks(data) if kind == "PNG" else {}
    notes: list[str] = []
    try:
        image = _open_as(kind, data)
    except Exception as exc:  # a parser fed hostile bytes raises anything (TypeError, KeyError, ...)
        if kind == "TIFF":  # float colour, say, which Pillow has no mode for
            return _decode_tiff_with_opencv(data, max_pixels)
        raise UnsupportedImage(f"corrupt {kind} file ({exc or type(exc).__name__})") from None
    width, height = image.size
    _check_size(width, height, max_pixels)
    wide = image.mode in _WIDE_MODES or _is_16bit_colour(image, data)
    problem = decoding_memory_problem(height, width, len(image.getbands()), 2 if wide else 1)
    if problem:
        raise UnsupportedImage(problem)
    try:
        frames = getattr(image, "n_frames", 1)  # (walks the file: a damaged page fails here)
        if frames > 1:  # animations and multi-page TIFFs: say so rather than drop pages silently
            notes.append(f"has {frames} frames; only the first is upscaled")
        image.load()
        exif = image.getexif()
        orientation = exif.get(_ORIENTATION, 1)
        icc = image.info.get("icc_profile") or None
        oriented = ImageOps.exif_transpose(image) if orientation != 1 else image
    except MemoryError:
        raise
    except Exception as exc:  # as above: whatever the decoder raises, the file is what is wrong
        raise UnsupportedImage(f"truncated or corrupt {kind} file ({exc or type(exc).__name__})") from None
    if _ORIENTATION in exif:
        exif[_ORIENTATION] = 1  # the pixels are now upright
    for tag in _TIFF_LAYOUT_TAGS & set(exif):
        del exif[tag]
    if str(exif.get(_IMAGE_DESCRIPTION, "")).startswith('{"shape":'):
        del exif[_IMAGE_DESCRIPTION]  # tifffile's note of the input's shape: wrong for the output
    exif_bytes = _serialise_exif(exif, notes) if len(exif) else None
    header = _png_header(data)
    if _is_16bit_colour(image, data):
        pixels = _orient(_decode_16bit_colour(data, header[1] if header else None), orientation)
        mode = mode_of(pixels)
    else:
        pixels, mode = pil_to_array(oriented, notes)
        pixels = _signed_tiff_samples(image, pixels, notes)
        if image.mode == "CMYK" and icc:
            icc = None  # a CMYK profile no longer describes the RGB pixels
    if b"tRNS" in chunks and pixels.dtype == np.uint16 and mode in ("L", "RGB"):
        with_alpha = _transparent_colour_alpha(pixels, chunks[b"tRNS"])
        if with_alpha is not None:
            pixels, mode = with_alpha, mode_of(with_alpha)
    read_format = "JPEG" if image.format == "MPO" else image.format
    return Decoded(np.ascontiguousarray(pixels), mode, read_format, icc, exif_bytes, notes)


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a classic TIFF's first directory, read without decoding."""
    order = "<" if data[:2] == b"II" else ">"
    try:
        if struct.unpack_from(order + "H", data, 2)[0] != 42:
            return None
        (ifd,) = struct.unpack_from(order + "I", data, 4)
        (count,) = struct.unpack_from(order + "H", data, ifd)
        found = {}
        for index in range(count):
            tag, kind, _, value = struct.unpack_from(order + "HHI4s", data, ifd + 2 + 12 * index)
            if tag in (256, 257):
                found[tag] = struct.unpack_from(order + ("H" if kind == 3 else "I"), value)[0]
        return found[256], found[257]
    except (struct.error, KeyError):
        return None


def _decode_tiff_with_opencv(data: bytes, max_pixels: int | None) -> Decoded:
    """TIFFs Pillow has no mode for (32-bit float RGB, say), through OpenCV's libtiff."""
    cv2 = _opencv()

    size = _tiff_size(data)
    if size is None:
        raise UnsupportedImage("corrupt or unsupported TIFF file (its header cannot be read)")
    _check_size(*size, max_pixels)
    if _tiff_is_16bit_multisample(data):  # 16-bit gray + alpha: Pillow has no mode, OpenCV drops the alpha
        pixels = _decode_16bit_tiff(data)
        return Decoded(pixels, mode_of(pixels), "TIFF", None, None, [])
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (1, 3, 4)):
        raise UnsupportedImage("corrupt or unsupported TIFF file")
    notes: list[str] = []
    if pixels.ndim == 3:
        pixels = pixels[:, :, [2, 1, 0, 3][: pixels.shape[2]]] if pixels.shape[2] > 1 else pixels[:, :, 0]
    if pixels.dtype.kind == "f":
        pixels = _float_to_uint16(pixels.astype(np.float64), notes)
    elif pixels.dtype not in (np.uint8, np.uint16):
        raise UnsupportedImage(f"TIFF with {pixels.dtype} samples is not supported")
    return Decoded(np.ascontiguousarray(pixels), mode_of(pixels), "TIFF", None, None, notes)


def _float_to_uint16(values: np.ndarray, notes: list[str]) -> np.ndarray:
    """Float pixels, taken as 0..1 (the type decides, not the values), to 16 bits."""
    notes.append(f"converted 32-bit float {'gray' if values.ndim == 2 else 'colour'} (taken as 0..1) to 16-bit")
    not_numbers = np.isnan(values)
    if not_numbers.any():  # e.g. "no data" in scientific images; a cast would pick a value silently
        notes.append(f"{int(not_numbers.sum())} pixels were NaN (not a number); taken as 0")
        values[not_numbers] = 0.0  # (infinities clip to 0 or 1 like any value out of range)
    return np.clip(np.floor(values * 65535 + 0.5), 0, 65535).astype(np.uint16)


def _orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to an array decoded outside Pillow (as ``exif_transpose``)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    return np.ascontiguousarray(ops.get(orientation, lambda a: a)(pixels))


def to_8bit(pixels: np.ndarray) -> np.ndarray:
    """uint16 to uint8 by rounding v * 255 / 65535; uint8 passes through."""
    if pixels.dtype != np.uint16:
        return pixels
    return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def load_uint8(path) -> np.ndarray:
    """A uint8 gray (H x W) or RGB (H x W x 3) array, for evaluation and training data."""
    decoded = read_image(path)
    pixels = to_8bit(decoded.pixels)
    if decoded.mode == "LA":
        pixels = pixels[:, :, 0]
    elif decoded.mode == "RGBA":
        pixels = pixels[:, :, :3]
    return np.ascontiguousarray(pixels)


# --- encoding ---------------------------------------------------------------------------------
def format_for(path, fmt: str | None = None) -> str:
    """Pillow format name from ``-f`` or the output file's extension."""
    if fmt:
        key = fmt.lower().lstrip(".")
        if key not in FORMATS:
            raise UnsupportedImage(f"unknown format {fmt!r}: use png, jpg, webp, tiff or bmp")
        return FORMATS[key]
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UnsupportedImage(f"cannot tell the output format from {Path(path).name!r}: use -f png|jpg|webp|tiff|bmp")
    return FORMATS[suffix]


def check_encodable(mode: str, fmt: str) -> None:
    """Refuse what ``fmt`` cannot hold, as soon as the decoded mode is known (before any work)."""
    if fmt == "JPEG" and mode in ("LA", "RGBA"):
        raise UnsupportedImage(
            "JPEG cannot store transparency: write PNG, WEBP or TIFF instead (-f png), or flatten the image first"
        )


def encode_image(
    pixels: np.ndarray,
    fmt: str,
    *,
    quality: int | None = None,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    notes: list[str] | None = None,
    png_level: int = PNG_LEVEL,
) -> bytes:
    """Encode pixels to bytes in ``fmt`` (a Pillow format name), keeping metadata it can hold."""
    buffer = io.BytesIO()
    encode_stream(
        buffer,
        _whole(pixels),
        fmt,
        quality=quality,
        icc_profile=icc_profile,
        exif=exif,
        notes=notes if notes is not None else [],
        png_level=png_level,
    )
    return buffer.getvalue()


def _whole(pixels: np.ndarray):
    from .pipeline import Stream

    return Stream(pixels.shape, pixels.dtype, iter([pixels]))


def encode_stream(
    file: BinaryIO,
    image,
    fmt: str,
    *,
    quality: int | None = None,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    notes: list[str],
    png_level: int = PNG_LEVEL,
) -> None:
    """Encode a ``pipeline.Stream`` into ``file``: PNG and TIFF band by band (nothing of output
    size in memory), other formats from the collected image."""
    shape, dtype = image.shape, np.dtype(image.dtype)
    channels = shape[2] if len(shape) == 3 else 1
    check_encodable(_MODES[channels], fmt)
    if fmt in STREAMED_FORMATS:
        bands = image.bands
        if fmt == "TIFF" and channels == 2 and dtype == np.uint16:  # Pillow cannot open 16-bit LA TIFF
            notes.append("16-bit gray + alpha is written as 16-bit RGBA (TIFF)")
            shape, bands = shape[:2] + (4,), (band[:, :, [0, 0, 0, 1]] for band in bands)
        write_bands(file, fmt, shape, dtype, bands, icc=icc_profile, exif=exif, notes=notes, png_level=png_level)
        return
    pixels = image.collect()
    if pixels.dtype == np.uint16:
        notes.append(f"{fmt} holds 8 bits per channel: reduced the 16-bit result to 8 bits")
        pixels = to_8bit(pixels)
    mode = mode_of(pixels)
    pil_image = array_to_pil(pixels, mode)
    options: dict = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = 95 if quality is None else int(quality)
    if fmt == "JPEG":
        options["subsampling"] = "4:4:4" if options["quality"] >= 90 else "4:2:0"
    if fmt == "BMP" and mode == "LA":
        pil_image = pil_image.convert("RGBA")
    if fmt != "BMP":
        if icc_profile:
            options["icc_profile"] = icc_profile
        if exif:
            options["exif"] = exif
    pil_image.save(file, format=fmt, **options)


def write_image(
    path,
    pixels,
    *,
    fmt: str | None = None,
    quality: int | None = None,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    png_level: int = PNG_LEVEL,
) -> list[str]:
    """Encode and atomically write an image (an array, or a ``pipeline.Stream`` that PNG and
    TIFF write band by band); returns notes about lossy conversions."""
    path = Path(path)
    notes: list[str] = []
    image = _whole(pixels) if isinstance(pixels, np.ndarray) else pixels
    try:
        with atomic_output(path) as handle:
            encode_stream(
                handle,
                image,
                format_for(path, fmt),
                quality=quality,
                icc_profile=icc_profile,
                exif=exif,
                notes=notes,
                png_level=png_level,
            )
    except OSError as exc:
        raise UnsupportedImage(f"cannot write {path}: {exc.strerror or exc}") from None
    return notes
