"""``Upscaler``: an image array (or PIL image) in, the upscaled image of the same kind out.

The work happens tile by tile in output coordinates, so peak memory follows the tile, not the
image: for each tile the bicubic input window (tile + halo) is computed straight from the
low-resolution image with MATLAB-exact weights, run through the network, cropped, recombined
with bicubic chroma (Y mode) and alpha, and quantised into the output array.

* Y mode (the paper's): the network sees the bicubic Y; Cb and Cr are bicubic.
* RGB mode: a 3-channel model sees the bicubic RGB.
* Gray images are used as is (no colour conversion); alpha is bicubic and clipped.
* uint8 and uint16 are decided by dtype and processed in float32; float input is [0, 1].
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from .color import rgb2ycbcr, ycbcr2rgb
from .errors import ModelError, UnsupportedImage
from .models import CHANNEL_NAMES, LoadedModel, resolve_model
from .resize import resize_axis
from .runtime import Session, SrcnnWarning, auto_tile, iterate_tiles, plan_tiles

__all__ = ["Upscaler", "bicubic_window", "upscale_array"]

_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def _to_float(array: np.ndarray) -> np.ndarray:
    if array.dtype in _MAX:
        return array.astype(np.float32) / np.float32(_MAX[array.dtype])
    if array.dtype in (np.float32, np.float64):
        if not np.isfinite(array).all():  # one NaN would spread over a 17-pixel square of output
            raise UnsupportedImage("float pixels must be finite numbers (found NaN or infinity)")
        return array.astype(np.float32, copy=False)
    raise UnsupportedImage(f"unsupported pixel type {array.dtype}: use uint8, uint16 or float")


def _from_float(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    clipped = np.clip(values, 0.0, 1.0)
    if dtype in _MAX:
        return np.floor(clipped * np.float32(_MAX[dtype]) + np.float32(0.5)).astype(dtype)
    return clipped.astype(dtype)


def bicubic_window(planes: np.ndarray, scale: int, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """Rows [r0, r1) and columns [c0, c1) of the MATLAB bicubic x``scale`` of H x W x C planes.

    Bit-identical to the same window of a whole-image ``imresize`` (rows first, as MATLAB).
    """
    height, width = planes.shape[:2]
    tall = resize_axis(planes, 0, height * scale, float(scale), out_range=rows)
    return resize_axis(tall, 1, width * scale, float(scale), out_range=cols)


def upscale_array(
    pixels: np.ndarray,
    scale: int,
    session: Session,
    tile: int | None = None,
    on_tile: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Upscale H x W (gray), H x W x 2 (gray + alpha), x 3 (RGB) or x 4 (RGBA) by ``scale``.

    Returns the same layout and dtype. Y or RGB mode follows the session's model channels.
    """
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
        squeeze = True
    else:
        squeeze = False
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise UnsupportedImage(f"expected gray, gray+alpha, RGB or RGBA pixels, got shape {pixels.shape}")
    if pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise UnsupportedImage("the image is empty")
    if not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    height, width, bands = pixels.shape
    colour_bands = 1 if bands <= 2 else 3
    has_alpha = bands in (2, 4)
    values = _to_float(pixels)
    colour = values[:, :, :colour_bands]
    alpha = values[:, :, colour_bands:] if has_alpha else None
    model_channels = session.contract.channels

    if model_channels == 3:
        network_in = colour if colour_bands == 3 else np.repeat(colour, 3, axis=2)
        chroma = None
    elif colour_bands == 3:
        ycbcr = rgb2ycbcr(colour)
        network_in, chroma = ycbcr[:, :, :1], ycbcr[:, :, 1:]
    else:
        network_in, chroma = colour, None  # a gray image is used as is

    out_h, out_w = height * scale, width * scale
    halo = session.contract.receptive_radius
    if tile is None:
        tile = auto_tile(model_channels, halo)
    output = np.empty((out_h, out_w, bands), dtype=pixels.dtype)
    for t in iterate_tiles(plan_tiles(out_h, out_w, tile, halo), on_tile):
        window = bicubic_window(network_in, scale, (t.win_top, t.win_bottom), (t.win_left, t.win_right))
        result = session.run(window.transpose(2, 0, 1)).transpose(1, 2, 0)[t.crop]
        rows, cols = (t.out_top, t.out_bottom), (t.out_left, t.out_right)
        if model_channels == 3:
            rgb = result if colour_bands == 3 else result.mean(axis=2, keepdims=True)
        elif chroma is not None:
            cbcr = bicubic_window(chroma, scale, rows, cols)
            rgb = ycbcr2rgb(np.concatenate([result, cbcr], axis=2))
        else:
            rgb = result
        region = (slice(*rows), slice(*cols))
        output[region + (slice(0, colour_bands),)] = _from_float(rgb, pixels.dtype)
        if alpha is not None:
            output[region + (slice(colour_bands, bands),)] = _from_float(
                bicubic_window(alpha, scale, rows, cols), pixels.dtype
            )
    return output[:, :, 0] if squeeze else output


class Upscaler:
    """SRCNN upscaling with one model, reusable across images and threads.

    >>> Upscaler(model="9-5-5", scale=3).upscale(image)   # PIL image or numpy array

    ``model`` is a bundled name (``9-5-5``), ``None`` for the scale's default, or a path to an
    ``.onnx`` or ``.mat`` file. ``channels`` is ``"y"`` or ``"rgb"`` for bundled models; files
    bring their own. Holds no per-image state: ``upscale`` is safe to call concurrently.
    """

    def __init__(
        self,
        model: str | None = None,
        scale: int = 3,
        channels: str | None = None,
        device: str = "auto",
        threads: int = 0,
        tile: int | None = None,
    ):
        if channels is not None and channels not in CHANNEL_NAMES:
            raise ModelError(f"channels must be 'y' or 'rgb', got {channels!r}")
        self.scale = int(scale)
        self.tile = tile
        loaded: LoadedModel = resolve_model(model, self.scale, CHANNEL_NAMES[channels or "y"])
        self.model = loaded
        self.session = Session(loaded.data, device=device, threads=threads, source=loaded.source)
        got = self.session.contract.channels
        if channels is not None and CHANNEL_NAMES[channels] != got:
            raise ModelError(
                f"{loaded.source} takes {got} channel{'s' if got > 1 else ''}, but --channels "
                f"{channels} needs a {CHANNEL_NAMES[channels]}-channel model"
            )
        model_scale = self.session.contract.metadata.get("srcnn.scale")
        if model_scale and model_scale.isdigit() and int(model_scale) != self.scale:
            warnings.warn(f"{loaded.source} was trained for x{model_scale}, used here at x{self.scale}",
                          SrcnnWarning, stacklevel=2)

    @property
    def channels(self) -> str:
        return "rgb" if self.session.contract.channels == 3 else "y"

    def upscale(self, image, on_tile: Callable[[int, int], None] | None = None):
        """Upscale a PIL image or a numpy array; returns the same kind."""
        from PIL import Image

        if isinstance(image, Image.Image):
            from .imageio import array_to_pil, pil_to_array

            pixels, mode = pil_to_array(image)
            return array_to_pil(upscale_array(pixels, self.scale, self.session, self.tile, on_tile), mode)
        if isinstance(image, np.ndarray):
            return upscale_array(image, self.scale, self.session, self.tile, on_tile)
        raise TypeError(f"expected a PIL image or a numpy array, got {type(image).__name__}")
