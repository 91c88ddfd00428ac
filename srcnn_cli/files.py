"""Files on disk: which paths are input images, the images of a folder, and atomic writes.

One owner for the questions every command asks of the file system:

* ``input_problem(path)``: why a path is not an image we will open (a FIFO, a device, a symlink
  loop, one of our own temporary files, a name no allowed format has), or None.
* ``list_images(folder)``: a folder's images (sorted, optionally the whole tree), and what was
  passed over and why. Upscale, eval and train all list folders with it.
* ``atomic_output(path)`` / ``write_atomic(path, data)``: writes go to a uniquely named hidden
  temporary file in the destination folder, which is renamed over the target when complete. A
  reader never sees a half-written file, whatever happens to the process. While it is written
  the temporary file is locked, so ``remove_stale_partials`` tells an abandoned one (its writer
  was killed) from one that another process, in this container or another, is still writing.
* ``shown(path)``: a path as messages print it (names with newlines or control characters are
  quoted, so a file name cannot forge lines of a log).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .formats import INPUT_SUFFIXES

try:
    import fcntl
except ImportError:  # Windows: stale temporaries are told by their age instead
    fcntl = None  # type: ignore[assignment]

PARTIAL_SUFFIX = ".srcnn-partial"
NAME_MAX = 255  # bytes in one file name on every common file system
_UNLOCKED_STALE_AFTER_S = 86_400.0  # where there are no locks (Windows), a day-old one is abandoned
_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def shown(path: object) -> str:
    """``str(path)``, quoted when it holds a newline or another character a terminal acts on."""
    text = str(path)
    if text.isprintable():
        return text
    return repr(text)


def is_partial(path: Path) -> bool:
    return path.name.endswith(PARTIAL_SUFFIX)


def kind_problem(mode: int) -> str | None:
    """Why a file of this ``st_mode`` cannot be read as an image, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, kind in _FILE_KINDS:
        if test(mode):
            return f"is {kind}, not an image file"
    return "is not a regular file"


def input_problem(path: Path, by_name: bool = True) -> str | None:
    """Why ``path`` is not an input image, or None. ``by_name``: the extension must be allowed."""
    if is_partial(path):
        return "a temporary file of an unfinished write"
    if by_name and path.suffix.lower() not in INPUT_SUFFIXES:
        return "not an image (by its name)"
    try:
        mode = os.stat(path).st_mode  # follows symbolic links
    except OSError as exc:
        return _stat_problem(path, exc)
    return kind_problem(mode)


def _stat_problem(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    if exc.errno == errno.ENOENT:
        return "a broken symbolic link" if os.path.islink(path) else "no such file"
    if exc.errno == errno.ENAMETOOLONG:
        return "the name is too long for the file system"
    return f"cannot read it ({exc.strerror or exc})"


def real_path(path: Path) -> Path:
    """The path with symbolic links resolved as far as they go (a loop does not raise)."""
    return Path(os.path.realpath(path))


@dataclass(frozen=True)
class Passed:
    """A file met while listing that is not an input, and why."""

    path: Path
    reason: str


def list_images(
    folder: Path,
    recursive: bool = False,
    skip: Path | None = None,
) -> tuple[list[Path], list[Passed]]:
    """Images in ``folder`` (its tree with ``recursive``, never descending into ``skip``).

    Our own temporary files are left out silently; any other file that is not an image is
    returned with the reason. Symbolic links to folders are not followed (no loops).
    """
    images: list[Path] = []
    passed: list[Passed] = []
    skip_real = real_path(skip) if skip is not None else None

    def consider(file: Path) -> None:
        problem = input_problem(file)
        if problem is None:
            images.append(file)
        elif not is_partial(file):
            passed.append(Passed(file, problem))

    if recursive:
        for root, dirs, names in os.walk(folder):
            # the output folder may sit inside the input tree: its results are not inputs
            dirs[:] = sorted(d for d in dirs if skip_real is None or real_path(Path(root) / d) != skip_real)
            for name in sorted(names):
                consider(Path(root) / name)
    else:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if not _is_folder(entry):
                consider(Path(entry.path))
    return images, passed


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a symbolic link loop is not a folder
        return False


def read_regular_file(path: Path, max_bytes: int | None = None) -> bytes:
    """A regular file's bytes. Raises ``OSError`` (with ``errno``) or ``ValueError`` (not a
    regular file, or larger than ``max_bytes``: refused before a byte is read).

    Opened without blocking and checked after opening: a FIFO or a device named like an
    image can neither hang the reader nor feed it without end.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        problem = kind_problem(info.st_mode)
        if problem is not None:
            raise ValueError(problem)
        if max_bytes is not None and info.st_size > max_bytes:
            raise ValueError(
                f"the file is {info.st_size:,} bytes, more than an image within the pixel limit "
                "can take (raise it with --max-pixels)"
            )
        return handle.read()


# --- atomic writes ------------------------------------------------------------------------------
def partial_name(final: Path) -> str:
    """A hidden, unique temporary name beside ``final`` that fits the file system's name limit."""
    token = secrets.token_hex(8)
    tail = f".{token}{PARTIAL_SUFFIX}"
    head = final.name.encode("utf-8", "surrogateescape")[: NAME_MAX - 1 - len(tail)]
    return "." + head.decode("utf-8", "ignore") + tail


def _lock(fd: int, blocking: bool) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except OSError:
        return False


def _create_locked_partial(final: Path) -> tuple[int, Path]:
    """A new temporary file beside ``final``, created and locked.

    A cleaner may take the file in the instant between its creation and the lock; the inode
    check after locking finds that, and a fresh name is made.
    """
    while True:
        partial = final.with_name(partial_name(final))
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        _lock(fd, blocking=True)
        try:
            if os.stat(partial).st_ino == os.fstat(fd).st_ino:
                return fd, partial
        except FileNotFoundError:
            pass
        os.close(fd)


@contextlib.contextmanager
def atomic_output(final: Path) -> Iterator[BinaryIO]:
    """Write ``final`` through a locked temporary file that replaces it only when complete."""
    final = Path(final)
    fd, partial = _create_locked_partial(final)
    try:
        with os.fdopen(fd, "w+b") as handle:  # readable too: a TIFF's directory is revisited
            handle.raw.name = str(partial)  # type: ignore[attr-defined]  # (tifffile wants a name, not a number)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(partial, final)  # still locked: a cleaner never takes a finished file
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def write_atomic(final: Path, data: bytes) -> None:
    with atomic_output(final) as handle:
        handle.write(data)


def remove_stale_partials(folder: Path) -> list[Path]:
    """Delete temporary files whose writers are gone (killed by ``kill -9``, a power cut)."""
    removed: list[Path] = []
    try:
        entries = [Path(e.path) for e in os.scandir(folder) if e.name.endswith(PARTIAL_SUFFIX)]
    except OSError:
        return removed
    return [entry for entry in entries if _remove_if_abandoned(entry)]


def _remove_if_abandoned(path: Path) -> bool:
    """Unlink a temporary file nobody holds locked. The unlink happens under the lock, so a
    writer that was just about to lock its new file finds it gone and makes another."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            return False
        if fcntl is None:
            if time.time() - info.st_mtime <= _UNLOCKED_STALE_AFTER_S:
                return False
            path.unlink()
            return True
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        if not _lock(fd, blocking=False):  # a live writer holds the lock
            return False
        path.unlink()
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
