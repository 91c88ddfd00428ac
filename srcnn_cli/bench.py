"""``srcnn bench``: speed of each model on this machine, against the machine's own FP32 peak.

For each model: the model alone on one plane of ``size`` (cut into the bands and tiles that
``upscale`` uses), then end to end through the very code ``srcnn upscale`` runs (decode a PNG
of ``size / scale``, bicubic, model, colour, encode PNG band by band); the median and best of
``repeat`` runs after a warm-up; GFLOP/s from the model's multiply-adds; the fraction of the
FP32 peak measured in the same run (the best large float32 matrix product through onnxruntime
and numpy, whichever is faster); end to end as a fraction of the model alone; the process's
peak RSS; the runtime and the CPU. Optionally Set14 PSNR, for the paper's speed/quality plot.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from .errors import ModelError
from .runtime import plan_tiles, raw_session


@dataclass
class BenchResult:
    model: str
    scale: int
    runtime: str
    ms_median: float
    ms_best: float
    mpix_per_s: float  # the model alone, output megapixels a second
    gflops: float | None
    peak_fraction: float | None
    end_to_end_ms: float
    end_to_end_mpix_per_s: float
    end_to_end_fraction: float  # end to end against the model alone
    peak_rss_mib: float | None  # the process's, after this model's runs
    set14_psnr: float | None


@dataclass
class BenchReport:
    device: str
    cpu: str
    size: tuple[int, int]
    threads: int
    peak_gflops: float
    peak_source: str
    results: list[BenchResult]
    bicubic_ms: float
    bicubic_set14_psnr: float | None
    set14_missing: str | None = None  # why the Set14 column is empty, where it was wanted

    def to_json(self) -> dict:
        data = asdict(self)
        data["size"] = list(self.size)
        return data


def short_name(spec: str) -> str:
    """``.../9-5-5_imagenet/x3.mat`` -> ``9-5-5_imagenet/x3.mat``: enough to tell files apart."""
    from pathlib import Path

    path = Path(spec)
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def _timed(function: Callable[[], object], repeat: int) -> list[float]:
    function()  # warm-up: allocations, thread pools, caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def alternated(functions: Sequence[Callable[[], object]], repeat: int) -> list[list[float]]:
    """``_timed`` for functions taken in turn, so that a shared machine's slow moments fall on
    all of them rather than on whichever ran during them (their ratios are what bench
    reports): a warm-up of each, then ``repeat`` turns; each function's times."""
    for function in functions:
        function()
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeat):
        for function, kept in zip(functions, times):
            start = time.perf_counter()
            function()
            kept.append(time.perf_counter() - start)
    return times


def measure_peak(device: str = "cpu", threads: int = 0, size: int = 2048, repeat: int = 7) -> tuple[float, str]:
    """Best FP32 GFLOP/s of a large matrix product: onnxruntime's MatMul, numpy's BLAS, and on
    the CPU OpenVINO's MatMul where it is installed (its kernels can outrun the other two, and
    a peak below what a model reaches would make fractions above 1)."""
    from .onnxmodel import matmul_onnx_bytes
    from .runtime import openvino_installed, raw_openvino_request

    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    flop = 2.0 * size**3
    matmul = raw_session(matmul_onnx_bytes(size), device, threads)
    candidates = {
        "onnxruntime MatMul": min(_timed(lambda: matmul.run(None, {"a": a, "b": b}), repeat)),
        "numpy matmul": min(_timed(lambda: a @ b, repeat)),
    }
    if device == "cpu" and openvino_installed():
        request = raw_openvino_request(matmul_onnx_bytes(size), threads)
        candidates["OpenVINO MatMul"] = min(_timed(lambda: request.infer({"a": a, "b": b}), repeat))
    source, seconds = min(candidates.items(), key=lambda item: item[1])
    return flop / seconds / 1e9, source


def set14_problem(data_dir) -> str | None:
    """Why Set14 PSNR cannot be measured (where it was looked for), or None when it can."""
    from .errors import DatasetNotFound
    from .evaluate import find_dataset

    try:
        find_dataset("Set14", data_dir)
    except DatasetNotFound as exc:
        return str(exc)
    return None


def set14_psnr(run_model, scale: int, channels: int, data_dir, name: str, lowres: bool = False) -> float | None:
    """Set14 PSNR with the eval protocol, or None when Set14 is not found or not wanted."""
    if data_dir is False:
        return None
    from .errors import DatasetNotFound
    from .evaluate import evaluate_dataset, find_dataset

    try:
        folder = find_dataset("Set14", data_dir)
    except DatasetNotFound:
        return None
    return evaluate_dataset(folder, "Set14", scale, run_model, name, channels=channels, lowres=lowres).psnr


def _synthetic_image(width: int, height: int) -> np.ndarray:
    """Smooth colour content with texture: representative of photos, cheap to make."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.default_rng(1)
    planes = [0.5 + 0.25 * np.sin(x / (17 + 9 * c)) * np.cos(y / (23 + 5 * c)) for c in range(3)]
    image = np.stack(planes, axis=2) + rng.normal(0, 0.03, (height, width, 3))
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def network_over_tiles(session, height: int, width: int, scale: int, tile: int | None = None) -> Callable[[], None]:
    """The network alone over the tiles the pipeline cuts for a ``height`` x ``width`` output
    of an RGB image (``tile``: the session's own side where not given): the yardstick
    end-to-end runs are measured against."""
    from .pipeline import band_rows

    channels = session.contract.channels
    side = session.auto_tile() if tile is None else tile
    tiles = plan_tiles(height, width, side, session.contract.halo, band_rows(width, side, channels + 3 + 3), scale)
    step = session.contract.scale  # under the low-resolution contract the network sees 1 / scale of each window
    plane = np.random.default_rng(0).random((channels, height // step, width // step), dtype=np.float32)

    def run() -> None:
        for t in tiles:
            session.run(plane[:, t.win_top // step : t.win_bottom // step, t.win_left // step : t.win_right // step])

    return run


def bench_model(spec, scale, size, device, threads, repeat, tile=None, data_dir=None, runtime="auto"):
    from .imageio import decode_image, encode_stream
    from .machine import peak_rss_bytes
    from .pipeline import Upscaler

    upscaler = Upscaler(spec, scale=scale, device=device, threads=threads, tile=tile, runtime=runtime)
    session = upscaler.session
    width, height = size
    low = _synthetic_image(max(1, width // scale), max(1, height // scale))
    width, height = low.shape[1] * scale, low.shape[0] * scale  # what the pipeline makes of it
    channels = session.contract.channels
    model_only = network_over_tiles(session, height, width, scale, tile)

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(low).save(buffer, "PNG")
    encoded = buffer.getvalue()

    def end_to_end():
        decoded = decode_image(encoded)
        encode_stream(io.BytesIO(), upscaler.stream(decoded.pixels).ahead(), "PNG", notes=[])

    times, e2e_times = alternated([model_only, end_to_end], repeat)
    e2e = statistics.median(e2e_times)
    median = statistics.median(times)
    macs = session.contract.multiply_adds
    gflops = 2.0 * macs * width * height / median / 1e9 if macs else None
    from .evaluate import session_runner

    psnr = set14_psnr(
        session_runner(session),
        scale,
        channels,
        data_dir,
        upscaler.model.source,
        lowres=session.contract.kind == "lowres",
    )
    name = upscaler.model.info.name if upscaler.model.info else short_name(upscaler.model.source)
    rss = peak_rss_bytes()
    megapixels = width * height / 1e6
    return session, BenchResult(
        name,
        scale,
        session.runtime,
        median * 1e3,
        min(times) * 1e3,
        megapixels / median,
        gflops,
        None,
        e2e * 1e3,
        megapixels / e2e,
        median / e2e,
        None if rss is None else rss / 2**20,
        psnr,
    )


def bench(
    models: list[str],
    *,
    scale: int = 3,
    size: tuple[int, int] = (1280, 720),
    device: str = "auto",
    repeat: int = 5,
    threads: int = 0,
    data_dir: str | bool | None = None,
    on_model: Callable[[str], None] | None = None,
    runtime: str = "auto",
) -> BenchReport:
    """Time each model; ``data_dir=False`` skips the Set14 PSNR column; ``on_model`` hears of
    each model when its row is done."""
    if not models:
        raise ModelError("name at least one model to benchmark")
    results, device_used = [], "cpu"
    for spec in models:
        session, result = bench_model(spec, scale, size, device, threads, repeat, data_dir=data_dir, runtime=runtime)
        device_used = session.device
        results.append(result)
        if on_model is not None:
            on_model(spec)
    peak, source = measure_peak(device_used, threads)
    for result in results:
        if result.gflops is not None:
            result.peak_fraction = result.gflops / peak
    # bicubic alone, for the speed/quality plot's reference point
    from .pipeline import bicubic_window

    width, height = size
    low = np.random.default_rng(0).random((height // scale, width // scale, 1), dtype=np.float32)
    bicubic_ms = (
        statistics.median(
            _timed(lambda: bicubic_window(low, scale, (0, low.shape[0] * scale), (0, low.shape[1] * scale)), repeat)
        )
        * 1e3
    )
    bicubic_psnr = set14_psnr(lambda plane: plane, scale, 1, data_dir, "bicubic")
    from .machine import cpu_name

    missing = None if data_dir is False else set14_problem(data_dir)
    return BenchReport(
        device_used, cpu_name(), (width, height), threads, peak, source, results, bicubic_ms, bicubic_psnr, missing
    )


def bench_plot(report: BenchReport, path) -> None:
    """PSNR against milliseconds per image (the paper's Fig. 12), one point per model."""
    from .charts import Figure, Series, render

    series = [
        Series(r.model, [(r.ms_median, r.set14_psnr)], markers=True) for r in report.results if r.set14_psnr is not None
    ]
    if report.bicubic_set14_psnr is not None:
        series.append(Series("bicubic", [(report.bicubic_ms, report.bicubic_set14_psnr)], markers=True))
    if not series:
        raise ModelError("--plot needs Set14 PSNR: put Set14 where `srcnn eval` finds it")
    w, h = report.size
    render(
        Figure(
            f"Set14 x{report.results[0].scale}: PSNR vs time per {w}x{h} image ({report.device})",
            "milliseconds per image",
            "Set14 PSNR (dB)",
            series,
        ),
        path,
    )
