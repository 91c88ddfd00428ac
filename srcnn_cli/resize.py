"""MATLAB-exact bicubic ``imresize``, in numpy.

This module owns one thing: resampling arrays the way MATLAB's ``imresize(A, s, 'bicubic')``
does, because the paper's numbers (and every SRCNN weight file) were produced with it.
What makes MATLAB differ from OpenCV and PIL:

* the cubic kernel uses a = -0.5 (OpenCV uses -0.75);
* when shrinking, the kernel is widened by 1/scale and scaled down (antialiasing);
* out-of-range taps are mirrored (``[1..n, n..1]``), not clamped;
* the output length is ``ceil(scale * n)`` and pixel centres map with
  ``u = x / scale + 0.5 * (1 - 1 / scale)`` (1-based);
* the dimension with the smaller scale goes first; with equal scales, rows (height) first.

Resampling is a weighted gather along one axis; ``axis_weights`` returns the (indices, weights)
pair for a whole axis so a caller can resize any sub-range of the output (tiling) and get exactly
the values a full resize would give.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["axis_weights", "cubic", "imresize", "output_length", "resize_axis", "source_span"]


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5, as MATLAB's ``cubic``."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return inner + outer


def output_length(in_length: int, scale: float) -> int:
    """MATLAB's ``ceil(scale * n)``, forgiving float noise such as 255 * (1/3)."""
    exact = in_length * scale
    nearest = round(exact)
    if abs(exact - nearest) < 1e-9 * max(1.0, exact):
        return int(nearest)
    return math.ceil(exact)


@lru_cache(maxsize=64)
def axis_weights(in_length: int, out_length: int, scale: float, antialias: bool = True):
    """Source indices and weights for every output sample of one axis.

    Returns ``(indices, weights)``, both of shape (out_length, taps): output sample ``i`` is
    ``sum(weights[i] * source[indices[i]])``. Indices are 0-based and already mirrored into
    range. Cached per (sizes, scale) because eval and tiling ask for the same ones repeatedly;
    the arrays are read-only so the cache cannot be corrupted by a caller.
    """
    if in_length < 1 or out_length < 1:
        raise ValueError(f"cannot resize length {in_length} to {out_length}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    shrinking = scale < 1 and antialias
    kernel_width = 4.0 / scale if shrinking else 4.0

    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # position of each output centre in input coords
    left = np.floor(u - kernel_width / 2.0)
    taps = math.ceil(kernel_width) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    distance = u[:, None] - indices
    weights = scale * cubic(scale * distance) if shrinking else cubic(distance)
    weights = weights / weights.sum(axis=1, keepdims=True)

    # Mirror 1-based indices into [1, n] the way MATLAB does: aux = [1..n, n..1].
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]

    # MATLAB drops tap columns that are zero for every output sample.
    used = np.any(weights != 0, axis=0)
    indices = np.ascontiguousarray(indices[:, used])
    weights = np.ascontiguousarray(weights[:, used])
    indices.setflags(write=False)
    weights.setflags(write=False)
    return indices, weights


def source_span(
    in_length: int, out_length: int, scale: float, out_range: tuple[int, int], antialias: bool = True
) -> tuple[int, int]:
    """The input samples [low, high) that output samples ``out_range`` of one axis read."""
    indices, _ = axis_weights(in_length, out_length, float(scale), antialias)
    used = indices[out_range[0] : out_range[1]]
    return int(used.min()), int(used.max()) + 1


def resize_axis(
    array: np.ndarray,
    axis: int,
    out_length: int,
    scale: float | None = None,
    out_range: tuple[int, int] | None = None,
    antialias: bool = True,
    *,
    in_length: int | None = None,
    first: int = 0,
) -> np.ndarray:
    """Resize ``array`` along ``axis`` to ``out_length`` samples.

    ``scale`` defaults to ``out_length / in_length`` (MATLAB's output-size form). ``out_range``
    ``(start, stop)`` computes only those output samples, bit-identical to the same slice of
    the full result, and reads only the input samples they need. ``array`` may hold just
    samples ``first, first + 1, ...`` of an axis of ``in_length`` (a band of rows), as long as
    it holds every sample ``out_range`` needs (``source_span``). Float input is computed in its
    own precision (float32 stays float32); anything else is computed in float64.
    """
    if in_length is None:
        in_length = array.shape[axis]
    if scale is None:
        scale = out_length / in_length
    indices, weights = axis_weights(in_length, out_length, float(scale), antialias)
    if out_range is not None:
        start, stop = out_range
        indices, weights = indices[start:stop], weights[start:stop]
    if out_range is not None or first:
        low, high = (int(indices.min()), int(indices.max()) + 1) if indices.size else (first, first)
        if low < first or high > first + array.shape[axis]:
            raise ValueError(f"samples {low}..{high} are needed; the array holds {first}..{first + array.shape[axis]}")
        array = array[(slice(None),) * axis + (slice(low - first, high - first),)]
        indices = indices - low
    work_dtype = array.dtype if array.dtype in (np.float32, np.float64) else np.float64
    weights = weights.astype(work_dtype, copy=False)
    # The resized axis first and everything else flattened behind it, contiguous: each tap is
    # then a gather of whole rows, 1.4-3x faster than gathering through a strided view. The sum
    # runs tap by tap in the same order as before, so results are bit-identical.
    moved = np.ascontiguousarray(np.moveaxis(array, axis, 0), dtype=work_dtype)
    rows = moved.reshape(moved.shape[0], -1)
    result = np.multiply(rows[indices[:, 0]], weights[:, 0, None])
    scratch = np.empty_like(result)
    for tap in range(1, indices.shape[1]):
        np.take(rows, indices[:, tap], axis=0, out=scratch)
        scratch *= weights[:, tap, None]
        result += scratch
    return np.moveaxis(result.reshape((len(indices),) + moved.shape[1:]), 0, axis)


def imresize(
    image: np.ndarray,
    scale: float | None = None,
    output_shape: tuple[int, int] | None = None,
    antialias: bool = True,
) -> np.ndarray:
    """MATLAB ``imresize(image, scale, 'bicubic')`` or ``imresize(image, [h, w], 'bicubic')``.

    ``image`` is H x W or H x W x C. Integer images are computed in float64 and returned as
    float64 (no rounding): callers decide how to quantise, as the eval protocol requires.
    """
    if image.ndim not in (2, 3):
        raise ValueError(f"expected an H x W or H x W x C array, got shape {image.shape}")
    height, width = image.shape[:2]
    if output_shape is not None:
        out_h, out_w = (int(v) for v in output_shape)
        scales = (out_h / height, out_w / width)
    elif scale is not None:
        scales = (float(scale), float(scale))
        out_h, out_w = output_length(height, scale), output_length(width, scale)
    else:
        raise ValueError("give a scale or an output shape")
    # The axis with the smaller scale goes first; ties keep rows first (a stable sort).
    order = sorted(range(2), key=lambda axis: scales[axis])
    out_lengths = (out_h, out_w)
    result = image
    for axis in order:
        result = resize_axis(result, axis, out_lengths[axis], scales[axis], antialias=antialias)
    return result
