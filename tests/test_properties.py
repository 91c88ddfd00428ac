"""Property-based tests (hypothesis): random bytes and random valid images of random modes and
sizes through decode -> upscale -> encode with a tiny model. Whatever comes in, nothing but our
typed errors comes out; a valid image comes back ``scale`` times larger in its own mode."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from srcnn_cli.errors import SrcnnError
from srcnn_cli.imageio import decode_image, encode_image, mode_of
from srcnn_cli.onnxmodel import identity_layers, srcnn_onnx_bytes
from srcnn_cli.pipeline import upscale_array
from srcnn_cli.runtime import Session

SESSION = Session(srcnn_onnx_bytes(identity_layers(n1=8, n2=4)), device="cpu", threads=1)
BANDS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
# the formats that hold each (mode, bits) exactly as it is (lossless), as srcnn writes them
WRITERS = {
    ("L", 8): ["PNG", "TIFF", "BMP", "JPEG"],  # WebP has no gray: it decodes as RGB ("LA", 8): ["PNG", "TIFF"],
    ("RGB", 8): ["PNG", "TIFF", "BMP", "WEBP", "JPEG"],
    ("RGBA", 8): ["PNG", "TIFF", "WEBP"],
    ("L", 16): ["PNG", "TIFF"],
    ("LA", 16): ["PNG"],
    ("RGB", 16): ["PNG", "TIFF"],
    ("RGBA", 16): ["PNG", "TIFF"],
}
_SEEDS = {}


LIMIT = 64 * 64  # damaged headers can declare any size: bigger ones get our "too many pixels" error


def round_trip(data: bytes, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """decode -> upscale -> encode (PNG) -> decode: the input's pixels and the output's."""
    decoded = decode_image(data, max_pixels=LIMIT)
    upscaled = upscale_array(decoded.pixels, scale, SESSION)
    again = decode_image(
        encode_image(upscaled, "PNG", icc_profile=decoded.icc_profile, exif=decoded.exif), max_pixels=None
    )
    return decoded.pixels, again.pixels


@st.composite
def images(draw):
    mode, bits = draw(st.sampled_from(sorted(WRITERS)))
    width, height = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    dtype = np.uint16 if bits == 16 else np.uint8
    seed = draw(st.integers(0, 2**32 - 1))
    shape = (height, width) if BANDS[mode] == 1 else (height, width, BANDS[mode])
    pixels = np.random.default_rng(seed).integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    fmt = draw(st.sampled_from(WRITERS[(mode, bits)]))
    if fmt == "WEBP":  # lossless, so the mode survives; our writer uses lossy quality 95
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "WEBP", lossless=True)
        return mode, bits, buffer.getvalue()
    return mode, bits, encode_image(pixels, fmt)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(images(), st.integers(2, 4))
def test_valid_images_come_back_larger_in_their_own_mode(image, scale):
    mode, bits, data = image
    before, after = round_trip(data, scale)
    assert mode_of(before) == mode and mode_of(after) == mode
    assert after.dtype == (np.uint16 if bits == 16 else np.uint8)
    assert after.shape[:2] == (scale * before.shape[0], scale * before.shape[1])


def _valid_files() -> list[bytes]:
    """One small file of each format we read, to be damaged by the next test."""
    if not _SEEDS:
        rng = np.random.default_rng(0)
        rgb = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
        files = [encode_image(rgb, fmt) for fmt in ("PNG", "JPEG", "TIFF", "BMP", "WEBP")]
        files.append(encode_image(rgb.astype(np.uint16) * 257, "PNG"))
        files.append(encode_image(rgb.astype(np.uint16) * 257, "TIFF"))
        buffer = io.BytesIO()
        Image.fromarray(rgb).convert("P").save(buffer, "GIF")
        files.append(buffer.getvalue())
        _SEEDS["files"] = files
    return _SEEDS["files"]


@st.composite
def damaged_files(draw):
    data = bytearray(draw(st.sampled_from(_valid_files())))
    for _ in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) if draw(st.booleans()) else bytes(data)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=512), damaged_files()), st.integers(2, 4))
def test_any_bytes_give_an_image_or_one_of_our_errors(data, scale):
    try:
        before, after = round_trip(data, scale)
    except SrcnnError:
        return  # a typed error: the CLI prints it as one line
    assert after.shape[:2] == (scale * before.shape[0], scale * before.shape[1])
    assert mode_of(after) == mode_of(before)
