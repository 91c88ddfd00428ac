"""BT.601 colour conversions exactly as MATLAB's ``rgb2ycbcr``, ``ycbcr2rgb`` and ``rgb2gray``.

Two forms, matching MATLAB's two behaviours:

* integer in, integer out (``rgb2ycbcr_uint8``, ``rgb2gray_uint8``): MATLAB's ``imlincomb``
  rounds and saturates; the paper's evaluation takes Y this way;
* float in, float out (``rgb2ycbcr``, ``ycbcr2rgb``): values in [0, 1], Y in [16, 235] / 255,
  Cb and Cr in [16, 240] / 255; the upscaler works this way and only rounds once at the end.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "GRAY_WEIGHTS",
    "YCBCR_MATRIX",
    "YCBCR_OFFSET",
    "rgb2gray_uint8",
    "rgb2y_uint8",
    "rgb2ycbcr",
    "rgb2ycbcr_uint8",
    "ycbcr2rgb",
]

# MATLAB's origT and origOffset, for RGB in [0, 1] mapped to YCbCr in [0, 255].
YCBCR_MATRIX = np.array(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ]
)
YCBCR_OFFSET = np.array([16.0, 128.0, 128.0])
_INVERSE = np.linalg.inv(YCBCR_MATRIX)

# MATLAB's rgb2gray: the first row of the inverse of the NTSC YIQ matrix
# (0.298936021293775, 0.587043074451121, 0.114020904255103).
GRAY_WEIGHTS = np.linalg.inv(np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.106, 1.703]]))[0]


def rgb2ycbcr(rgb: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1] (H x W x 3) to float YCbCr in MATLAB's ranges divided by 255."""
    rgb = np.asarray(rgb)
    work = rgb.dtype if rgb.dtype in (np.float32, np.float64) else np.float64
    matrix = (YCBCR_MATRIX / 255.0).astype(work)
    offset = (YCBCR_OFFSET / 255.0).astype(work)
    return rgb.astype(work, copy=False) @ matrix.T + offset


def ycbcr2rgb(ycbcr: np.ndarray) -> np.ndarray:
    """Inverse of ``rgb2ycbcr``: float YCbCr / 255 to float RGB in [0, 1] (not clipped)."""
    ycbcr = np.asarray(ycbcr)
    work = ycbcr.dtype if ycbcr.dtype in (np.float32, np.float64) else np.float64
    matrix = (_INVERSE * 255.0).astype(work)
    offset = (YCBCR_OFFSET / 255.0).astype(work)
    return (ycbcr.astype(work, copy=False) - offset) @ matrix.T


def _lincomb_uint8(rgb: np.ndarray, row: np.ndarray, offset: float) -> np.ndarray:
    """MATLAB ``imlincomb`` on uint8 planes: double arithmetic, round half away, saturate."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {rgb.dtype}")
    planes = rgb.astype(np.float64)
    value = row[0] * planes[..., 0] + row[1] * planes[..., 1] + row[2] * planes[..., 2] + offset
    # np.round rounds half to even; MATLAB rounds half away from zero (values here are >= 0).
    return np.clip(np.floor(value + 0.5), 0, 255).astype(np.uint8)


def rgb2ycbcr_uint8(rgb: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2ycbcr`` on a uint8 H x W x 3 image: uint8 YCbCr."""
    matrix = YCBCR_MATRIX / 255.0
    return np.stack([_lincomb_uint8(rgb, matrix[p], YCBCR_OFFSET[p]) for p in range(3)], axis=-1)


def rgb2y_uint8(rgb: np.ndarray) -> np.ndarray:
    """The Y plane of MATLAB ``rgb2ycbcr`` on a uint8 image (what the paper evaluates)."""
    return _lincomb_uint8(rgb, YCBCR_MATRIX[0] / 255.0, YCBCR_OFFSET[0])


def rgb2gray_uint8(rgb: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` on a uint8 image (full-range luminance, Table 4's BSD200)."""
    return _lincomb_uint8(rgb, GRAY_WEIGHTS, 0.0)
