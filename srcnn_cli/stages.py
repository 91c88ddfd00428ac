"""The work around the network, as two small ONNX graphs that onnxruntime runs beside it.

The model contract stays as it is (the network sees bicubic planes in [0, 1]); what changes is
who computes those planes. Per tile:

* ``prepare``: the low-resolution window, mirror-padded by ``PAD`` samples on each side
  (1 x B x h+4 x w+4, float32 in [0, 1]) -> the colour change (a 1x1 convolution, ``Planes``)
  -> MATLAB's bicubic x``s`` -> 1 x K x sh x sw. Two forms, the same sums to float32 rounding:
  for a window of up to ``DENSE_LIMIT`` samples a side, the columns are one matrix product with
  the window's interpolation matrix (``interpolation_matrix``, passed by ``prepare_feeds``), done
  on the low-resolution rows, and the rows are a gather of each output row's five source rows
  (``tap_indices``) times the ``s`` x 5 phase weights, whose result is already in output order
  (1 x K x h x s x sw is 1 x K x sh x sw); for larger windows, whose dense product would grow
  with the square of the side, a polyphase convolution (each output phase a 5x5 kernel, the
  outer product of the row and column weights) and ``DepthToSpace``. On the default tiles the
  dense columns do some thirty times the filter's sums, yet take less time than the
  interleaving of ``DepthToSpace``; a dense product for the rows too took a third longer.
* ``finish``: the network's output times the colour change back, plus the additive planes
  ``prepare`` made -> clipped to the image's range, rounded half up -> 1 x H x W x B in the
  image's dtype.

Both run multithreaded next to the network instead of in numpy on one core; the results equal
the numpy path (``resize.imresize``, ``color``) to float32 rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Callable

import numpy as np

from .color import YCBCR_MATRIX, YCBCR_OFFSET
from .onnxmodel import GraphBuilder
from .resize import axis_weights

__all__ = [
    "DENSE_LIMIT",
    "PAD",
    "PEAKS",
    "Planes",
    "finish_graph",
    "interpolation_matrix",
    "is_dense",
    "mirror",
    "padded_window",
    "phase_weights",
    "plan_planes",
    "prepare_feeds",
    "prepare_graph",
    "tap_indices",
]

PAD = 2  # low-resolution samples each side that a bicubic phase reads beyond its own
DENSE_LIMIT = 256  # padded low-resolution samples a side up to which the bicubic's columns are a matrix product
_TAPS = 2 * PAD + 1
PEAKS = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}  # integer dtypes and their largest value


def phase_weights(scale: int) -> np.ndarray:
    """``scale`` x 5 weights: output sample ``scale * i + p`` of a MATLAB bicubic x``scale`` is
    ``sum(w[p, k] * source[i - 2 + k])`` (taps mirrored into range by the caller)."""
    length = 4 * _TAPS
    indices, weights = axis_weights(length, length * scale, float(scale))
    base = length // 2
    phases = np.zeros((scale, _TAPS))
    for p in range(scale):
        for index, weight in zip(indices[base * scale + p], weights[base * scale + p]):
            phases[p, index - base + PAD] += weight
    return phases


def _shared(build: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """``build``'s arrays made once per arguments and shared by every tile, hence read-only."""

    @lru_cache(maxsize=16)
    @wraps(build)
    def shared(*args, **kwargs) -> np.ndarray:
        array = build(*args, **kwargs)
        array.flags.writeable = False
        return array

    return shared


@_shared
def interpolation_matrix(scale: int, length: int, transposed: bool = False) -> np.ndarray:
    """``scale * length`` x ``length + 2 * PAD`` float32: row ``scale * i + p`` holds phase
    ``p``'s 5 weights at columns ``i .. i + 4`` of a mirror-padded axis (``transposed``: the
    other way round). Read-only."""
    phases = phase_weights(scale)
    matrix = np.zeros((scale * length, length + 2 * PAD), np.float32)
    for sample in range(length):
        matrix[scale * sample : scale * (sample + 1), sample : sample + _TAPS] = phases
    return np.ascontiguousarray(matrix.T) if transposed else matrix


@_shared
def tap_indices(length: int) -> np.ndarray:
    """``length`` x 5 int64: row ``i`` holds the mirror-padded axis's samples ``i .. i + 4``,
    the taps of output samples ``scale * i .. scale * i + scale - 1``. Read-only."""
    return np.arange(length)[:, None] + np.arange(_TAPS)


def is_dense(window_shape: tuple[int, ...]) -> bool:
    """Whether a window of this shape (its last two dimensions) takes the dense ``prepare``."""
    return max(window_shape[-2:]) <= DENSE_LIMIT


def prepare_feeds(window: np.ndarray, scale: int) -> dict[str, np.ndarray]:
    """``prepare``'s inputs for a 1 x B x h+4 x w+4 mirror-padded float32 window (where the
    window ``is_dense``, the columns' interpolation matrix, the rows' taps and the output's shape
    too)."""
    if not is_dense(window.shape):
        return {"low": window}
    height, width = window.shape[2] - 2 * PAD, window.shape[3] - 2 * PAD
    return {
        "low": window,
        "columns": interpolation_matrix(scale, width, transposed=True),
        "taps": tap_indices(height),
        "shape": _high_shape(scale * height, scale * width),
    }


@_shared
def _high_shape(height: int, width: int) -> np.ndarray:
    """``prepare``'s output shape for its Reshape (the planes left to the graph). Read-only."""
    return np.array([1, -1, height, width], np.int64)


def mirror(start: int, stop: int, length: int) -> np.ndarray:
    """Indices ``start .. stop - 1`` folded into ``[0, length)`` as MATLAB mirrors taps
    (``[0 .. n-1, n-1 .. 0]``, repeated)."""
    folded = np.mod(np.arange(start, stop), 2 * length)
    return np.where(folded < length, folded, 2 * length - 1 - folded)


@lru_cache(maxsize=64)
def _reach(start: int, stop: int, length: int) -> tuple[slice, np.ndarray | None]:
    """Samples ``start .. stop - 1`` of an axis of ``length``, mirrored: the slice of the axis
    they come from and, where the mirror folds them, their indices in that slice (None: the
    slice itself, in order). Read-only."""
    if start >= 0 and stop <= length:
        return slice(start, stop), None
    index = mirror(start, stop, length)
    low = int(index.min())
    local = index - low
    local.flags.writeable = False
    return slice(low, int(index.max()) + 1), local


def padded_window(planes: np.ndarray, rows: tuple[int, int], columns: tuple[int, int]) -> np.ndarray:
    """Rows ``[r0 - PAD, r1 + PAD)`` and columns ``[c0 - PAD, c1 + PAD)`` of H x W x B planes,
    mirrored past the image's edges (``mirror``): a view where the window lies inside the
    image, else a copy of the window alone."""
    row_span, row_index = _reach(rows[0] - PAD, rows[1] + PAD, planes.shape[0])
    column_span, column_index = _reach(columns[0] - PAD, columns[1] + PAD, planes.shape[1])
    window = planes[row_span, column_span]
    if row_index is not None:
        window = window.take(row_index, axis=0)
    if column_index is not None:
        window = window.take(column_index, axis=1)
    return window


@dataclass(frozen=True)
class Planes:
    """What ``prepare`` makes of an image's B bands, and how ``finish`` makes them bands again.

    ``prepare`` makes K = C + B planes with the affine map ``into`` (K x B matrix, K offsets),
    then their bicubic: the C planes the network sees (Y, or R, G and B), and for each output
    band an additive plane. ``finish`` gives band b = ``mix[b] . network + additive[b]``:
    linear maps commute with the bicubic (its weights sum to one), so the colour change back
    costs one multiply-add per band at full size; chroma and offsets are done at low
    resolution. For an integer image the scale and the rounding half are folded in."""

    bands: int
    network: int  # C
    into: tuple[np.ndarray, np.ndarray]
    mix: np.ndarray  # B x C
    top: float  # 255, 65535, or 1 for a float image

    @property
    def planes(self) -> int:
        return self.network + self.bands


def plan_planes(bands: int, network_channels: int, dtype) -> Planes:
    """Y model on RGB(A): BT.601 Y for the network, R, G and B back from Y and the bicubic
    chroma. RGB model on gray: gray repeated into R, G and B, their mean back. Alpha, and gray
    for a Y model, go as they are."""
    top = PEAKS.get(np.dtype(dtype), 1.0)
    colour_bands = 1 if bands <= 2 else 3
    network_rows = np.zeros((network_channels, bands))
    mix = np.zeros((bands, network_channels))
    additive = np.eye(bands)  # rows: bands out; columns: bands in
    offsets = np.zeros(bands)
    if network_channels == 1 and colour_bands == 3:
        forward = YCBCR_MATRIX / 255.0  # [0, 1] RGB to YCbCr / 255, less the offsets
        inverse = np.linalg.inv(YCBCR_MATRIX) * 255.0
        network_rows[0, :3] = forward[0]
        mix[:3, 0] = inverse[:, 0]
        additive[:3, :3] = inverse[:, 1:] @ forward[1:]  # chroma's share of R, G and B
        offsets[:3] = -inverse[:, 0] * YCBCR_OFFSET[0] / 255.0  # Y's offset, taken back
        y_offset = YCBCR_OFFSET[0] / 255.0
    else:  # the network sees the colour bands (gray repeated for an RGB model)
        network_rows[:, 0] = 1.0
        if colour_bands == 3:
            network_rows[:, :3] = np.eye(3)
        mix[:colour_bands] = 1.0 / network_channels if colour_bands == 1 else np.eye(3)
        additive[:colour_bands] = 0.0
        y_offset = 0.0
    rounding = 0.5 if top > 1 else 0.0
    matrix = np.concatenate([network_rows, additive * top])
    offset = np.concatenate([np.full(network_channels, y_offset), offsets * top + rounding])
    return Planes(bands, network_channels, (matrix, offset), mix * top, top)


def _pointwise(graph: GraphBuilder, values: str, affine: tuple[np.ndarray, np.ndarray]) -> str:
    matrix, offset = affine
    weight = graph.constant(matrix.astype(np.float32)[:, :, None, None])
    return graph.node("Conv", [values, weight, graph.constant(offset.astype(np.float32))], kernel_shape=[1, 1])


def prepare_graph(scale: int, planes: Planes, dense: bool, lowres: bool = False) -> bytes:
    """Input ``low`` (1 x B x h+4 x w+4, float32), and for the ``dense`` form the columns'
    interpolation matrix ``columns`` (w+4 x sw), the rows' ``taps`` (h x 5) and the output's
    ``shape`` (``prepare_feeds``); output ``high`` (1 x K x sh x sw).

    ``lowres`` (a model under the low-resolution contract): the C planes the network sees stay
    low-resolution, output ``seen`` (1 x C x h x w), and ``high`` holds the B additive planes
    only."""
    graph = GraphBuilder("srcnn-prepare")
    values = _pointwise(graph, "low", planes.into)
    inputs: list[tuple] = [("low", [1, planes.bands, "h", "w"])]
    outputs: list[tuple] = []
    interpolated = planes.planes
    if lowres:

        def part(first: int, last: int, inset: int, name: str | None = None) -> str:
            starts = graph.constant(np.array([first, inset, inset], np.int64))
            ends = graph.constant(np.array([last, -inset or 2**62, -inset or 2**62], np.int64))
            return graph.node("Slice", [values, starts, ends, graph.constant(np.array([1, 2, 3], np.int64))], name)

        part(0, planes.network, PAD, "seen")
        outputs.append(("seen", [1, planes.network, "h0", "w0"]))
        values = part(planes.network, planes.planes, 0)
        interpolated = planes.bands
    if dense:
        wide = graph.node("MatMul", [values, "columns"])  # 1 x K x h+4 x sw
        taps = graph.node("Gather", [wide, "taps"], axis=2)  # 1 x K x h x 5 x sw
        phased = graph.node("MatMul", [graph.constant(phase_weights(scale).astype(np.float32)), taps])
        graph.node("Reshape", [phased, "shape"], "high")  # 1 x K x h x s x sw is 1 x K x sh x sw
        inputs += [("columns", ["w", "W"]), ("taps", ["r", _TAPS], np.int64), ("shape", [4], np.int64)]
    else:
        phases = phase_weights(scale)
        kernel = np.einsum("ai,bj->abij", phases, phases).reshape(scale * scale, 1, _TAPS, _TAPS)
        kernel = np.tile(kernel, (interpolated, 1, 1, 1)).astype(np.float32)  # one group per plane
        values = graph.node("Conv", [values, graph.constant(kernel)], kernel_shape=[_TAPS, _TAPS], group=interpolated)
        graph.node("DepthToSpace", [values], "high", blocksize=scale, mode="CRD")
    return graph.build(inputs, [("high", [1, interpolated, "H", "W"]), *outputs])


def finish_graph(planes: Planes, dtype) -> bytes:
    """Inputs ``network`` (1 x C x H x W, the network's output) and ``additive`` (the last B
    planes of ``prepare``'s output); output ``pixels`` (1 x H x W x B in ``dtype``; float32
    for a float image)."""
    dtype = np.dtype(dtype)
    graph = GraphBuilder("srcnn-finish")
    mix = planes.mix.astype(np.float32)
    if planes.network == 1:  # broadcast: 1 x 1 x H x W times 1 x B x 1 x 1
        values = graph.node("Mul", ["network", graph.constant(mix.reshape(1, planes.bands, 1, 1))])
    else:
        values = graph.node("Conv", ["network", graph.constant(mix[:, :, None, None])], kernel_shape=[1, 1])
    values = graph.node("Add", [values, "additive"])
    integer = dtype in PEAKS
    low, high = (0.5, planes.top + 0.5) if integer else (0.0, 1.0)  # clip(v, 0, 1), scaled
    values = graph.node(
        "Clip", [values, graph.constant(np.array(low, np.float32)), graph.constant(np.array(high, np.float32))]
    )
    if integer:  # Cast truncates toward zero: the floor of the clipped (positive) values
        values = graph.node("Cast", [values], to=2 if dtype == np.uint8 else 4)
    graph.node("Transpose", [values], "pixels", perm=[0, 2, 3, 1])
    return graph.build(
        [("network", [1, planes.network, "H", "W"]), ("additive", [1, planes.bands, "H", "W"])],
        [("pixels", [1, "H", "W", planes.bands], dtype if integer else np.float32)],
    )
