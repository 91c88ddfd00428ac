"""What this machine has (memory, the CPU's name) and how much an image will take: the
decisions made before any work.

* ``available_bytes``: what the kernel says can be allocated without swapping (MemAvailable).
* ``default_max_pixels``: the default ``--max-pixels``, from the machine's memory.
* ``decoding_memory_problem``: an input whose decoding would not fit, told from its header.
* ``encoding_memory_problem``: a format that holds the whole output (JPEG, WebP, BMP) refused,
  before any work, when that output would not fit; PNG and TIFF stream and never hold it.
* ``peak_rss_bytes``: this process's peak resident memory (for ``srcnn bench``).
* ``cpu_name``: for the records of benchmarks and training runs.
* ``cpu_identity``: the CPU's name and instruction sets, for what is compiled for this CPU only.

Importable without numpy (it feeds ``srcnn --help``).
"""

from __future__ import annotations

import functools
import os
import platform
import sys

STREAM_OVERHEAD = 768 * 2**20  # what the streamed pipeline may take beside the decoded input
_WORST_INPUT_BYTES = 16  # per input pixel while decoding: 16-bit RGBA, and the decoder's own copy
_HELD_OUTPUT_BYTES = {1: 3, 2: 6, 3: 8, 4: 10}  # per output pixel, by channels: our array, Pillow's, the file


def physical_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def available_bytes() -> int | None:
    """Memory that can be used now without swapping, or None where this cannot be told."""
    try:
        with open("/proc/meminfo", "rb") as meminfo:
            for line in meminfo:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return physical_bytes()


def default_max_pixels() -> int:
    """Half the machine's memory for the decoded input at its largest (16-bit RGBA, decoded
    twice over), in millions of pixels; 150 million where the memory cannot be told."""
    physical = physical_bytes()
    if not physical:
        return 150_000_000
    return max(10, physical // 2 // _WORST_INPUT_BYTES // 1_000_000) * 1_000_000


def gigabytes(count: int) -> str:
    return f"{count / 2**30:.1f} GB" if count >= 2**30 else f"{count / 2**20:.0f} MB"


def encoding_memory_problem(
    height: int, width: int, channels: int, fmt: str, available: int | None = None
) -> str | None:
    """Why an output of this size cannot be written in ``fmt`` here, or None."""
    if fmt in ("PNG", "TIFF"):
        return None
    available = available_bytes() if available is None else available
    needed = height * width * _HELD_OUTPUT_BYTES[channels] + STREAM_OVERHEAD
    if available is None or needed <= available:
        return None
    return (
        f"a {width}x{height} {fmt} is encoded whole and needs about {gigabytes(needed)} of memory, "
        f"{gigabytes(available)} is available: write PNG or TIFF (-f png), which are written "
        "band by band, or choose a smaller scale"
    )


FASTEST_MEGAPIXELS_PER_S = 100.0  # above any model's end-to-end rate on the machines we measured
LONGEST_RUN_S = 24 * 3600.0
DEEPEST_COMPRESSION = 100  # no output is taken to compress better than this on disk


def absurd_output_problem(
    height: int, width: int, channels: int, bytes_per_sample: int, folder, free: int | None = None
) -> str | None:
    """Why an output of this size is absurd for this machine, or None: more than a day of work
    even at ``FASTEST_MEGAPIXELS_PER_S``, or more bytes than the output's folder has free even at
    ``DEEPEST_COMPRESSION`` to one (--width 10000000 on a small image asked for 8 x 10^13
    pixels, and held gigabytes of intermediate passes before anything was written)."""
    import shutil

    pixels = height * width
    seconds = pixels / (FASTEST_MEGAPIXELS_PER_S * 1e6)
    if seconds > LONGEST_RUN_S:
        return (
            f"the output would be {width}x{height} = {pixels:,} pixels: even at {FASTEST_MEGAPIXELS_PER_S:g} "
            f"megapixels a second that is {seconds / 86400:,.1f} days of work; ask for a smaller size"
        )
    raw = pixels * channels * bytes_per_sample
    if free is None:
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            return None
    if raw // DEEPEST_COMPRESSION > free:
        return (
            f"the output would be {width}x{height}, {gigabytes(raw)} of pixels: even compressed "
            f"{DEEPEST_COMPRESSION} to one it would not fit in the {gigabytes(free)} free at {folder}"
        )
    return None


def decoding_memory_problem(
    height: int, width: int, channels: int, bytes_per_sample: int, available: int | None = None
) -> str | None:
    """Why an input of this size cannot be decoded and upscaled here, or None."""
    available = available_bytes() if available is None else available
    needed = 2 * height * width * channels * bytes_per_sample + STREAM_OVERHEAD
    if available is None or needed <= available:
        return None
    return (
        f"{width}x{height} needs about {gigabytes(needed)} of memory to decode and upscale, "
        f"{gigabytes(available)} is available: free memory, or make the image smaller first"
    )


def peak_rss_bytes() -> int | None:
    """This process's peak resident set size so far.

    Linux's ``VmHWM`` first: ``getrusage``'s ``ru_maxrss`` survives ``exec``, so a child started
    by a big parent (a test runner, a benchmark driver) would report the parent's peak as its own.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def cpu_name() -> str:
    """The processor's model name (Linux), else what the platform module knows."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def cpu_identity() -> str:
    """The processor's name and feature flags (Linux: the first processor's entry), else what
    the platform module knows: two machines that give the same string run the same compiled code."""
    found: list[str] = []
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if not line.strip() and found:
                    break
                key = line.split(":", 1)[0].strip()
                if key in ("model name", "flags", "Features", "CPU part"):
                    found.append(line.split(":", 1)[1].strip())
    except OSError:
        pass
    return " | ".join([platform.machine(), platform.processor(), *found])
