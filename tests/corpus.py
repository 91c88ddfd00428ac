"""A corpus of hostile and unusual inputs, generated (nothing downloaded), each with the outcome
``srcnn upscale`` must give it: upscaled with its mode kept, passed over, or one clear error.

    python -m tests.corpus FOLDER      # writes the corpus into FOLDER and prints the table

``tests/test_corpus.py`` upscales the whole corpus in one batch and checks every outcome;
docs/robustness.md shows the table this prints.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from srcnn_cli.limits import DEFAULT_MAX_PIXELS

SIZE = (13, 9)  # width, height: odd sizes, small enough for a fast batch


@dataclass(frozen=True)
class Case:
    """One file of the corpus and what must happen to it.

    ``outcome`` is "upscaled" (then ``mode`` and ``bits`` of the output and its ``size``),
    "error" or "skipped" (then ``message``, the end of the line that names the file).
    """

    group: str
    name: str
    outcome: str
    mode: str = ""
    bits: int = 8
    size: tuple[int, int] = SIZE
    message: str = ""


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- a PNG writer for every colour type, bit depth, tRNS and interlace -------------------------
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _scanlines(samples: np.ndarray, depth: int) -> bytes:
    """Rows of H x W x C integer samples at ``depth`` bits, each with filter byte 0."""
    height = samples.shape[0]
    if depth == 16:
        rows = samples.astype(">u2").reshape(height, -1).view(np.uint8)
    elif depth == 8:
        rows = samples.astype(np.uint8).reshape(height, -1)
    else:  # 1, 2, 4 bits: pack the samples of each row most significant first
        flat = samples.reshape(height, -1).astype(np.uint8)
        bits = np.unpackbits(flat[:, :, None], axis=2)[:, :, 8 - depth :].reshape(height, -1)
        rows = np.packbits(bits, axis=1)
    return b"".join(b"\x00" + row.tobytes() for row in rows)


def png_bytes(
    samples: np.ndarray,
    colour_type: int,
    depth: int,
    palette: np.ndarray | None = None,
    trns: bytes | None = None,
    interlace: bool = False,
) -> bytes:
    samples = samples if samples.ndim == 3 else samples[:, :, None]
    height, width = samples.shape[:2]
    if interlace:
        data = b"".join(
            _scanlines(samples[top::dy, left::dx], depth)
            for left, top, dx, dy in _ADAM7
            if samples[top::dy, left::dx].size
        )
    else:
        data = _scanlines(samples, depth)
    out = b"\x89PNG\r\n\x1a\n" + _chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, int(interlace))
    )
    if palette is not None:
        out += _chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    if trns is not None:
        out += _chunk(b"tRNS", trns)
    return out + _chunk(b"IDAT", zlib.compress(data)) + _chunk(b"IEND", b"")


def _png_cases(folder: Path) -> list[Case]:
    cases = []
    width, height = SIZE
    kinds = [(0, d) for d in (1, 2, 4, 8, 16)] + [
        (2, 8),
        (2, 16),
        (3, 1),
        (3, 2),
        (3, 4),
        (3, 8),
        (4, 8),
        (4, 16),
        (6, 8),
        (6, 16),
    ]
    for colour_type, depth in kinds:
        for with_trns in (False, True):
            if with_trns and colour_type in (4, 6):
                continue  # tRNS is not allowed where alpha is stored
            for interlace in (False, True):
                samples = _rng(depth).integers(0, 2**depth, (height, width, _SAMPLES[colour_type]))
                palette = trns = None
                if colour_type == 3:
                    samples = samples % min(2**depth, 16)
                    palette = _rng(3).integers(0, 256, (min(2**depth, 16), 3))
                    trns = bytes([0, 128]) if with_trns else None
                elif with_trns:
                    samples[0, 0] = 1
                    trns = struct.pack(">" + "H" * _SAMPLES[colour_type], *([1] * _SAMPLES[colour_type]))
                name = f"png_ct{colour_type}_{depth}bit{'_trns' if with_trns else ''}{'_interlaced' if interlace else ''}.png"
                (folder / name).write_bytes(png_bytes(samples, colour_type, depth, palette, trns, interlace))
                alpha = colour_type in (4, 6) or with_trns
                colour = colour_type in (2, 3, 6)
                mode = ("RGB" if colour else "L") + ("A" if alpha else "")
                cases.append(
                    Case("PNG colour types, depths, tRNS, interlace", name, "upscaled", mode, 16 if depth == 16 else 8)
                )
    return cases


def _damaged_png_cases(folder: Path) -> list[Case]:
    good = png_bytes(_rng(0).integers(0, 256, (SIZE[1], SIZE[0], 3)), 2, 8)
    cases = []
    for chunk in (b"IHDR", b"IDAT", b"IEND"):
        data = bytearray(good)
        at = data.index(chunk)
        length = struct.unpack(">I", data[at - 4 : at])[0]
        data[at + 4 + length] ^= 0x55
        name = f"png_bad_crc_{chunk.decode()}.png"
        (folder / name).write_bytes(bytes(data))
        cases.append(
            Case("damaged PNG", name, "error", message=f"corrupt PNG: the {chunk.decode()} chunk fails its checksum")
        )
    idat = good.index(b"IDAT")
    cuts = {
        5: "not an image in a format srcnn reads (PNG, JPEG, TIFF, WebP, BMP or GIF)",
        20: "truncated PNG (the IHDR chunk runs past the end of the file)",
        33: "truncated PNG (no end chunk)",
        idat + 20: "truncated PNG (the IDAT chunk runs past the end of the file)",
        len(good) - 12: "truncated PNG (no end chunk)",
    }
    for cut, message in cuts.items():
        name = f"png_cut_at_{cut}.png"
        (folder / name).write_bytes(good[:cut])
        cases.append(Case("damaged PNG", name, "error", message=message))
    return cases


def _jpeg_cases(folder: Path) -> list[Case]:
    cases = []
    base = _rng(5).integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
    for mode in ("L", "RGB", "CMYK"):
        name = f"jpeg_{mode.lower()}.jpg"
        Image.fromarray(base).convert(mode).save(folder / name, quality=95)
        cases.append(Case("JPEG modes and EXIF orientations", name, "upscaled", "L" if mode == "L" else "RGB"))
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        name = f"jpeg_orientation_{orientation}.jpg"
        Image.fromarray(base).save(folder / name, exif=exif.tobytes(), quality=95)
        size = SIZE if orientation < 5 else SIZE[::-1]
        cases.append(Case("JPEG modes and EXIF orientations", name, "upscaled", "RGB", size=size))
    return cases


def _tiff_cases(folder: Path) -> list[Case]:
    import cv2

    cases = []
    height, width = SIZE[1], SIZE[0]
    rng = _rng(7)
    group = "TIFF: 8/16-bit, float, multi-page"
    for dtype, bits in ((np.uint8, 8), (np.uint16, 16)):
        for bands in (1, 3, 4):
            pixels = rng.integers(0, np.iinfo(dtype).max, (height, width, bands), dtype=dtype)
            name = f"tiff_{bits}bit_{bands}band.tif"
            cv2.imwrite(str(folder / name), pixels if bands == 1 else pixels[:, :, [2, 1, 0, 3][:bands]])
            cases.append(Case(group, name, "upscaled", {1: "L", 3: "RGB", 4: "RGBA"}[bands], bits))
    import tifffile

    gray_alpha = rng.integers(0, 65535, (height, width, 2), dtype=np.uint16)  # the twin of png_4_16's LA
    tifffile.imwrite(folder / "tiff_16bit_2band.tif", gray_alpha, photometric="minisblack", extrasamples=[2])
    # read as 16-bit gray + alpha (it became 8-bit gray); written back to TIFF as 16-bit RGBA, by design
    cases.append(Case(group, "tiff_16bit_2band.tif", "upscaled", "RGBA", 16))
    for bands in (1, 3):
        name = f"tiff_float_{bands}band.tif"
        cv2.imwrite(str(folder / name), rng.random((height, width, bands), dtype=np.float32))
        cases.append(Case(group, name, "upscaled", "L" if bands == 1 else "RGB", 16))
    pages = [Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)) for _ in range(3)]
    pages[0].save(folder / "tiff_three_pages.tif", save_all=True, append_images=pages[1:])
    cases.append(Case(group, "tiff_three_pages.tif", "upscaled", "RGB"))
    return cases


def _other_format_cases(folder: Path) -> list[Case]:
    cases = []
    rng = _rng(9)
    rgb = rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (SIZE[1], SIZE[0], 4), dtype=np.uint8)
    frames = [Image.fromarray(rgb).convert("P"), Image.fromarray(rgb[::-1]).convert("P")]
    frames[0].save(folder / "gif_animated.gif", save_all=True, append_images=frames[1:])
    indexed = Image.fromarray(rng.integers(0, 4, (SIZE[1], SIZE[0]), dtype=np.uint8), "P")
    indexed.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    indexed.save(folder / "gif_transparent.gif", transparency=0)
    Image.fromarray(rgb).save(folder / "webp_rgb.webp", lossless=True)
    Image.fromarray(rgba).save(folder / "webp_rgba.webp", lossless=True)
    Image.fromarray(rgb).save(folder / "bmp_rgb.bmp")
    Image.fromarray(rgb[:, :, 0]).save(folder / "bmp_gray.bmp")
    for name, mode in (
        ("gif_animated.gif", "RGB"),
        ("gif_transparent.gif", "RGBA"),
        ("webp_rgb.webp", "RGB"),
        ("webp_rgba.webp", "RGBA"),
        ("bmp_rgb.bmp", "RGB"),
        ("bmp_gray.bmp", "L"),
    ):
        cases.append(Case("GIF, WebP, BMP", name, "upscaled", mode))
    return cases


_NOT_READ = "not an image in a format srcnn reads (PNG, JPEG, TIFF, WebP, BMP or GIF)"


def _disguised_cases(folder: Path) -> list[Case]:
    contents = {
        "eps_named.png": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n0 0 moveto showpage\n",
        "postscript_named.jpg": b"%!PS\n/Helvetica findfont 12 scalefont setfont\nshowpage\n",
        "pdf_named.png": b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n",
        "text_named.png": b"just some words\n",
        "html_named.png": b"<!doctype html><html><body><img src=x></body></html>\n",
        "svg_named.png": b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>\n",
        "jpeg2000_named.jpg": b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(64),
    }
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    return [Case("disguised formats", name, "error", message=_NOT_READ) for name in contents]


def _bomb_cases(folder: Path) -> list[Case]:
    """Small files that declare huge images: refused from the header, before any decoding."""
    side = 100_000
    png = png_bytes(np.zeros((1, 1, 1)), 0, 8)
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    bomb = (
        png[:8] + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(side + 1) * 4)) + _chunk(b"IEND", b"")
    )
    (folder / "bomb_png.png").write_bytes(bomb)
    buffer = io.BytesIO()
    Image.new("P", (2, 2)).save(buffer, "GIF")
    gif = bytearray(buffer.getvalue())
    gif[6:10] = struct.pack("<HH", 65535, 65535)  # logical screen
    at = gif.index(b",")  # image descriptor
    gif[at + 5 : at + 9] = struct.pack("<HH", 65535, 65535)
    (folder / "bomb_gif.gif").write_bytes(bytes(gif))
    over = f"pixels, over the limit of {DEFAULT_MAX_PIXELS:,} (raise it with --max-pixels)"
    return [
        Case(
            "bombs (huge declared sizes)", "bomb_png.png", "error", message=f"{side}x{side} is {side * side:,} {over}"
        ),
        Case(
            "bombs (huge declared sizes)", "bomb_gif.gif", "error", message=f"65535x65535 is {65535 * 65535:,} {over}"
        ),
    ]


def _odd_path_cases(folder: Path) -> list[Case]:
    good = png_bytes(_rng(11).integers(0, 256, (SIZE[1], SIZE[0], 3)), 2, 8)
    group = "odd paths and files"
    cases = []
    for name in (
        "ünïcödé 写真.png",
        "with spaces.png",
        "new\nline.png",
        "x" * 246 + ".png",
        "UPPER.PNG",
        "no_extension_is_passed_over",
    ):
        (folder / name).write_bytes(good)
        if name.startswith("no_extension"):
            cases.append(Case(group, name, "skipped", message="not an image (by its name)"))
        else:
            cases.append(Case(group, name, "upscaled", "RGB"))
    (folder / "zero_bytes.png").write_bytes(b"")
    cases.append(Case(group, "zero_bytes.png", "error", message="empty file (0 bytes)"))
    (folder / "loop.png").symlink_to("loop.png")
    cases.append(Case(group, "loop.png", "skipped", message="a symbolic link loop"))
    (folder / "ping.png").symlink_to("pong.png")
    (folder / "pong.png").symlink_to("ping.png")
    cases += [Case(group, n, "skipped", message="a symbolic link loop") for n in ("ping.png", "pong.png")]
    (folder / "dangling.png").symlink_to("nowhere.png")
    cases.append(Case(group, "dangling.png", "skipped", message="a broken symbolic link"))
    os.mkfifo(folder / "fifo.png")
    cases.append(Case(group, "fifo.png", "skipped", message="is a FIFO (named pipe), not an image file"))
    (folder / "folder.png").mkdir()  # a folder named like an image: not an input, nothing to say
    return cases


def build_corpus(folder: Path) -> list[Case]:
    folder.mkdir(parents=True, exist_ok=True)
    return (
        _png_cases(folder)
        + _damaged_png_cases(folder)
        + _jpeg_cases(folder)
        + _tiff_cases(folder)
        + _other_format_cases(folder)
        + _disguised_cases(folder)
        + _bomb_cases(folder)
        + _odd_path_cases(folder)
    )


def table(cases: list[Case]) -> str:
    """Markdown: for each group, how many files and what happened to them."""
    lines = ["| what | files | upscaled (mode kept) | one clear error | passed over |", "|---|---:|---:|---:|---:|"]
    groups: dict[str, Counter] = {}
    for case in cases:
        groups.setdefault(case.group, Counter())[case.outcome] += 1
    for group, counts in groups.items():
        lines.append(
            f"| {group} | {sum(counts.values())} | {counts['upscaled']} | {counts['error']} | {counts['skipped']} |"
        )
    total = Counter(case.outcome for case in cases)
    lines.append(
        f"| **all** | **{len(cases)}** | **{total['upscaled']}** | **{total['error']}** | **{total['skipped']}** |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(build_corpus(Path(sys.argv[1]))))
