"""The paper's evaluation protocol on arrays (no files, no network).

Shared by ``evaluate`` (the tables), ``train`` (data synthesis and progress checks) and
``bench``, so that training, evaluation and use all see the same low-resolution inputs and
the same scores:

    uint8 image -> luminance (rgb2ycbcr Y, or rgb2gray) -> crop to a multiple of the scale
    -> / 255 -> MATLAB bicubic down by 1/s -> MATLAB bicubic up by s (float, no rounding)
    output -> uint8 -> shave s pixels -> PSNR (and SSIM) against the uint8 ground truth

Colour (3-channel) models are scored as in the paper's Table 5: PSNR over the three uint8
YCbCr channels together. That reproduces its bicubic 34.57 dB on Set5 x3 (PSNR over R, G and B
would give 28.63), and the table's per-channel columns (Y 30.39, Cb 45.44, Cr 45.42).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .color import rgb2gray_uint8, rgb2y_uint8, rgb2ycbcr_uint8
from .metrics import psnr, quantize_uint8, shave, ssim
from .resize import imresize

__all__ = [
    "LUMAS",
    "EvalPair",
    "Score",
    "as_rgb",
    "degrade",
    "luminance_uint8",
    "make_pair",
    "modcrop",
    "model_pair",
    "score",
    "scored_view",
]

LUMAS = ("ycbcr", "gray")


def luminance_uint8(image: np.ndarray, luma: str = "ycbcr") -> np.ndarray:
    """The uint8 plane the paper scores: a gray image as is, else Y (``ycbcr``) or ``gray``."""
    if image.dtype != np.uint8:
        raise TypeError(f"the protocol is defined on uint8 images, got {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 3:
        if luma == "ycbcr":
            return rgb2y_uint8(image)
        if luma == "gray":
            return rgb2gray_uint8(image)
        raise ValueError(f"luma must be one of {LUMAS}, got {luma!r}")
    raise ValueError(f"expected a gray or RGB image, got shape {image.shape}")


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right so both sides are multiples of ``scale`` (the authors' modcrop)."""
    height, width = image.shape[:2]
    return image[: height - height % scale, : width - width % scale]


def degrade(ground_truth: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic down by 1/scale then up by scale, in float64, as the network's input."""
    low = imresize(ground_truth, 1.0 / scale)
    return imresize(low, output_shape=ground_truth.shape[:2])


@dataclass(frozen=True)
class EvalPair:
    """One test image under the protocol: uint8 ground truth and the float bicubic input."""

    name: str
    ground_truth: np.ndarray  # uint8, H x W (or H x W x 3 for RGB evaluation)
    bicubic: np.ndarray  # float64 in [0, 1] (unclipped), same shape
    low: np.ndarray  # float64 in [0, 1] (unclipped): the low-resolution plane, 1 / scale the size


def make_pair(name: str, image: np.ndarray, scale: int, luma: str | None = "ycbcr") -> EvalPair:
    """Build the protocol's (ground truth, bicubic input) pair; ``luma=None`` keeps RGB."""
    plane = image if luma is None else luminance_uint8(image, luma)
    plane = modcrop(plane, scale)
    low = imresize(plane.astype(np.float64) / 255.0, 1.0 / scale)
    return EvalPair(name, plane, imresize(low, output_shape=plane.shape[:2]), low)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An RGB image as is; a gray one repeated into three equal channels (for colour models)."""
    return image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)


def model_pair(name: str, image: np.ndarray, scale: int, channels: int, luma: str = "ycbcr") -> EvalPair:
    """The pair a ``channels``-channel model is scored on: its luminance, or the image as RGB."""
    if channels == 3:
        return make_pair(name, as_rgb(image), scale, None)
    return make_pair(name, image, scale, luma)


@dataclass(frozen=True)
class Score:
    psnr: float
    ssim: float | None  # None when not asked for (it costs more than PSNR)


def scored_view(image: np.ndarray) -> np.ndarray:
    """What is scored: a plane as is, an RGB image as its uint8 YCbCr channels (Table 5)."""
    return rgb2ycbcr_uint8(image) if image.ndim == 3 else image


def score(ground_truth: np.ndarray, output: np.ndarray, scale: int, with_ssim: bool = True) -> Score:
    """The protocol's score of one output: uint8 (floats in [0, 1] are rounded), shave, compare.

    SSIM of a 3-channel image is the mean over its Y, Cb and Cr channels.
    """
    if output.dtype != np.uint8:
        output = quantize_uint8(output)
    truth = shave(scored_view(ground_truth), scale)
    test = shave(scored_view(output), scale)
    similarity = None
    if with_ssim:
        if truth.ndim == 3:
            similarity = float(np.mean([ssim(truth[..., c], test[..., c]) for c in range(3)]))
        else:
            similarity = ssim(truth, test)
    return Score(psnr(truth, test), similarity)
