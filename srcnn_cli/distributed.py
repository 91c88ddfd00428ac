"""Upscaling on a Ray cluster (the ``[ray]`` extra): the local plan, Ray Data's actor pool.

The driver plans exactly as the local batch does (inputs, names, skips, collisions) and hands
Ray Data one row per job. A pool of actors each loads one ``Upscaler`` (one runtime session,
as many threads as the CPUs Ray gives the actor, one GPU each with ``--device cuda``); each
actor reads its input and writes its output itself, through the same ``batch.process_job`` as
the local batch, so outputs are byte-identical and written atomically. Inputs and outputs
must be on a file system every node sees (a shared mount). Only paths, and a short result
per file, cross the network.

A worker killed mid-file leaves only its locked temporary, which the lock's release lets the
cleaner remove; Ray restarts the actor and retries the file. The driver killed mid-batch takes
its actors with it; the same command again skips what was finished and does the rest.

``upscale_dataset`` is the same for a Ray Dataset that a pipeline or notebook already has.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, ClassVar

from .batch import BatchOptions, FileResult, Job, process_job
from .errors import SrcnnError
from .extras import install_hint
from .files import remove_stale_partials

RAY_EXTRA_HINT = install_hint("ray")


class RayError(SrcnnError):
    """Ray is missing, or the cluster cannot be reached."""


def ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def _ray():
    """Ray, imported without its usage statistics: Ray reports each cluster it starts to its
    makers unless ``RAY_USAGE_STATS_ENABLED=0`` (its own switch, read when the cluster starts);
    srcnn sends nothing, and a value the user set is left as it is."""
    if not ray_installed():
        raise RayError(f"--engine ray needs Ray: {RAY_EXTRA_HINT}")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    import ray.data

    return ray


def connect(address: str | None = None, cpus: int | None = None):
    """Join the cluster at ``address`` (default: $RAY_ADDRESS), else start a local Ray for
    this run; returns the ``ray`` module."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    address = address or os.environ.get("RAY_ADDRESS") or None
    check_address(address)
    try:
        ray.init(
            address=address,
            num_cpus=None if address else cpus,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
            configure_logging=False,
        )
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError ...
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = (
            "; a cluster with token authentication (Ray's default) also needs RAY_AUTH_MODE=token here, "
            "and its token in ~/.ray/auth_token"
            if address and os.environ.get("RAY_AUTH_MODE") != "token"
            else ""
        )
        raise RayError(f"cannot start or reach {where}: {first}{hint}") from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the command line draws its own
    context.execution_options.preserve_order = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    return ray


def check_address(address: str | None, seconds: float = 5.0) -> None:
    """Fail in seconds where nothing listens at HOST:PORT (Ray itself retries for minutes);
    None: $RAY_ADDRESS, or nothing to check (a local Ray)."""
    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        return
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise RayError(f"--ray-address {address!r} is not HOST:PORT")
    try:
        with socket.create_connection((host, int(port)), timeout=seconds):
            pass
    except OSError as exc:
        raise RayError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


def _assigned_cpus(ray) -> int:
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 0)
    return max(1, int(cpus))


def _with_settings(actor: type, **settings) -> type:
    """``actor`` with its settings baked into the class: Ray ships the class by value, and no
    constructor arguments sit in the object store (an actor restarted after a crash needs none)."""
    return type(actor.__name__, (actor,), {"settings": settings})


class _UpscaleFiles:
    """A Ray actor: one Upscaler, loaded once; each call upscales the files of a batch."""

    settings: ClassVar[dict] = {}

    def __init__(self):
        import ray

        from .pipeline import Upscaler

        self.upscaler = Upscaler(**self.settings["upscaler"], threads=_assigned_cpus(ray))
        self.options = BatchOptions(**self.settings["options"])

    def __call__(self, batch: dict) -> dict:
        rows: dict[str, list] = {
            "source": [],
            "target": [],
            "status": [],
            "message": [],
            "seconds": [],
            "notes": [],
            "how": [],
            "megapixels": [],
        }
        for source, target in zip(batch["source"], batch["target"]):
            result = process_job(
                Job(Path(source), Path(target)),
                self.upscaler.stream,
                self.options,
                output_size=self.upscaler.output_size,
                explain=self.upscaler.describe if self.upscaler.by_size else None,
            )
            megapixels = 0.0
            if result.status == "done":
                from PIL import Image

                with Image.open(target) as written:  # (reads the header only)
                    megapixels = written.width * written.height / 1e6
            for key, value in (
                ("source", source),
                ("target", target),
                ("status", result.status),
                ("message", result.message),
                ("seconds", result.seconds),
                ("notes", "\n".join(result.notes)),
                ("how", result.how),
                ("megapixels", megapixels),
            ):
                rows[key].append(value)
        return rows


def _pool_options(ray, device: str, workers: int | None, cpus_per_worker: int | None) -> dict:
    """An actor pool of ``workers`` (default: as many as the cluster's CPUs allow, growing from
    one), each with ``cpus_per_worker`` CPUs (default: up to 4, no more than the smallest
    machine has, so that a worker fits on every machine, and no more than leaves room for
    ``workers``) and, for CUDA, one GPU."""
    nodes = [int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")] or [1]
    if cpus_per_worker is None:
        smallest = min((c for c in nodes if c > 0), default=1)
        cpus_per_worker = max(1, min(4, smallest, sum(nodes) // workers if workers else smallest))
    most = workers or max(1, sum(c // cpus_per_worker for c in nodes))
    options: dict[str, Any] = {
        "compute": ray.data.ActorPoolStrategy(min_size=workers or 1, max_size=most),
        "num_cpus": cpus_per_worker,
    }
    if device.startswith("cuda"):
        options["num_gpus"] = 1
    return options


def run_on_ray(
    jobs: list[Job],
    upscaler: dict,
    options: BatchOptions,
    *,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: int | None = None,
    on_result: Callable[[FileResult, float], None] | None = None,
) -> list[FileResult]:
    """Upscale ``jobs`` (from ``batch.plan_jobs``; output folders made by ``prepare_outputs``) on
    Ray. ``upscaler``: the keyword arguments of ``Upscaler`` (model, scale, ...), rebuilt on each
    worker. ``on_result`` hears each file as it finishes, with its output megapixels."""
    ray = connect(address)
    items = [{"source": str(job.source), "target": str(job.target)} for job in jobs]
    pool = _pool_options(ray, upscaler.get("device", "auto"), workers, cpus_per_worker)
    dataset = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
    finished = dataset.map_batches(
        _with_settings(_UpscaleFiles, upscaler=upscaler, options=asdict(options)), batch_size=1, **pool
    )
    results: list[FileResult] = []
    for row in finished.iter_rows():
        result = FileResult(
            Path(row["source"]),
            Path(row["target"]),
            row["status"],
            row["message"],
            float(row["seconds"]),
            [n for n in row["notes"].split("\n") if n],
            row["how"],
        )
        results.append(result)
        if on_result is not None:
            on_result(result, float(row["megapixels"]))
    for folder in {job.target.parent for job in jobs}:  # temporaries of workers that were killed
        remove_stale_partials(folder)
    return results


class _UpscaleRecords:
    """A Ray actor for ``upscale_dataset``: image bytes or paths in, encoded images out."""

    settings: ClassVar[dict] = {}

    def __init__(self):
        import ray

        from .pipeline import Upscaler

        self.column, self.fmt, self.quality = (self.settings[key] for key in ("column", "fmt", "quality"))
        self.upscaler = Upscaler(**self.settings["upscaler"], threads=_assigned_cpus(ray))

    def __call__(self, batch: dict) -> dict:
        from .batch import describe, upscale_encoded
        from .imageio import read_file_bytes

        upscaled, errors = [], []
        for value in batch[self.column]:
            try:
                data = read_file_bytes(value) if isinstance(value, str) else bytes(value)
                encoded, _ = upscale_encoded(data, self.upscaler.upscale, fmt=self.fmt, quality=self.quality)
                upscaled.append(encoded)
                errors.append("")
            except Exception as exc:
                upscaled.append(b"")
                errors.append(describe(exc))
        return {**batch, "upscaled": upscaled, "error": errors}


def upscale_dataset(
    dataset,
    column: str = "path",
    *,
    fmt: str = "PNG",
    quality: int | None = None,
    workers: int | None = None,
    cpus_per_worker: int | None = None,
    **upscaler,
):
    """A Ray Dataset with ``upscaled`` (the encoded image, ``fmt``) and ``error`` ("" or why)
    added to each row. ``column`` holds file paths (strings) or encoded images (bytes);
    ``upscaler`` takes ``Upscaler``'s keyword arguments (model, scale, width, channels, ...).

    >>> import ray
    >>> ds = ray.data.from_items([{"path": "/shared/photos/a.png"}, {"path": "/shared/photos/b.jpg"}])
    >>> out = upscale_dataset(ds, "path", model="9-5-5", scale=3)
    >>> for row in out.iter_rows():
    ...     open(row["path"] + ".x3.png", "wb").write(row["upscaled"])
    """
    ray = _ray()
    pool = _pool_options(ray, upscaler.get("device", "auto"), workers, cpus_per_worker)
    actor = _with_settings(_UpscaleRecords, column=column, upscaler=upscaler, fmt=fmt, quality=quality)
    return dataset.map_batches(actor, batch_size=1, **pool)


def shutdown() -> None:
    """Leave the cluster (and stop the local Ray this run started)."""
    if ray_installed():
        import ray

        if ray.is_initialized():
            ray.shutdown()


__all__ = ["RayError", "check_address", "connect", "ray_installed", "run_on_ray", "shutdown", "upscale_dataset"]
