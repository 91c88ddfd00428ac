"""Upscaling many files: input expansion, output naming, skip/overwrite, per-file errors, threads.

``plan_jobs`` turns the user's inputs (files, folders, globs) into (input, output) pairs without
touching any pixels; ``run_batch`` decodes ahead and encodes behind on worker threads so that the
network (which releases the GIL) is kept busy, and reports one ``FileResult`` per job.
"""
from __future__ import annotations

import glob
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .errors import SrcnnError
from .imageio import (
    DEFAULT_MAX_PIXELS, EXTENSIONS, FORMATS, IMAGE_SUFFIXES, PARTIAL_SUFFIX, decode_image, encode_image,
    format_for, read_image, remove_stale_partials, write_image,
)

_GLOB_CHARS = set("*?[")


class BatchUsageError(SrcnnError):
    """Inputs and outputs that cannot go together (a usage error: exit code 2)."""


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


@dataclass
class Plan:
    jobs: list[Job]
    skipped: list[FileResult]  # existing outputs, non-images met in folders
    missing: list[FileResult] = field(default_factory=list)  # inputs that do not exist


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.endswith(PARTIAL_SUFFIX)


def _walk(folder: Path, recursive: bool, skip: Path | None = None) -> Iterable[Path]:
    """Files in ``folder`` (its whole tree with ``recursive``), never descending into ``skip``."""
    if recursive:
        for root, dirs, files in os.walk(folder):
            # the output folder may sit inside the input tree: its results are not inputs,
            # or every rerun would upscale the last run's outputs one level deeper
            dirs[:] = sorted(d for d in dirs if skip is None or (Path(root) / d).resolve() != skip)
            for name in sorted(files):
                yield Path(root) / name
    else:
        yield from sorted(p for p in folder.iterdir() if p.is_file())


def output_name(source: Path, suffix: str, fmt: str | None) -> str:
    extension = EXTENSIONS[format_for(source, fmt)] if fmt else source.suffix
    return f"{source.stem}{suffix}{extension}"


def plan_jobs(
    inputs: list[str],
    output: str | None,
    scale: int,
    suffix: str | None = None,
    fmt: str | None = None,
    recursive: bool = False,
    overwrite: bool = False,
) -> Plan:
    """Resolve inputs and outputs; raises ``BatchUsageError`` for combinations that make no sense."""
    suffix = f"_x{scale}" if suffix is None else suffix
    if any(sep and sep in suffix for sep in (os.sep, os.altsep)):
        raise BatchUsageError(f"--suffix {suffix!r} cannot hold a path separator: it ends a file name")
    sources: list[tuple[Path, Path | None]] = []  # (file, folder it was found in, for mirroring)
    skipped: list[FileResult] = []
    missing: list[FileResult] = []
    named_folder = False
    out_path = Path(output).expanduser() if output else None
    out_folder = out_path.resolve() if out_path is not None else None
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            named_folder = True
            for file in _walk(path, recursive, skip=out_folder):
                if _is_image_name(file):
                    sources.append((file, path))
                elif not file.name.endswith(PARTIAL_SUFFIX):
                    skipped.append(FileResult(file, None, "skipped", "not an image"))
        elif path.exists():
            sources.append((path, None))
        elif _GLOB_CHARS & set(item):
            matches = sorted(glob.glob(os.path.expanduser(item), recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                missing.append(FileResult(Path(item), None, "failed", "no files match this pattern"))
            for file in files:
                if _is_image_name(file):
                    sources.append((file, None))
                else:
                    skipped.append(FileResult(file, None, "skipped", "not an image"))
        else:
            missing.append(FileResult(path, None, "failed", "no such file or folder"))

    # a file named twice (overlapping globs, or beside its own folder) is upscaled once
    first_naming: dict[Path, tuple[Path, Path | None]] = {}
    for source, root in sources:
        first_naming.setdefault(source.resolve(), (source, root))
    sources = list(first_naming.values())

    # one input (found or missing: a missing one is reported as such, not as a usage error)
    single_file_out = (
        out_path is not None and len(sources) + len(missing) == 1 and not named_folder
        and not out_path.is_dir() and out_path.suffix != ""
    )
    if single_file_out and fmt and out_path.suffix.lower().lstrip(".") in FORMATS:
        named, asked = FORMATS[out_path.suffix.lower().lstrip(".")], format_for(out_path, fmt)
        if named != asked:  # a JPEG called .png would mislead every program that opens it
            raise BatchUsageError(f"-f {fmt} does not match {out_path.name}: drop -f or name the file "
                                  f"{out_path.stem}{EXTENSIONS[asked]}")
    if out_path is None and named_folder:
        raise BatchUsageError("a folder input needs an output folder: add -o OUT_DIR")
    if out_path is not None and not single_file_out:
        if out_path.exists() and not out_path.is_dir():
            raise BatchUsageError(f"{output} is a file; with several inputs -o must be a folder")
        if out_path.suffix.lower() in IMAGE_SUFFIXES and not out_path.exists():
            raise BatchUsageError(f"several inputs need -o to be a folder, not {output}")
    jobs: list[Job] = []
    seen: dict[Path, Path] = {}
    for source, root in sources:
        if single_file_out:
            target = out_path
        else:
            folder = source.parent if out_path is None else out_path
            if out_path is not None and root is not None and recursive:
                folder = out_path / source.parent.relative_to(root)
            target = folder / output_name(source, suffix, fmt)
        if target.resolve() == source.resolve():
            raise BatchUsageError(f"{target} would overwrite its input; choose another --suffix or -o")
        if target.resolve() in seen:
            raise BatchUsageError(
                f"{seen[target.resolve()]} and {source} would both write {target}; use -r to mirror folders"
            )
        seen[target.resolve()] = source
        if target.exists() and not overwrite:
            skipped.append(FileResult(source, target, "skipped", "output exists (use --overwrite)"))
            continue
        jobs.append(Job(source, target))
    return Plan(jobs, skipped, missing)


@dataclass
class BatchOptions:
    fmt: str | None = None
    quality: int | None = None
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    prefetch: int = 2  # images decoded ahead of the network


def run_batch(
    jobs: list[Job],
    upscale: Callable,  # pixels -> pixels (on_tile keyword accepted)
    options: BatchOptions,
    on_result: Callable[[FileResult], None] | None = None,
    on_tile: Callable[[int, int], None] | None = None,
) -> list[FileResult]:
    """Upscale every job; a failure is recorded and the batch goes on."""
    for folder in {job.target.parent for job in jobs}:
        remove_stale_partials(folder)
    results: list[FileResult] = []

    def decode(job: Job):
        return read_image(job.source, options.max_pixels)

    def encode(job: Job, decoded, pixels, started: float) -> FileResult:
        job.target.parent.mkdir(parents=True, exist_ok=True)
        notes = decoded.notes + write_image(
            job.target, pixels, options.fmt, options.quality, decoded.icc_profile, decoded.exif
        )
        return FileResult(job.source, job.target, "done", seconds=time.monotonic() - started, notes=notes)

    def finish(result: FileResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    with ThreadPoolExecutor(max_workers=max(1, options.prefetch), thread_name_prefix="decode") as readers, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode") as writers:
        pending_reads: list[Future] = [readers.submit(decode, job) for job in jobs[: options.prefetch]]
        pending_write: tuple[Job, Future] | None = None
        for index, job in enumerate(jobs):
            started = time.monotonic()
            future = pending_reads.pop(0)
            following = index + options.prefetch
            if following < len(jobs):
                pending_reads.append(readers.submit(decode, jobs[following]))
            try:
                decoded = future.result()
                if options.fmt is None:
                    format_for(job.target)  # fail before spending time on the network
                pixels = upscale(decoded.pixels, on_tile=on_tile)
            except Exception as exc:  # one bad file must not end the batch
                finish(FileResult(job.source, job.target, "failed", describe(exc)))
                continue
            if pending_write is not None:
                finish(_collect(*pending_write))
            pending_write = (job, writers.submit(encode, job, decoded, pixels, started))
        if pending_write is not None:
            finish(_collect(*pending_write))
    return results


def upscale_encoded(
    data: bytes,
    upscale: Callable,  # pixels -> pixels
    fmt: str | None = None,
    quality: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> tuple[bytes, list[str]]:
    """One encoded image in, the upscaled image encoded out, with notes (for pipes).

    ``fmt`` is -f's value or an output name's format; None keeps the input's format, or PNG
    where that format cannot be written (GIF, say).
    """
    decoded = decode_image(data, max_pixels)
    notes = list(decoded.notes)
    if fmt is None and decoded.format in EXTENSIONS:
        fmt = decoded.format
    elif fmt is None:
        fmt = "PNG"
        notes.append(f"{decoded.format} is not written here: the output is PNG")
    pixels = upscale(decoded.pixels)
    return encode_image(pixels, fmt, quality, decoded.icc_profile, decoded.exif, notes), notes


def _collect(job: Job, future: Future) -> FileResult:
    try:
        return future.result()
    except Exception as exc:
        return FileResult(job.source, job.target, "failed", describe(exc))


def describe(exc: Exception) -> str:
    """Our own errors speak for themselves; anything else is named, without a traceback."""
    if isinstance(exc, SrcnnError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory (try a smaller --tile)"
    return f"unexpected {type(exc).__name__}: {exc}"
