"""Upscaling many files: input expansion, output naming, skip/overwrite, per-file errors, threads.

``plan_jobs`` turns the user's inputs (files, folders, globs) into (input, output) pairs without
touching any pixels: what counts as an input image is ``files.input_problem``'s decision, and
the outputs of this naming (a rerun into the same folder) are never taken as inputs again.
``prepare_outputs`` makes every output folder before any work. ``run_batch`` decodes ahead and
encodes behind on worker threads so that the network (which releases the GIL) is kept busy, and
reports one ``FileResult`` per job.
"""

from __future__ import annotations

import contextlib
import glob
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .bandwriters import PNG_LEVEL
from .errors import SrcnnError
from .files import NAME_MAX, input_problem, is_partial, list_images, real_path, remove_stale_partials, shown
from .formats import EXTENSIONS, FORMATS
from .imageio import (
    DEFAULT_MAX_PIXELS,
    check_encodable,
    decode_image,
    encode_image,
    format_for,
    read_image,
    write_image,
)
from .machine import absurd_output_problem, encoding_memory_problem
from .pipeline import Stream

_GLOB_CHARS = set("*?[")
_DEFAULT_SUFFIXES = ("_x2", "_x3", "_x4")


class BatchUsageError(SrcnnError):
    """Inputs and outputs that cannot go together (a usage error: exit code 2)."""


class OutputError(SrcnnError):
    """An output location that cannot be written (found before any work: exit code 1)."""


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


@dataclass
class FileResult:
    source: Path
    target: Path | None
    status: str  # "done", "skipped", "failed"
    message: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    how: str = ""  # which networks and resize made it, where that varies by image


@dataclass
class Plan:
    jobs: list[Job]
    skipped: list[FileResult]  # existing outputs, our own outputs, non-images met in folders
    missing: list[FileResult] = field(default_factory=list)  # inputs that fail before any work
    folders: list[Path] = field(default_factory=list)  # every output folder, jobs or not


def output_extension(source: Path, fmt: str | None) -> str:
    """-f's extension; else the input's own, where we write that format; else PNG (GIF, say)."""
    if fmt:
        return EXTENSIONS[format_for(source, fmt)]
    return source.suffix if source.suffix.lower().lstrip(".") in FORMATS else ".png"


def output_name(source: Path, suffix: str, fmt: str | None) -> str:
    return f"{source.stem}{suffix}{output_extension(source, fmt)}"


def _collect_sources(inputs: list[str], recursive: bool, out_folder: Path | None):
    """(file, folder it was found in or None) for each input image; skipped and missing results."""
    sources: list[tuple[Path, Path | None]] = []
    skipped: list[FileResult] = []
    missing: list[FileResult] = []
    named_folder = False
    for item in inputs:
        if not item:
            raise BatchUsageError("an empty input name ('') names no file")
        path = Path(item).expanduser()
        if path.is_dir():
            named_folder = True
            images, passed = list_images(path, recursive, skip=out_folder)
            sources.extend((file, path) for file in images)
            skipped.extend(FileResult(p.path, None, "skipped", p.reason) for p in passed)
        elif os.path.lexists(path):  # a file named on purpose: its bytes decide, not its name
            problem = input_problem(path, by_name=False)
            if problem is None:
                sources.append((path, None))
            else:
                missing.append(FileResult(path, None, "failed", problem))
        elif _GLOB_CHARS & set(item):
            matches = [Path(m) for m in sorted(glob.glob(os.path.expanduser(item), recursive=True))]
            files = [m for m in matches if not m.is_dir() and not is_partial(m)]
            if not files:
                missing.append(FileResult(Path(item), None, "failed", "no files match this pattern"))
            for file in files:
                problem = input_problem(file)
                if problem is None:
                    sources.append((file, None))
                else:
                    skipped.append(FileResult(file, None, "skipped", problem))
        else:
            missing.append(FileResult(path, None, "failed", "no such file or folder"))
    return sources, skipped, missing, named_folder


def _target_folder(source: Path, root: Path | None, out_path: Path | None, recursive: bool) -> Path:
    if out_path is None:
        return source.parent
    if root is not None and recursive:
        return out_path / source.parent.relative_to(root)
    return out_path


def _own_outputs(
    sources, suffix: str, out_path: Path | None, recursive: bool, tags: tuple[str, ...] = ()
) -> dict[Path, Path]:
    """Real paths where this naming, or the default one at any scale (with any model's ``tags``:
    ``_x3_9-1-5``), puts each source's output: in this run's output folder, and beside the source
    (where a run without -o put it)."""
    tagged = (f"{ending}_{tag}" for ending in _DEFAULT_SUFFIXES for tag in tags)
    suffixes = dict.fromkeys((suffix, *_DEFAULT_SUFFIXES, *tagged))
    extensions = dict.fromkeys(e for e in FORMATS)
    outputs: dict[Path, Path] = {}
    for source, root in sources:
        folders = {real_path(_target_folder(source, root, out_path, recursive)), real_path(source.parent)}
        for folder in folders:
            for extension in (source.suffix.lstrip("."), *extensions):
                for ending in suffixes:
                    outputs.setdefault(folder / f"{source.stem}{ending}.{extension}", source)
    return outputs


def plan_jobs(
    inputs: list[str],
    output: str | None,
    *,
    scale: float,
    suffix: str | None = None,
    fmt: str | None = None,
    recursive: bool = False,
    overwrite: bool = False,
    model_tags: tuple[str, ...] = (),
) -> Plan:
    """Resolve inputs and outputs; raises ``BatchUsageError`` for combinations that make no sense.
    ``model_tags``: what default names add for each known model (``models.known_output_tags``),
    so that any model's earlier outputs are told from inputs."""
    suffix = f"_x{scale:g}" if suffix is None else suffix
    if any(sep and sep in suffix for sep in (os.sep, os.altsep)):
        raise BatchUsageError(f"--suffix {suffix!r} cannot hold a path separator: it ends a file name")
    out_path = Path(output).expanduser() if output else None
    out_folder = real_path(out_path) if out_path is not None else None
    sources, skipped, missing, named_folder = _collect_sources(inputs, recursive, out_folder)

    # a file named twice (overlapping globs, or beside its own folder) is upscaled once
    first_naming: dict[Path, tuple[Path, Path | None]] = {}
    for source, root in sources:
        first_naming.setdefault(real_path(source), (source, root))
    sources = list(first_naming.values())

    # one input (found or missing: a missing one is reported as such, not as a usage error)
    single_target = (
        out_path
        if (
            out_path is not None
            and len(sources) + len(missing) == 1
            and not named_folder
            and not out_path.is_dir()
            and out_path.suffix != ""
        )
        else None
    )
    single_file_out = single_target is not None
    if not single_file_out:
        # a rerun into the folder of its inputs must not upscale the last run's results again
        own = _own_outputs(sources, suffix, out_path, recursive, model_tags)
        kept = []
        for source, root in sources:
            maker = own.get(real_path(source))
            if maker is not None and maker != source:
                skipped.append(FileResult(source, None, "skipped", f"an output of srcnn for {shown(maker)}"))
            else:
                kept.append((source, root))
        sources = kept
    if single_target is not None and fmt and single_target.suffix.lower().lstrip(".") in FORMATS:
        named, asked = FORMATS[single_target.suffix.lower().lstrip(".")], format_for(single_target, fmt)
        if named != asked:  # a JPEG called .png would mislead every program that opens it
            raise BatchUsageError(
                f"-f {fmt} does not match {shown(single_target.name)}: drop -f or name the "
                f"file {shown(single_target.stem + EXTENSIONS[asked])}"
            )
    if out_path is None and named_folder:
        raise BatchUsageError("a folder input needs an output folder: add -o OUT_DIR")
    if out_path is not None and not single_file_out:
        if out_path.exists() and not out_path.is_dir():
            raise BatchUsageError(f"{shown(output)} is a file; with several inputs -o must be a folder")
        if out_path.suffix.lower().lstrip(".") in FORMATS and not out_path.exists():
            raise BatchUsageError(f"several inputs need -o to be a folder, not {shown(output)}")
    jobs: list[Job] = []
    seen: dict[Path, tuple[Path, Path | None]] = {}
    folders: dict[Path, None] = {}
    for source, root in sources:
        if single_target is not None:
            target = single_target
        else:
            target = _target_folder(source, root, out_path, recursive) / output_name(source, suffix, fmt)
        target_real = real_path(target)
        if target_real == real_path(source):
            raise BatchUsageError(f"{shown(target)} would overwrite its input; choose another --suffix or -o")
        if target_real in seen:
            other, other_root = seen[target_real]
            raise BatchUsageError(
                f"{shown(other)} and {shown(source)} would both write {shown(target)}; "
                + _collision_hint(other, other_root, source, root, recursive)
            )
        seen[target_real] = (source, root)
        folders.setdefault(target.parent)
        name_bytes = len(os.fsencode(target.name))
        if name_bytes > NAME_MAX:
            missing.append(
                FileResult(
                    source,
                    None,
                    "failed",
                    f"the output name would be {name_bytes} bytes, "
                    f"over the file system's limit of {NAME_MAX}: rename the input or use a "
                    "shorter --suffix",
                )
            )
            continue
        if os.path.lexists(target) and not overwrite:
            skipped.append(FileResult(source, target, "skipped", "output exists (use --overwrite)"))
            continue
        jobs.append(Job(source, target))
    return Plan(jobs, skipped, missing, list(folders))


def _collision_hint(first: Path, first_root, second: Path, second_root, recursive: bool) -> str:
    if first.parent == second.parent:  # a.png and a.jpg, say, with -f png
        return "keep each input's format (drop -f) or upscale them in separate runs with different --suffix"
    if first_root is not None and second_root is not None and not recursive:
        return "use -r to mirror folders"
    return "upscale them in separate runs, or give their folders as inputs with -r"


def prepare_outputs(folders: list[Path]) -> None:
    """Create every output folder and check it can be written, before any pixel is computed."""
    for folder in folders:
        existing = next((f for f in (folder, *folder.parents) if os.path.lexists(f)), None)
        if existing is not None and not existing.is_dir():
            what = "it" if existing == folder else shown(existing)
            raise OutputError(f"cannot write into {shown(folder)}: {what} is a file, not a folder")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the output folder {shown(folder)}: {exc.strerror or exc}") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write into {shown(folder)}: permission denied")
        remove_stale_partials(folder)


@dataclass
class BatchOptions:
    fmt: str | None = None
    quality: int | None = None
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    prefetch: int = 2  # images decoded ahead of the network
    png_level: int = PNG_LEVEL


def decode_job(job: Job, options: BatchOptions, output_size: Callable[[int, int], tuple[int, int]] | None = None):
    """Read a job's input, and refuse now, before the network's work, what its output cannot be:
    transparency into JPEG, or an output that a whole-image format could not hold in memory."""
    decoded = read_image(job.source, max_pixels=options.max_pixels)
    fmt = format_for(job.target, options.fmt)
    check_encodable(decoded.mode, fmt)
    if output_size is not None:
        height, width = output_size(*decoded.pixels.shape[:2])
        problem = absurd_output_problem(
            height, width, len(decoded.mode), decoded.pixels.dtype.itemsize, job.target.parent
        ) or encoding_memory_problem(height, width, len(decoded.mode), fmt)
        if problem:
            raise SrcnnError(problem)
    return decoded


def write_job(
    job: Job,
    decoded,
    stream: Callable,
    options: BatchOptions,
    started: float,
    *,
    on_tile: Callable[[int, int], None] | None = None,
    explain: Callable[[int, int], str] | None = None,
    cancel: threading.Event | None = None,
    on_computed: Callable[[], None] | None = None,
) -> FileResult:
    """Upscale a decoded input into its output file, the network a band ahead of the encoder;
    ``cancel`` stops it between bands (``Cancelled``; the temporary file is removed).
    ``on_computed`` is called once the last band has left the network (its encoding, and the
    file's closing, still to come)."""
    image = stream(decoded.pixels, on_tile=on_tile).ahead()
    bands = _until(cancel, image.bands)
    if on_computed is not None:
        bands = _calling_at_the_end(bands, image.shape[0], on_computed)
    try:
        notes = (
            decoded.notes
            + _format_notes(decoded.format, options.fmt, job.target)
            + write_image(
                job.target,
                Stream(image.shape, image.dtype, bands),
                fmt=options.fmt,
                quality=options.quality,
                icc_profile=decoded.icc_profile,
                exif=decoded.exif,
                png_level=options.png_level,
            )
        )
    finally:
        image.bands.close()  # stops the worker if writing failed
    how = explain(*decoded.pixels.shape[:2]) if explain is not None else ""
    return FileResult(job.source, job.target, "done", seconds=time.monotonic() - started, notes=notes, how=how)


def _calling_at_the_end(bands: Iterator, rows: int, call: Callable[[], None]) -> Iterator:
    """The bands, ``call`` made as the one that completes ``rows`` is handed on."""
    seen = 0
    for band in bands:
        seen += len(band)
        if seen >= rows:
            call()
        yield band


def process_job(
    job: Job,
    stream: Callable,
    options: BatchOptions,
    *,
    output_size: Callable[[int, int], tuple[int, int]] | None = None,
    explain: Callable[[int, int], str] | None = None,
) -> FileResult:
    """One job from reading to writing, a failure recorded (what a distributed worker runs)."""
    started = time.monotonic()
    return _recorded(
        job, lambda: write_job(job, decode_job(job, options, output_size), stream, options, started, explain=explain)
    )


def _recorded(job: Job, work: Callable[[], FileResult]) -> FileResult:
    """``work``'s result, or its failure as a "failed" result: one bad file must not end the
    batch. An interruption (``Cancelled``) is not a file's failure and goes on up."""
    try:
        return work()
    except Cancelled:
        raise
    except Exception as exc:
        return FileResult(job.source, job.target, "failed", describe(exc))


def run_batch(
    jobs: list[Job],
    stream: Callable,  # (pixels, on_tile=) -> pipeline.Stream
    options: BatchOptions,
    *,
    on_result: Callable[[FileResult], None] | None = None,
    on_tile: Callable[[int, int], None] | None = None,
    explain: Callable[[int, int], str] | None = None,
    output_size: Callable[[int, int], tuple[int, int]] | None = None,
) -> list[FileResult]:
    """Upscale every job; a failure is recorded and the batch goes on.

    The next inputs are decoded ahead on worker threads; each output is computed a band at a
    time on a worker thread while the previous band is encoded (PNG and TIFF never hold the
    whole output), and the next file's network starts while the last band of the one before
    is encoded and its file closed. Results come in the jobs' order. ``output_size`` lets a
    format that must hold it be refused before any work when it would not fit in memory. The
    output folders must exist (``prepare_outputs``).
    """
    results: list[FileResult] = []

    def decode(job: Job):
        return decode_job(job, options, output_size)

    # One image's network runs at a time; the next starts as soon as the last band of the one
    # before has left the network, while that band is still encoded and its file closed.
    network = threading.Semaphore(1)

    def tile_done(done: int, total: int) -> None:
        """After each tile, of every pass: an interruption stops the network here, not a band (or
        a whole intermediate pass of a chain) later."""
        if cancel.is_set():
            raise Cancelled
        if on_tile is not None:
            on_tile(done, total)

    def upscale(job: Job, decoded: Future, started: float) -> FileResult:
        released = threading.Event()

        def free_network() -> None:
            if not released.is_set():
                released.set()
                network.release()

        try:
            return _recorded(
                job,
                lambda: write_job(
                    job,
                    decoded.result(),
                    stream,
                    options,
                    started,
                    on_tile=tile_done,
                    explain=explain,
                    cancel=cancel,
                    on_computed=free_network,
                ),
            )
        finally:
            free_network()

    # The files are written on worker threads: an interruption (Ctrl-C, SIGTERM) reaches the
    # main thread, which asks the writers to stop between bands and waits for them, so that the
    # temporary files are removed and no network is running when the interruption goes on.
    cancel = threading.Event()
    with (
        ThreadPoolExecutor(max_workers=max(1, options.prefetch), thread_name_prefix="decode") as readers,
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="write") as writers,
    ):
        pending_reads: list[Future] = [readers.submit(decode, job) for job in jobs[: options.prefetch]]
        writing: list[Future] = []  # in the jobs' order

        def report(result: FileResult) -> None:
            results.append(result)
            if on_result is not None:
                on_result(result)

        def report_finished(wait: bool) -> None:
            while writing and (wait or writing[0].done()):
                report(writing.pop(0).result())

        try:
            for index, job in enumerate(jobs):
                while not network.acquire(timeout=0.05):  # files finished meanwhile are reported now
                    report_finished(wait=False)
                started = time.monotonic()
                decoded = pending_reads.pop(0)
                following = index + options.prefetch
                if following < len(jobs):
                    pending_reads.append(readers.submit(decode, jobs[following]))
                writing.append(writers.submit(upscale, job, decoded, started))
                report_finished(wait=False)
            report_finished(wait=True)
        except BaseException:
            cancel.set()
            for read in pending_reads:
                read.cancel()
            for future in writing:  # a file a writer finished as the interruption came is counted
                with contextlib.suppress(BaseException):
                    report(future.result())
            raise
    return results


class Cancelled(Exception):
    """The batch was interrupted while this file was being written."""


def _until(cancel: threading.Event | None, bands: Iterator) -> Iterator:
    for band in bands:
        if cancel is not None and cancel.is_set():
            raise Cancelled
        yield band


def upscale_encoded(
    data: bytes,
    upscale: Callable,  # pixels -> pixels
    *,
    fmt: str | None = None,
    quality: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    png_level: int = PNG_LEVEL,
) -> tuple[bytes, list[str]]:
    """One encoded image in, the upscaled image encoded out, with notes (for pipes).

    ``fmt`` is -f's value or an output name's format; None keeps the input's format, or PNG
    where that format cannot be written (GIF, say).
    """
    decoded = decode_image(data, max_pixels=max_pixels)
    notes = decoded.notes + _format_notes(decoded.format, fmt, None)
    if fmt is None:
        fmt = decoded.format if decoded.format in EXTENSIONS else "PNG"
    check_encodable(decoded.mode, fmt)
    pixels = upscale(decoded.pixels)
    return encode_image(
        pixels,
        fmt,
        quality=quality,
        icc_profile=decoded.icc_profile,
        exif=decoded.exif,
        notes=notes,
        png_level=png_level,
    ), notes


def _format_notes(read_format: str | None, fmt: str | None, target: Path | None) -> list[str]:
    """A note when the input's format is one we read but do not write (GIF) and PNG is chosen."""
    if fmt is not None or read_format in EXTENSIONS:
        return []
    if target is not None and target.suffix.lower() != ".png":
        return []
    return [f"{read_format} is not written here: the output is PNG"]


def describe(exc: Exception) -> str:
    """Our own errors speak for themselves; anything else is named, without a traceback."""
    if isinstance(exc, SrcnnError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory (try a smaller --tile)"
    if isinstance(exc, OSError) and exc.strerror:
        where = f" {shown(exc.filename)}" if exc.filename else ""
        return f"cannot write{where}: {exc.strerror}"
    return f"unexpected {type(exc).__name__}: {exc}"
