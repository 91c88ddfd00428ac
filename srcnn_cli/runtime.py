"""The runtimes: provider choice, threads, the model contract, tiles.

``Session`` owns onnxruntime: an ``InferenceSession`` for a model that follows the contract
(one float32 N x C x H x W input in [0, 1], one output of the same shape, padding inside).
``OpenVinoSession`` owns OpenVINO (the ``[openvino]`` extra), for the CPU. ``open_session`` is
where ``--runtime auto|onnxruntime|openvino`` is decided.
``plan_tiles`` is a pure function of its arguments: the plane is cut into equal tiles whose
windows (all of one shape) reach at least the receptive-field radius beyond them, so the result
equals an untiled run.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import io
import math
import os
import sys
import threading
import warnings
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import cache
from .errors import DeviceError, ModelError
from .extras import install_hint
from .limits import RUNTIMES
from .machine import cpu_identity
from .models import fsrcnn_dims, own_scale

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEFAULT_TILE_BUDGET = 384 * 2**20  # bytes of working memory one tile may take in the model
LIGHT_MODEL_WORK = 12_000  # multiply-adds per pixel below which OpenVINO runs a model on smaller tiles
LIGHT_MODEL_TILE = 240
LOWRES_TILE_LIMIT = 1024  # output pixels a side: beyond it a low-resolution model's tiles gain nothing


class SrcnnWarning(UserWarning):
    """Something the user should hear about that does not stop the work."""


_PRELOADED: list[bool] = []


def _ort():
    """onnxruntime, or a clear error saying which extra brings it; imported without its
    telemetry. Since 1.29 onnxruntime reports each process to Microsoft's event collector on
    Linux and macOS too, and writes a device id and a queue of events under
    ``~/.cache/Microsoft``; ``ORT_DISABLE_TELEMETRY=1`` (its own switch, read when it starts)
    turns all of that off, and a value the user set is left as it is."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime

        onnxruntime.set_default_logger_severity(3)  # its own log: errors only (warnings are ours to say)
    except ImportError:
        raise DeviceError(
            f"no ONNX Runtime is installed: {install_hint('cpu')} (for an NVIDIA GPU: {install_hint('cuda')})"
        ) from None
    return onnxruntime


def _preload_cuda_libraries(ort) -> None:
    """The [cuda] extra brings CUDA and cuDNN as pip wheels (nvidia-*); onnxruntime finds them
    only once told to load them. Done once, before the first CUDA session; harmless elsewhere."""
    if _PRELOADED or not hasattr(ort, "preload_dlls"):
        return
    _PRELOADED.append(True)
    with contextlib.suppress(Exception):  # a system CUDA install is found by the loader as usual
        ort.preload_dlls()


def parse_device(device: str) -> tuple[str, int]:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` to (kind, index)."""
    text = (device or "auto").strip().lower()
    if text in ("auto", "cpu", "cuda"):
        return text, 0
    if text.startswith("cuda:") and text[5:].isdigit():
        return "cuda", int(text[5:])
    raise DeviceError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N")


def cuda_start_problem(index: int = 0) -> str | None:
    """Why CUDA cannot start on device ``index``, found cheaply before any session: the NVIDIA
    driver's library does not load, the driver does not start, or there is no such device.
    None when it can. (onnxruntime finds out by failing, with screens of its own log.)"""
    return _cuda_driver_problem() or _cuda_device_problem(index)


@functools.lru_cache(maxsize=1)
def _cuda_driver():
    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll", "libcuda.dylib"):
        with contextlib.suppress(OSError):
            return ctypes.CDLL(name)
    return None


@functools.lru_cache(maxsize=1)
def _cuda_driver_problem() -> str | None:
    driver = _cuda_driver()
    if driver is None:
        return "no NVIDIA driver (its library libcuda could not be loaded)"
    code = driver.cuInit(0)
    if code != 0:
        return f"the NVIDIA driver did not start (cuInit error {code}: no usable GPU, or a driver mismatch)"
    return None


@functools.lru_cache(maxsize=8)
def _cuda_device_problem(index: int) -> str | None:
    count = ctypes.c_int(0)
    code = _cuda_driver().cuDeviceGetCount(ctypes.byref(count))
    if code != 0 or count.value == 0:
        return "no CUDA device on this machine"
    if index >= count.value:
        return f"no CUDA device {index}: this machine has {count.value} (0 to {count.value - 1})"
    return None


def choose_providers(device: str, available: list[str], cuda_problem: str | None = None) -> list:
    """Execution providers for ``device`` given what onnxruntime offers and why CUDA cannot
    start, where it cannot (``cuda_start_problem``): ``auto`` then takes the CPU without a
    word, an explicit CUDA device is one error naming the cause (pure, testable)."""
    kind, index = parse_device(device)
    if kind == "cpu":
        return [CPU]
    if CUDA in available and cuda_problem is not None:
        if kind == "cuda":
            raise DeviceError(f"device={device!r} cannot start CUDA: {cuda_problem}")
        return [CPU]
    if CUDA in available:
        return [(CUDA, {"device_id": index}), CPU]
    if kind == "cuda":
        raise DeviceError(
            f"device={device!r} asked for CUDA, but this onnxruntime has no CUDA support "
            f"(providers: {', '.join(available)}); use device='cpu', or {install_hint('cuda')}" + _both_wheels_hint()
        )
    return [CPU]


def _both_wheels_hint() -> str:
    """onnxruntime and onnxruntime-gpu share one module; installed together, CPU may win."""
    from importlib import metadata

    try:
        metadata.version("onnxruntime")
        metadata.version("onnxruntime-gpu")
    except metadata.PackageNotFoundError:
        return ""
    return (
        ". Both onnxruntime and onnxruntime-gpu are installed and the CPU one shadows the "
        f"GPU one: pip uninstall -y onnxruntime onnxruntime-gpu, then {install_hint('cuda')}"
    )


def _session_options(threads: int):
    options = _ort().SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


def providers_for(device: str) -> list:
    """``choose_providers`` with what this onnxruntime offers and, where it offers CUDA, whether
    CUDA can start here (asked of the driver, not by making a session)."""
    kind, index = parse_device(device)
    available = _ort().get_available_providers()
    problem = cuda_start_problem(index) if CUDA in available and kind != "cpu" else None
    return choose_providers(device, available, problem)


def raw_session(model: bytes, device: str = "cpu", threads: int = 0):
    """A plain onnxruntime session with our provider choice (for graphs that are not SRCNNs)."""
    ort = _ort()
    providers = providers_for(device)
    return ort.InferenceSession(model, sess_options=_session_options(threads), providers=providers)


CONTRACTS = ("bicubic", "lowres")  # what the network sees: the bicubic plane, or the low-resolution one


@dataclass(frozen=True)
class ModelContract:
    """What a model takes and gives. ``bicubic``: the bicubic-upscaled plane in, a plane of the
    same size out (SRCNN). ``lowres``: the low-resolution plane in, one ``scale`` times larger
    out (FSRCNN's deconvolution, ESPCN's pixel shuffle). ``receptive_radius`` is in input pixels."""

    channels: int
    receptive_radius: int
    metadata: dict
    kind: str = "bicubic"
    scale: int = 1  # output pixels per input pixel along an axis: 1 for ``bicubic``

    @property
    def halo(self) -> int:
        """The receptive radius in output pixels: how far a tile's window must reach beyond it."""
        return self.receptive_radius * self.scale

    @property
    def multiply_adds(self) -> int | None:
        """Per output pixel, from the recorded architecture (None where it is not recorded)."""
        return multiply_adds_per_pixel({**self.metadata, "srcnn.channels": str(self.channels)})


def multiply_adds_per_pixel(metadata: dict) -> int | None:
    """SRCNN: c n1 f1^2 + n1 n2 f2^2 + n2 c f3^2 (the paper's parameter count, biases aside);
    FSRCNN: its layers' sums per input pixel over scale^2 (``fsrcnn_multiply_adds``)."""
    if metadata.get("srcnn.contract") == "lowres":
        return fsrcnn_multiply_adds(metadata)
    try:
        f1, f2, f3 = (int(v) for v in metadata["srcnn.arch"].split("-"))
        n1, n2 = int(metadata["srcnn.n1"]), int(metadata["srcnn.n2"])
        c = int(metadata.get("srcnn.channels", 1))
    except (KeyError, ValueError):
        return None
    return c * n1 * f1 * f1 + n1 * n2 * f2 * f2 + n2 * c * f3 * f3


def fsrcnn_multiply_adds(metadata: dict) -> int | None:
    """Per output pixel of an FSRCNN(d, s, m): c d 25 + d s + m s^2 9 + s d, per input pixel, and
    the deconvolution's d c 81 per input pixel (81 / scale^2 taps per output pixel, each output
    phase reading its own)."""
    try:
        dims = fsrcnn_dims(metadata["srcnn.arch"])
        scale, c = int(metadata["srcnn.scale"]), int(metadata.get("srcnn.channels", 1))
    except (KeyError, ValueError):
        return None
    if dims is None:
        return None
    d, s, m = dims
    per_input = c * d * 25 + d * s + m * s * s * 9 + s * d + d * c * 81
    return round(per_input / (scale * scale))


class Session:
    """An onnxruntime session for one SRCNN-style model."""

    def __init__(self, model: bytes, device: str = "auto", threads: int = 0, source: str = "model"):
        ort = _ort()
        kind, _ = parse_device(device)
        providers = providers_for(device)
        if any(isinstance(p, tuple) and p[0] == CUDA for p in providers):
            _preload_cuda_libraries(ort)
        try:
            self._session = ort.InferenceSession(model, sess_options=_session_options(threads), providers=providers)
        except Exception as exc:  # onnxruntime raises its own, untyped, errors
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"cannot load {source}: {message}") from None
        self.source = source
        self._threads, self._wanted_providers = threads, providers
        self._stages: dict[bytes, Callable[[dict[str, np.ndarray]], list[np.ndarray]]] = {}
        self._stages_lock = threading.Lock()
        self.providers = self._session.get_providers()
        wanted_cuda = any(p == CUDA or (isinstance(p, tuple) and p[0] == CUDA) for p in providers)
        if wanted_cuda and CUDA not in self.providers:
            missing = (
                "the GPU and its driver are there, but onnxruntime could not load the CUDA or cuDNN "
                f"libraries it needs ({install_hint('cuda')})"
            )
            if kind == "cuda":
                raise DeviceError(f"device={device!r} cannot start CUDA: {missing}")
            warnings.warn(f"running on the CPU: {missing}", SrcnnWarning, stacklevel=2)
        self.contract = self._check_contract()

    @property
    def device(self) -> str:
        return "cuda" if CUDA in self.providers else "cpu"

    def auto_tile(self) -> int:
        """The tile side (output pixels) this runtime runs the model fastest at, within memory."""
        if self.contract.kind == "lowres":  # its feature maps are 1 / scale^2 of the output's
            side = auto_tile(self.contract.channels, self.contract.receptive_radius) * self.contract.scale
            return min(side // 16 * 16, LOWRES_TILE_LIMIT)
        return auto_tile(self.contract.channels, self.contract.receptive_radius)

    @property
    def runtime(self) -> str:
        return "onnxruntime"

    def _check_contract(self) -> ModelContract:
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(
                f"{self.source}: a model must have one input and one output (it has {len(inputs)} and {len(outputs)})"
            )
        shape, out_shape = inputs[0].shape, outputs[0].shape
        if inputs[0].type != "tensor(float)" or outputs[0].type != "tensor(float)":
            raise ModelError(f"{self.source}: input and output must be float32 tensors")
        if len(shape) != 4 or (out_shape is not None and len(out_shape) != 4):
            raise ModelError(f"{self.source}: expected N x C x H x W tensors, got input {shape}")
        channels = shape[1]
        if channels not in (1, 3):
            raise ModelError(f"{self.source}: the input must have 1 or 3 channels, got {channels}")
        metadata = dict(self._session.get_modelmeta().custom_metadata_map)
        radius = metadata.get("srcnn.receptive_radius")
        kind = metadata.get("srcnn.contract", "bicubic")
        if kind not in CONTRACTS:
            raise ModelError(
                f"{self.source}: unknown model contract {kind!r} in its metadata "
                f"(srcnn.contract): this srcnn-cli knows {' and '.join(CONTRACTS)}"
            )
        declared = (own_scale(metadata) or 0) if kind == "lowres" else 1
        probe_radius = int(radius) if radius and radius.isdigit() else 8
        out = self._probe_shape(channels, probe_radius)
        scale = self._output_factor(out.shape, probe_shape=(channels, 2 * probe_radius + 3, 2 * probe_radius + 5))
        if "srcnn.contract" not in metadata and scale > 1:  # a foreign model that enlarges by itself
            kind, declared = "lowres", scale
        if kind == "lowres" and not declared and scale > 1:  # it does not say its scale: it shows it
            declared = scale
        if scale != declared:
            lowres = kind == "lowres"
            said = f"declares a x{declared} low-resolution contract" if lowres else "follows the bicubic contract"
            raise ModelError(
                f"{self.source}: {said}, but its output is x{scale} its input "
                f"(models must give {'x' + str(declared) if lowres else 'the same size'})"
            )
        self._check_finite(out)  # a damaged weight shows up before any image is read
        contract = ModelContract(channels, 0, metadata, kind, scale)
        radius = int(radius) if radius and radius.isdigit() else self._probe_radius(contract)
        return ModelContract(channels, radius, metadata, kind, scale)

    def _probe_shape(self, channels: int, radius: int) -> np.ndarray:
        probe = np.zeros((1, channels, 2 * radius + 3, 2 * radius + 5), np.float32)
        try:
            return self._run(probe)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(
                f"{self.source}: cannot run on a {probe.shape[3]}x{probe.shape[2]} input "
                f"(models must accept any height and width): {first}"
            ) from None

    def _output_factor(self, shape: tuple, probe_shape: tuple) -> int:
        """The whole factor by which the output is larger than the probe, on both axes alike."""
        channels, height, width = probe_shape
        if len(shape) == 4 and shape[1] == channels and shape[2] % height == 0 and shape[3] % width == 0:
            factor = shape[2] // height
            if factor >= 1 and shape[3] == factor * width:
                return factor
        raise ModelError(
            f"{self.source}: output shape {tuple(shape[1:])} is neither the input's {probe_shape} nor a "
            "whole multiple of it on both axes (models must pad themselves)"
        )

    def _check_finite(self, out: np.ndarray) -> None:
        if not np.isfinite(out).all():
            raise ModelError(
                f"{self.source} computes NaN or infinite values: the model file is damaged or was badly trained"
            )

    def _probe_radius(self, contract: ModelContract) -> int:
        """For a foreign model: how far a one-pixel change spreads (in input pixels), plus a margin."""
        return max(8, self._probe_reach(contract) + 4)  # margin: ReLUs can hide part of the field

    def _probe_reach(self, contract: ModelContract, size: int = 65) -> int:
        """How many input pixels from a changed input pixel the output changes (0: it does not)."""
        rng = np.random.default_rng(0)
        base = rng.random((1, contract.channels, size, size), dtype=np.float32)
        changed = base.copy()
        changed[:, :, size // 2, size // 2] += 0.5
        try:
            diff = np.abs(self._run(changed) - self._run(base)).max(axis=(0, 1))
        except Exception as exc:
            raise ModelError(f"{self.source}: cannot run the model: {exc}") from None
        scale = contract.scale
        if diff.shape != (size * scale, size * scale):
            raise ModelError(f"{self.source}: output shape changes with the input's values")
        rows, cols = np.nonzero(diff > 0)
        if rows.size == 0:
            return 0
        centre = (size // 2) * scale + (scale - 1) / 2  # the changed pixel's centre in output pixels
        reach = max(np.abs(rows - centre).max(), np.abs(cols - centre).max())
        return math.ceil(reach / scale)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        name = self._session.get_inputs()[0].name
        return self._session.run(None, {name: batch})[0]

    def stage(self, graph: bytes) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
        """A helper graph (``stages``: the bicubic and colour work around the network) run by
        onnxruntime on this session's device and threads, whichever runtime runs the network
        (for OpenVINO's: as fast per call, and it loads in 1 ms where OpenVINO compiles for 20):
        a function of the named inputs that returns the outputs. Loaded once per graph and
        session."""
        with self._stages_lock:
            if graph not in self._stages:
                self._stages[graph] = self._load_stage(graph)
            return self._stages[graph]

    def _load_stage(self, graph: bytes) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
        options = _session_options(self._threads)
        # its threads must not spin-wait after each call: they would take the cores from the network's
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = _ort().InferenceSession(graph, sess_options=options, providers=self._wanted_providers)
        return lambda feeds: session.run(None, feeds)

    def run(self, planes: np.ndarray) -> np.ndarray:
        """C x H x W float32 in, C x H x W float32 out (C x sH x sW under the low-resolution
        contract; the whole plane at once).

        Raises ``ModelError`` if the output is not all finite numbers: written out, NaN would
        become an all-black or all-white image without a word.
        """
        out = self._run(np.ascontiguousarray(planes[None], dtype=np.float32))[0]
        self._check_finite(out)
        return out


class OpenVinoSession(Session):
    """OpenVINO runs the network on the CPU; onnxruntime reads and checks the model's contract
    (the same checks, the same errors) and runs the helper graphs (``stage``).

    OpenVINO compiles the model (or loads it from the compiled-model cache, about 5 ms) on a
    thread of its own while the caller goes on (reading the first image: a first compile and
    the read took 35 and 34 ms one after the other, 43 ms side by side); the first ``run``
    waits for it, and a model OpenVINO cannot compile fails every run with the same
    ``ModelError``."""

    def __init__(self, model: bytes, threads: int = 0, source: str = "model"):
        super().__init__(model, device="cpu", threads=threads, source=source)
        _openvino()  # not installed: say so now
        folder = cache.cache_dir()  # decided here: the compile thread must not read a later environment
        self._compiling = _in_background(lambda: _openvino_compiled(model, threads, folder), "openvino-compile")
        self._requests = threading.local()  # an infer request serves one thread at a time
        self.providers = ["OpenVINO CPU"]

    @property
    def runtime(self) -> str:
        return "openvino"

    def auto_tile(self) -> int:
        """Smaller tiles for a model with little work per pixel (9-1-5 on Y: 8 thousand
        multiply-adds), whose layers then wait on memory unless a tile's feature maps stay in
        the caches: on a 2-core EPYC, tiles of 240 took 0.84 of the time of 480 alone and 0.88
        end to end, where models of 20 thousand and more (9-1-5 on RGB, 9-3-5, 9-5-5) took
        1.06-1.08 times as long at 240 as at their own size."""
        side = super().auto_tile()
        work = self.contract.multiply_adds
        return min(side, LIGHT_MODEL_TILE) if work is not None and work < LIGHT_MODEL_WORK else side

    def _compiled(self):
        try:
            return self._compiling.result()
        except Exception as exc:  # OpenVINO raises its own, untyped, errors
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"OpenVINO cannot load {self.source}: {first}") from None

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if not hasattr(self, "_compiling"):  # the contract checks, during __init__
            return super()._run(batch)
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self._compiled().create_infer_request()
        return request.infer({0: batch}, share_inputs=True)[0].copy()


def _in_background(work: Callable[[], object], name: str) -> Future:
    """``work()`` on a thread of its own; its result (or exception) in the returned future. The
    thread is not a daemon: the interpreter waits for it rather than unload the library under it."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name=name).start()
    return future


def _openvino():
    """OpenVINO, imported without its telemetry. ``import openvino`` loads its model converter,
    which reports the import to Google Analytics unless the user has opted out: it writes an id
    under ``~/intel`` and forks a process to send it, from a thread of its own. Our users' runs
    send nothing, and that fork, made while another thread held standard input's lock (reading
    a pipe), hung the child and then our exit. Blocking the telemetry module leaves the
    converter its own stand-in; a process that has loaded the module already keeps it."""
    if "openvino" not in sys.modules:
        sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
    try:
        import openvino
    except ImportError:
        raise DeviceError(f"runtime='openvino' needs OpenVINO: {install_hint('openvino')}") from None
    return openvino


def _openvino_compiled(model: bytes, threads: int = 0, cache_folder: Path | None = None):
    """A model compiled by OpenVINO for the CPU with our settings: latency first, FP32 (not
    bf16), ``threads`` (0: OpenVINO's choice, all cores). Loaded from the compiled-model cache
    (``cache``) when this model was compiled before with the same OpenVINO, settings and CPU
    (about 5 ms instead of 30-80); compiled and kept there otherwise. ``cache_folder``: the
    cache's folder (``cache.cache_dir()`` where not given)."""
    config: dict = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = int(threads)
    openvino = _openvino()
    core = openvino.Core()
    key = cache.entry_key(model, openvino.get_version(), repr(sorted(config.items())), cpu_identity())
    blob = cache.load(key, cache_folder)
    if blob is not None:
        try:
            return core.import_model(io.BytesIO(blob), "CPU", config)
        except Exception:  # made by another OpenVINO, or damaged: compiled again below
            cache.forget(key, cache_folder)
    compiled = core.compile_model(core.read_model(model), "CPU", config)
    with contextlib.suppress(Exception):  # a model OpenVINO cannot export is simply not kept
        cache.store(key, compiled.export_model().getvalue(), cache_folder)
    return compiled


def raw_openvino_request(model: bytes, threads: int = 0):
    """An OpenVINO infer request with our settings, for a graph that is not an SRCNN (the
    FP32 peak's matrix product)."""
    return _openvino_compiled(model, threads).create_infer_request()


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def open_session(
    model: bytes, device: str = "auto", threads: int = 0, source: str = "model", runtime: str = "auto"
) -> Session:
    """A session on the runtime asked for. ``auto``: onnxruntime where CUDA is asked for or
    works, else OpenVINO where it is installed (as fast or faster on every bundled model on
    the CPUs we measured: docs/results.md), else onnxruntime."""
    if runtime not in RUNTIMES:
        raise DeviceError(f"unknown runtime {runtime!r}: use {', '.join(RUNTIMES)}")
    kind, _ = parse_device(device)
    if runtime == "openvino":
        if kind == "cuda":
            raise DeviceError("runtime='openvino' runs on the CPU: use device='cpu', or runtime='onnxruntime' for CUDA")
        return OpenVinoSession(model, threads, source)
    cpu_only = kind == "cpu" or (kind == "auto" and providers_for(device) == [CPU])
    if runtime == "auto" and cpu_only and openvino_installed():
        return OpenVinoSession(model, threads, source)
    return Session(model, device, threads, source)


@dataclass(frozen=True)
class Tile:
    """One output tile and the input window (with halo) that produces it, both in the full
    image's output coordinates."""

    out_top: int
    out_left: int
    out_bottom: int
    out_right: int
    win_top: int
    win_left: int
    win_bottom: int
    win_right: int


def plan_tiles(height: int, width: int, tile: int, halo: int, rows: int | None = None, scale: int = 1) -> list[Tile]:
    """Cover a ``height`` x ``width`` plane with tiles of about ``tile`` pixels a side (0: one
    tile), ``rows`` tall instead where given (the bands of a streamed image), row by row.

    Each axis is cut into equal parts on a grid of ``scale`` pixels (the low-resolution samples
    of an upscaled image; the sides must be multiples of it). Every window has one shape: the
    largest part plus ``halo`` each side (or the whole axis), moved inward at the image's edges
    rather than cut there. A runtime then meets one input shape per image, and each tile's window
    still reaches ``halo`` beyond the tile or to the edge of the image, where the model pads
    itself as on the whole plane.
    """
    across = _spans(width, tile, halo, scale)
    return [
        Tile(top, left, bottom, right, win_top, win_left, win_bottom, win_right)
        for top, bottom, win_top, win_bottom in _spans(height, rows or tile, halo, scale)
        for left, right, win_left, win_right in across
    ]


def _spans(length: int, part: int, halo: int, scale: int) -> list[tuple[int, int, int, int]]:
    """(start, stop, window start, window stop) of each part of one axis, in pixels."""
    cells = length // scale
    count = min(cells, -(-length // part)) if part > 0 else 1
    bounds = [index * cells // count for index in range(count + 1)]
    margin = -(-halo // scale)
    size = min(cells, max(b - a for a, b in zip(bounds, bounds[1:])) + 2 * margin)
    spans = []
    for start, stop in zip(bounds, bounds[1:]):
        window = min(max(0, start - margin), cells - size)
        spans.append((start * scale, stop * scale, window * scale, (window + size) * scale))
    return spans


def auto_tile(channels: int, halo: int, budget: int = DEFAULT_TILE_BUDGET, widest: int = 64) -> int:
    """Largest tile side (output pixels) whose model working set fits ``budget`` bytes.

    onnxruntime's peak for a 9-5-5 model was measured at about 1.3 KB per input pixel (1024^2:
    1.35 GB; 512^2: 340 MB), i.e. about five float maps of the widest layer (n1 = 64); we allow
    six plus a few input-sized planes. An estimate, not a bound.
    """
    per_pixel = 4 * (6 * widest + 8 * channels)
    side = int(math.sqrt(budget / per_pixel)) - 2 * halo
    return max(64, side // 16 * 16)
