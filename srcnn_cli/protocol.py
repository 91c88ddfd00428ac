"""The paper's evaluation protocol on arrays (no files, no network).

Shared by ``evaluate`` (the tables), ``train`` (data synthesis and progress checks) and
``bench``, so that training, evaluation and use all see the same low-resolution inputs:

    uint8 image -> luminance (rgb2ycbcr Y, or rgb2gray) -> crop to a multiple of the scale
    -> / 255 -> MATLAB bicubic down by 1/s -> MATLAB bicubic up by s (float, no rounding)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .color import rgb2gray_uint8, rgb2y_uint8
from .resize import imresize

__all__ = ["LUMAS", "luminance_uint8", "modcrop", "degrade", "EvalPair", "make_pair"]

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


def make_pair(name: str, image: np.ndarray, scale: int, luma: str | None = "ycbcr") -> EvalPair:
    """Build the protocol's (ground truth, bicubic input) pair; ``luma=None`` keeps RGB."""
    plane = image if luma is None else luminance_uint8(image, luma)
    plane = modcrop(plane, scale)
    return EvalPair(name, plane, degrade(plane.astype(np.float64) / 255.0, scale))
