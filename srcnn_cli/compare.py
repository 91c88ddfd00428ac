"""``srcnn compare``: the paper's Fig. 14 for any image. The same region of bicubic, each model and
the ground truth, side by side, zoomed with nearest neighbour, each labelled with its PSNR/SSIM
(when there is a ground truth) and the time the whole image took.

With a ground truth (the default), the image is cut to a multiple of the scale and downscaled
with MATLAB's bicubic, as ``srcnn eval`` does, and the 8-bit result is what every method
upscales; PSNR and SSIM are over BT.601 luma with ``scale`` pixels shaved, as in eval. With
``low_res=True`` the image itself is the input and there is nothing to score against.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import SrcnnError
from .metrics import quantize_uint8
from .protocol import luminance_uint8, modcrop, score
from .resize import imresize

PANEL_SIDE = 256  # a panel's side in pixels, by default (the region is zoomed up to it)
LABEL_HEIGHT = 58
GAP = 8


@dataclass
class Panel:
    label: str
    pixels: np.ndarray  # the region, uint8 gray or RGB, not yet zoomed
    psnr: float | None = None
    ssim: float | None = None
    ms: float | None = None

    def caption(self) -> list[str]:
        lines = [self.label]
        if self.psnr is not None:
            lines.append(f"{self.psnr:.2f} dB" + (f"  SSIM {self.ssim:.4f}" if self.ssim is not None else ""))
        if self.ms is not None:
            lines.append(f"{self.ms:.0f} ms")
        return lines


@dataclass
class Sheet:
    title: str
    region: tuple[int, int, int, int]  # x, y, width, height in output pixels
    zoom: int
    panels: list[Panel] = field(default_factory=list)


def most_detailed_region(luma: np.ndarray, width: int, height: int, stride: int = 4) -> tuple[int, int]:
    """Top-left (x, y) of the ``width`` x ``height`` window with the most gradient energy."""
    plane = luma.astype(np.float64)
    energy = np.zeros_like(plane)
    energy[:, 1:] += np.abs(np.diff(plane, axis=1))
    energy[1:, :] += np.abs(np.diff(plane, axis=0))
    table = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    ys = np.arange(0, plane.shape[0] - height + 1, stride)
    xs = np.arange(0, plane.shape[1] - width + 1, stride)
    sums = (
        table[ys[:, None] + height, xs[None, :] + width]
        - table[ys[:, None], xs[None, :] + width]
        - table[ys[:, None] + height, xs[None, :]]
        + table[ys[:, None], xs[None, :]]
    )
    best_y, best_x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(xs[best_x]), int(ys[best_y])


def _luma(image: np.ndarray) -> np.ndarray:
    return luminance_uint8(image, "ycbcr")


def compare(
    image: np.ndarray,
    *,
    scale: int = 3,
    models: list[str],
    name: str = "image",
    crop: tuple[int, int, int, int] | None = None,
    size: int = 64,
    zoom: int | None = None,
    low_res: bool = False,
    device: str = "auto",
    threads: int = 0,
    runtime: str = "auto",
) -> Sheet:
    """Upscale ``image`` (uint8 gray or RGB) with bicubic and each model; the panels of one region."""
    from .pipeline import Upscaler

    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise SrcnnError("compare takes an 8-bit gray or RGB image")
    truth = None if low_res else modcrop(image, scale)
    if truth is None:
        low = image
    else:
        low = quantize_uint8(imresize(truth.astype(np.float64) / 255.0, 1.0 / scale))
    out_h, out_w = low.shape[0] * scale, low.shape[1] * scale
    # names checked first
    upscalers = [Upscaler(spec, scale=scale, device=device, threads=threads, runtime=runtime) for spec in models]
    bicubic = quantize_uint8(imresize(low.astype(np.float64) / 255.0, float(scale)))
    outputs: list[tuple[str, np.ndarray, float | None]] = [("bicubic", bicubic, None)]
    for upscaler in upscalers:
        started = time.perf_counter()
        result = upscaler.upscale(low)
        outputs.append((upscaler.model.source, result, (time.perf_counter() - started) * 1e3))

    if crop is None:
        width = height = min(size, out_w, out_h)
        x, y = most_detailed_region(_luma(truth if truth is not None else bicubic), width, height)
    else:
        x, y, width, height = crop
        if width < 1 or height < 1 or x < 0 or y < 0 or x + width > out_w or y + height > out_h:
            raise SrcnnError(f"--crop {x},{y},{width},{height} is not inside the {out_w}x{out_h} result")
    zoom = zoom or max(1, PANEL_SIDE // max(width, height))
    region = (slice(y, y + height), slice(x, x + width))

    panels = []
    for label, pixels, ms in outputs:
        measured = score(_luma(truth), _luma(pixels), scale) if truth is not None else None
        panels.append(
            Panel(label, pixels[region], measured.psnr if measured else None, measured.ssim if measured else None, ms)
        )
    if truth is not None:
        panels.append(Panel("ground truth", truth[region]))
    kind = f"x{scale} from the image downscaled" if truth is not None else f"x{scale}"
    return Sheet(
        f"{name}, {kind}: region {x},{y} {width}x{height}, zoomed x{zoom}", (x, y, width, height), zoom, panels
    )


def render_sheet(sheet: Sheet, path, columns: int = 5) -> Path:
    """Draw the sheet: panels in rows of ``columns``, each captioned; a title above."""
    from PIL import Image, ImageDraw, ImageFont

    _, _, width, height = sheet.region
    panel_w, panel_h = width * sheet.zoom, height * sheet.zoom
    count = len(sheet.panels)
    cols = min(columns, count)
    rows = -(-count // cols)
    title_h = 30
    canvas = Image.new("RGB", (GAP + cols * (panel_w + GAP), title_h + rows * (panel_h + LABEL_HEIGHT + GAP)), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=15)
    draw.text((GAP, 7), sheet.title, fill="black", font=font)
    for index, panel in enumerate(sheet.panels):
        left = GAP + (index % cols) * (panel_w + GAP)
        top = title_h + (index // cols) * (panel_h + LABEL_HEIGHT + GAP)
        zoomed = np.repeat(np.repeat(panel.pixels, sheet.zoom, axis=0), sheet.zoom, axis=1)
        canvas.paste(Image.fromarray(zoomed).convert("RGB"), (left, top))
        for line_index, line in enumerate(panel.caption()):
            draw.text((left, top + panel_h + 4 + 17 * line_index), line, fill="black", font=font)
    path = Path(path)
    canvas.save(path)
    return path
