"""``Upscaler``: an image array (or PIL image) in, the upscaled image of the same kind out.

The work happens tile by tile in output coordinates, so peak memory follows the tile, not the
image: for each tile the low-resolution samples its window (tile + halo) needs go through the
colour change and a MATLAB-exact bicubic, the network, the colour change back and the
quantisation; the first and last run as small onnxruntime graphs (``stages``).

* Y mode (the paper's): the network sees the bicubic Y; Cb and Cr are bicubic.
* RGB mode: a 3-channel model sees the bicubic RGB.
* Gray images are used as is (no colour conversion); alpha is bicubic and clipped.
* uint8 and uint16 are decided by dtype and processed in float32; float input is [0, 1].
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import ModelError, UnsupportedImage
from .limits import FITS
from .models import CHANNEL_NAMES, LoadedModel, own_scale, resolve_model
from .resize import axis_weights, output_length, resize_axis, source_span
from .runtime import Session, Tile, open_session, plan_tiles
from .stages import PAD, PEAKS, finish_graph, is_dense, padded_window, plan_planes, prepare_feeds, prepare_graph

__all__ = ["Upscaler", "bicubic_window", "upscale_array"]


def _to_float(array: np.ndarray) -> np.ndarray:
    if array.dtype in PEAKS:
        return array.astype(np.float32) / np.float32(PEAKS[array.dtype])
    if array.dtype in (np.float32, np.float64):
        if not np.isfinite(array).all():  # one NaN would spread over a 17-pixel square of output
            raise UnsupportedImage("float pixels must be finite numbers (found NaN or infinity)")
        return array.astype(np.float32, copy=False)
    raise UnsupportedImage(f"unsupported pixel type {array.dtype}: use uint8, uint16 or float")


def _from_float(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    clipped = np.clip(values, 0.0, 1.0)
    if dtype in PEAKS:
        return np.floor(clipped * np.float32(PEAKS[dtype]) + np.float32(0.5)).astype(dtype)
    return clipped.astype(dtype)


def bicubic_window(planes: np.ndarray, scale: int, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """Rows [r0, r1) and columns [c0, c1) of the MATLAB bicubic x``scale`` of H x W x C planes.

    Bit-identical to the same window of a whole-image ``imresize`` (rows first, as MATLAB).
    """
    height, width = planes.shape[:2]
    tall = resize_axis(planes, 0, height * scale, float(scale), out_range=rows)
    return resize_axis(tall, 1, width * scale, float(scale), out_range=cols)


def dihedral_mean(run: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Self-ensemble: ``run`` (C x H x W in, the same out) averaged over the 8 flips and
    rotations of its input, each output turned back first. 8 times the work."""

    def averaged(planes: np.ndarray) -> np.ndarray:
        total: np.ndarray | None = None  # the output's shape: the input's, or scale times it
        for turns in range(4):
            for flip in (False, True):
                view = np.rot90(planes, turns, axes=(1, 2))
                view = view[:, :, ::-1] if flip else view
                out = run(np.ascontiguousarray(view))
                out = out[:, :, ::-1] if flip else out
                back = np.rot90(out, -turns, axes=(1, 2))
                total = back.astype(np.float64) if total is None else total + back
        assert total is not None
        return (total / 8).astype(np.float32)

    return averaged


BAND_BUDGET = 64 * 2**20  # bytes of float work one band of output rows may take beside the tile


@dataclass(frozen=True)
class Stream:
    """An image produced a band of rows at a time: ``bands`` yields arrays of ``shape[1:]``
    rows, top to bottom, ``shape[0]`` rows in all, of ``dtype``. Nothing of output size is held."""

    shape: tuple[int, ...]  # (height, width) or (height, width, bands)
    dtype: np.dtype
    bands: Iterator[np.ndarray]

    def ahead(self, depth: int = 2) -> Stream:
        """The same bands, computed on a worker thread up to ``depth`` bands ahead of the
        reader (the network runs while the previous band is being encoded). Closing the
        returned iterator, or dropping it, stops the worker."""
        return Stream(self.shape, self.dtype, _produce_ahead(self.bands, depth))

    def collect(self) -> np.ndarray:
        """The whole image in one array (what the Python API returns)."""
        output = np.empty(self.shape, self.dtype)
        top = 0
        for band in self.bands:
            output[top : top + len(band)] = band
            top += len(band)
        return output


def _produce_ahead(bands: Iterator[np.ndarray], depth: int) -> Iterator[np.ndarray]:
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    finished = object()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for band in bands:
                if not offer((band, None)):
                    return
            offer((finished, None))
        except BaseException as exc:  # handed to the reader, raised there
            offer((None, exc))

    worker = threading.Thread(target=work, name="bands", daemon=True)
    try:  # (started inside: a signal that interrupts start() must still stop the worker)
        worker.start()
        while True:
            band, error = ready.get()
            if error is not None:
                raise error
            if band is finished:
                return
            yield band
    finally:
        stop.set()
        if worker.ident is not None:
            worker.join()


def _as_planes(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise UnsupportedImage(f"expected gray, gray+alpha, RGB or RGBA pixels, got shape {pixels.shape}")
    if pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise UnsupportedImage("the image is empty")
    if pixels.dtype not in PEAKS and pixels.dtype not in (np.float32, np.float64):
        raise UnsupportedImage(f"unsupported pixel type {pixels.dtype}: use uint8, uint16 or float")
    return pixels


def band_rows(out_width: int, tile: int, planes: int) -> int:
    """Output rows per band: a tile's height, fewer where the image is so wide that a band,
    counted as ``planes`` float32 per pixel (a generous bound for the band and its tiles' work
    in flight), would pass ``BAND_BUDGET``."""
    fitting = BAND_BUDGET // max(1, out_width * 4 * planes)
    return max(16, min(tile, fitting)) if tile > 0 else max(16, fitting)


def upscale_bands(
    pixels: np.ndarray,
    scale: int,
    session: Session,
    tile: int | None = None,
    on_tile: Callable[[int, int], None] | None = None,
    ensemble: bool = False,
) -> Stream:
    """``upscale_array`` a band of output rows at a time: memory follows the band and the tile.

    For each tile, only the low-resolution samples it needs are read; the colour change, the
    bicubic and the quantisation run as onnxruntime graphs (``stages``). Equal to
    ``upscale_array``.
    """
    planes = _as_planes(pixels)
    if not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    if planes.dtype not in PEAKS and not all(
        np.isfinite(planes[r : r + 512]).all() for r in range(0, len(planes), 512)
    ):
        raise UnsupportedImage("float pixels must be finite numbers (found NaN or infinity)")
    height, width, bands = planes.shape
    out_h, out_w = height * scale, width * scale
    contract = session.contract
    lowres = contract.kind == "lowres"
    if lowres and contract.scale != scale:
        raise ModelError(
            f"{session.source} upscales x{contract.scale} by itself (the low-resolution contract), not x{scale}"
        )
    halo = contract.halo
    model_channels = contract.channels
    if tile is None:
        tile = session.auto_tile()
    layout_planes = plan_planes(bands, model_channels, planes.dtype)
    tiles = plan_tiles(out_h, out_w, tile, halo, band_rows(out_w, tile, model_channels + bands + 3), scale)

    def low_window(t: Tile) -> tuple[int, int, int, int]:
        """The tile's window in low-resolution samples: top, left, bottom, right."""
        return t.win_top // scale, t.win_left // scale, t.win_bottom // scale, t.win_right // scale

    first_top, first_left, first_bottom, first_right = low_window(tiles[0])  # (every window has its shape)
    dense = is_dense((first_bottom - first_top + 2 * PAD, first_right - first_left + 2 * PAD))
    prepare = session.stage(prepare_graph(scale, layout_planes, dense, lowres))
    finish = session.stage(finish_graph(layout_planes, planes.dtype))
    network = dihedral_mean(session.run) if ensemble else session.run
    layout = [[t for t in tiles if t.out_top == top] for top in dict.fromkeys(t.out_top for t in tiles)]

    def upscale_tile(t: Tile) -> np.ndarray:
        """The tile's output pixels: its window (whole low-resolution samples) is prepared
        (colour, bicubic), run through the network and finished (colour, quantised)."""
        top, left, bottom, right = low_window(t)
        window = padded_window(planes, (top, bottom), (left, right))
        prepared = prepare(prepare_feeds(_to_float(np.ascontiguousarray(window.transpose(2, 0, 1)))[None], scale))
        if lowres:  # the network sees the low-resolution planes; ``high`` holds the additive ones
            high, low = prepared
            seen, additive = network(low[0]), high
        else:
            high = prepared[0]
            seen, additive = network(high[0, :model_channels]), high[:, model_channels:]
        pixels = finish({"network": seen[None], "additive": additive})[0][0]
        return pixels[
            t.out_top - top * scale : t.out_bottom - top * scale, t.out_left - left * scale : t.out_right - left * scale
        ]

    def produce() -> Iterator[np.ndarray]:
        done = 0
        for band_tiles in layout:
            band = np.empty((band_tiles[0].out_bottom - band_tiles[0].out_top, out_w, bands), planes.dtype)
            for t in band_tiles:
                band[:, t.out_left : t.out_right] = upscale_tile(t)
                done += 1
                if on_tile is not None:
                    on_tile(done, len(tiles))
            yield band[:, :, 0] if pixels.ndim == 2 else band

    shape = (out_h, out_w) if pixels.ndim == 2 else (out_h, out_w, bands)
    return Stream(shape, planes.dtype, produce())


def upscale_array(
    pixels: np.ndarray,
    scale: int,
    session: Session,
    tile: int | None = None,
    on_tile: Callable[[int, int], None] | None = None,
    ensemble: bool = False,
) -> np.ndarray:
    """Upscale H x W (gray), H x W x 2 (gray + alpha), x 3 (RGB) or x 4 (RGBA) by ``scale``.

    Returns the same layout and dtype. Y or RGB mode follows the session's model channels.
    ``ensemble``: each tile is the mean of the network over its 8 flips and rotations.
    """
    return upscale_bands(pixels, scale, session, tile, on_tile, ensemble).collect()


@dataclass(frozen=True)
class SizePlan:
    """How one image reaches its output size: network passes, then a bicubic resize, then a crop."""

    passes: tuple[int, ...]  # network scales, in order (x4 repeated above x4)
    size: tuple[int, int]  # (height, width) after the resize
    crop: tuple[int, int, int, int] | None = None  # (top, left, height, width) for --fit cover
    network_size: tuple[int, int] = (0, 0)  # (height, width) the passes alone give

    def describe(self, names: list[str]) -> str:
        steps = " then ".join(names)
        height, width = self.size
        resized = "" if self.exact else f", then bicubic to {width}x{height}"
        cropped = f", cropped to {self.crop[3]}x{self.crop[2]}" if self.crop else ""
        return f"{steps}{resized}{cropped}"

    @property
    def exact(self) -> bool:
        return self.size == self.network_size


def network_passes(factor: float, trained: list[int]) -> tuple[int, ...]:
    """Network scales for an overall ``factor``: the smallest trained scale at or above it; above
    the largest, the largest repeated first (x6 with x2-x4 models: x4, then x2)."""
    if factor <= 1:
        raise UnsupportedImage(f"asks for x{factor:.3g}: srcnn enlarges images, it does not shrink them")
    passes = []
    biggest = max(trained)
    while factor > biggest + 1e-9:
        passes.append(biggest)
        factor /= biggest
    passes.append(min(s for s in trained if s >= factor - 1e-9))
    return tuple(passes)


def plan_size(
    height: int,
    width: int,
    trained: list[int],
    scale: float | None = None,
    out_width: int | None = None,
    out_height: int | None = None,
    fit: str = "contain",
) -> SizePlan:
    """The passes and sizes for an image: ``scale``, or a width and/or a height (the other side
    following the aspect ratio; both: ``fit`` contain, cover or stretch)."""
    crop = None
    if out_width is None and out_height is None:
        factor_y = factor_x = float(scale or 0)
        size = (output_length(height, factor_y), output_length(width, factor_x))  # MATLAB's ceil(n * scale)
    elif out_width is None or out_height is None:
        factor_x = factor_y = out_width / width if out_width is not None else out_height / height  # type: ignore[operator]
        size = (out_height or _nearest(height * factor_y), out_width or _nearest(width * factor_x))
    elif fit == "stretch":
        factor_y, factor_x = out_height / height, out_width / width
        size = (out_height, out_width)
    else:
        pick = min if fit == "contain" else max
        factor_x = factor_y = pick(out_width / width, out_height / height)
        size = (max(1, _nearest(height * factor_y)), max(1, _nearest(width * factor_x)))
        if fit == "cover":
            size = (max(size[0], out_height), max(size[1], out_width))
            crop = ((size[0] - out_height) // 2, (size[1] - out_width) // 2, out_height, out_width)
    passes = network_passes(max(factor_x, factor_y), trained)
    total = math.prod(passes)
    return SizePlan(passes, size, crop, network_size=(height * total, width * total))


def _nearest(value: float) -> int:
    """Round half up (Python's round() would take 102.5 to 102)."""
    return math.floor(value + 0.5)


def resize_to(pixels: np.ndarray, size: tuple[int, int], band: int = 256) -> np.ndarray:
    """MATLAB-exact bicubic (antialiased when shrinking) of H x W x C pixels to ``size``, computed
    a band of output rows at a time; the same dtype back. Bit-identical to a whole-image
    ``imresize`` (the axis with the smaller factor first, as MATLAB)."""
    source = Stream(pixels.shape, pixels.dtype, iter([pixels]))
    return resize_stream(source, size, band).collect()


def resize_stream(source: Stream, size: tuple[int, int], band: int | None = None) -> Stream:
    """``resize_to`` over a stream: the source's rows are kept only while an output row needs
    them, so memory follows the kernel's reach, not the image."""
    out_h, out_w = size
    height, width = source.shape[:2]
    scale_y, scale_x = out_h / height, out_w / width
    columns_first = scale_x < scale_y
    channels = source.shape[2] if len(source.shape) == 3 else 1
    band = band or band_rows(out_w, 256, 2 * channels)
    indices, _ = axis_weights(height, out_h, scale_y)
    still_needed = np.minimum.accumulate(indices.min(axis=1)[::-1])[::-1]  # lowest row any later output reads

    def as_values(rows: np.ndarray) -> np.ndarray:
        rows = rows if rows.ndim == 3 else rows[:, :, None]
        values = rows / PEAKS[rows.dtype] if rows.dtype in PEAKS else _to_float(rows).astype(np.float64)
        return resize_axis(values, 1, out_w, scale_x) if columns_first else values

    def produce() -> Iterator[np.ndarray]:
        kept: list[np.ndarray] = []
        first, received, top = 0, 0, 0
        incoming = iter(source.bands)
        while top < out_h:
            stop = min(out_h, top + band)
            _, needed = source_span(height, out_h, scale_y, (top, stop))
            while received < needed:
                rows = as_values(next(incoming))
                kept.append(rows)
                received += len(rows)
            held = np.concatenate(kept) if len(kept) > 1 else kept[0]
            part = resize_axis(held, 0, out_h, scale_y, (top, stop), in_length=height, first=first)
            if not columns_first:
                part = resize_axis(part, 1, out_w, scale_x)
            out = _from_float(part, source.dtype)
            yield out if len(source.shape) == 3 else out[:, :, 0]
            top = stop
            if top < out_h:  # forget the rows no later output reads
                drop = int(still_needed[top]) - first
                kept, first = [held[drop:]], first + drop
        for _ in incoming:  # let the source finish (its progress, its checks)
            pass

    shape = (out_h, out_w) + tuple(source.shape[2:])
    return Stream(shape, source.dtype, produce())


def crop_stream(source: Stream, top: int, left: int, height: int, width: int) -> Stream:
    """Rows [top, top + height) and columns [left, left + width) of a stream."""

    def produce() -> Iterator[np.ndarray]:
        row = 0
        for band in source.bands:
            start, stop = max(top, row), min(top + height, row + len(band))
            if start < stop:
                yield np.ascontiguousarray(band[start - row : stop - row, left : left + width])
            row += len(band)

    return Stream((height, width) + tuple(source.shape[2:]), source.dtype, produce())


def trained_scales(spec: str | None, channels: int) -> list[int] | None:
    """The scales a model spec has networks for: a bundled or user name's own, an arch's (or the
    defaults') every scale; None for a file (it brings one network, whatever its scale)."""
    from .models import all_models, looks_like_path

    if spec is not None and looks_like_path(spec):
        return None
    models = [m for m in all_models() if m.channels == channels]
    named = [m.scale for m in models if spec is not None and m.name == spec]
    if named:
        return named
    if spec is None:
        return sorted({m.scale for m in models if m.origin == "bundled"})
    return sorted({m.scale for m in models if m.arch == spec})


class Upscaler:
    """SRCNN upscaling, reusable across images and threads.

    >>> Upscaler("9-5-5", scale=3).upscale(image)     # PIL image or numpy array
    >>> Upscaler(scale=2.5).upscale(image)            # any factor above 1
    >>> Upscaler(width=1920).upscale(image)           # a width (or height, or both with fit)

    ``model`` is a bundled name (``9-5-5``, ``9-5-5_x3``), a user model's name, ``None`` for the
    defaults, or a path to an ``.onnx`` or ``.mat`` file. A factor the networks were not trained
    for runs the smallest trained scale at or above it (x4 repeated above x4), then a
    MATLAB-exact bicubic brings the result to the exact size. ``channels`` is ``"y"`` or
    ``"rgb"``; files bring their own. ``ensemble`` averages the network over the 8 flips and
    rotations of its input (8 times the work). ``runtime``: ``auto``, ``onnxruntime`` or
    ``openvino`` (``runtime.open_session``). A model file runs at the scale it was trained for
    (what it records, its contract, its name like ``x3.mat``, or ``model_scale``), then the
    bicubic to the size asked for. Holds no per-image state: ``upscale`` is safe to call
    concurrently once its networks are loaded.
    """

    def __init__(
        self,
        model: str | None = None,
        scale: float = 3,
        *,
        width: int | None = None,
        height: int | None = None,
        fit: str = "contain",
        channels: str | None = None,
        device: str = "auto",
        threads: int = 0,
        tile: int | None = None,
        ensemble: bool = False,
        runtime: str = "auto",
        model_scale: int | None = None,
    ):
        if channels is not None and channels not in CHANNEL_NAMES:
            raise ModelError(f"channels must be 'y' or 'rgb', got {channels!r}")
        if fit not in FITS:
            raise ValueError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
        if width is None and height is None and not scale > 1:
            raise ValueError(f"scale must be above 1, got {scale!r}")
        self.scale = int(scale) if float(scale).is_integer() else float(scale)
        self.width, self.height, self.fit = width, height, fit
        self.tile, self.ensemble = tile, ensemble
        self._spec, self._channels = model, channels
        self._device, self._threads, self._runtime = device, threads, runtime
        self._networks: dict[int, tuple[LoadedModel, Session]] = {}
        wanted = CHANNEL_NAMES[channels or "y"]
        trained = trained_scales(model, wanted)
        self.by_size = (
            width is not None
            or height is not None
            or not isinstance(self.scale, int)
            or bool(trained and self.scale not in trained)
        )
        if trained is None:  # a file: it brings one network, trained for one scale
            own = self._file_network(model, model_scale)
            trained = [own] if own is not None else None
            self.by_size = self.by_size or (own is not None and own != self.scale)
        self.trained = trained or [int(self.scale)]
        first = self.trained[0] if self.by_size else int(self.scale)
        self.model, self.session = self._network(first)  # resolves the model now: errors come first

    def _file_network(self, path: str | None, model_scale: int | None) -> int | None:
        """Load a model file (once) and say the scale it was trained for: ``model_scale`` where
        given, else what it records or its contract shows, else what its name says (``x3.mat``).
        Where none of them tells, it runs at the integer scale asked for."""
        loaded, session = self._load(resolve_model(path, 3))
        own = own_scale(session.contract.metadata, session.contract.scale)
        if model_scale is not None:
            if own is not None and own != model_scale:
                raise ModelError(f"{path} says it is an x{own} model; model_scale={model_scale} contradicts it")
            own = model_scale
        if own is None and not (isinstance(self.scale, int) and self.width is None and self.height is None):
            raise ModelError(
                f"{path} does not say which scale it was trained for: give model_scale=, or an integer scale="
            )
        self._networks[own or int(self.scale)] = (loaded, session)
        return own

    def _network(self, scale: int) -> tuple[LoadedModel, Session]:
        if scale in self._networks:
            return self._networks[scale]
        loaded, session = self._load(resolve_model(self._spec, scale, CHANNEL_NAMES[self._channels or "y"]))
        self._networks[scale] = (loaded, session)
        return loaded, session

    def _load(self, loaded: LoadedModel) -> tuple[LoadedModel, Session]:
        """A session for the model on this upscaler's device, its channels checked against --channels."""
        session = open_session(loaded.data, self._device, self._threads, loaded.source, self._runtime)
        got = session.contract.channels
        if self._channels is not None and CHANNEL_NAMES[self._channels] != got:
            raise ModelError(
                f"{loaded.source} takes {got} channel{'s' if got > 1 else ''}, but channels="
                f"{self._channels!r} needs a {CHANNEL_NAMES[self._channels]}-channel model"
            )
        return loaded, session

    @property
    def output_tag(self) -> str:
        """What a default output name adds for this upscaler's model (``models.output_tag``)."""
        from .models import output_tag

        return output_tag(self.model.info, self.model.source, self.session.contract.channels)

    @property
    def channels(self) -> str:
        return "rgb" if self.session.contract.channels == 3 else "y"

    def plan(self, height: int, width: int) -> SizePlan:
        """The passes and sizes for an image of this size."""
        if not self.by_size:
            return SizePlan(
                (int(self.scale),),
                (height * int(self.scale), width * int(self.scale)),
                network_size=(height * int(self.scale), width * int(self.scale)),
            )
        return plan_size(
            height,
            width,
            self.trained,
            None if self.width or self.height else float(self.scale),
            self.width,
            self.height,
            self.fit,
        )

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of the result for an input of this size."""
        plan = self.plan(height, width)
        return plan.crop[2:] if plan.crop is not None else plan.size

    def describe(self, height: int, width: int) -> str:
        """Which networks and resize serve an image of this size, for the user to read."""
        plan = self.plan(height, width)
        return plan.describe([self._network(scale)[0].source for scale in plan.passes])

    def upscale(self, image, on_tile: Callable[[int, int], None] | None = None):
        """Upscale a PIL image or a numpy array; returns the same kind."""
        from PIL import Image

        if isinstance(image, Image.Image):
            from .imageio import array_to_pil, pil_to_array

            pixels, mode = pil_to_array(image)
            return array_to_pil(self._upscale_array(pixels, on_tile), mode)
        if isinstance(image, np.ndarray):
            return self._upscale_array(image, on_tile)
        raise TypeError(f"expected a PIL image or a numpy array, got {type(image).__name__}")

    def _upscale_array(self, pixels: np.ndarray, on_tile) -> np.ndarray:
        return self.stream(pixels, on_tile).collect()

    def stream(self, pixels: np.ndarray, on_tile: Callable[[int, int], None] | None = None) -> Stream:
        """The upscaled image a band of rows at a time (for writers that stream). Only a chain
        of passes (above x4) holds the intermediate passes' results whole."""
        plan = self.plan(*pixels.shape[:2])
        source = pixels
        for scale in plan.passes[:-1]:
            source = upscale_array(source, scale, self._network(scale)[1], self.tile, on_tile, self.ensemble)
        last = plan.passes[-1]
        result = upscale_bands(source, last, self._network(last)[1], self.tile, on_tile, self.ensemble)
        if not plan.exact:
            result = resize_stream(result, plan.size)
        if plan.crop is not None:
            result = crop_stream(result, *plan.crop)
        return result
