"""srcnn-cli's cache folder, and in it the compiled models: OpenVINO compiles a network in
30-80 ms and loads what it compiled before in about 5 ms, so each run after the first starts
sooner.

* ``cache_dir()``: ``$SRCNN_CACHE``, else the user's cache folder (``~/.cache/srcnn-cli`` on
  Linux). It holds ``compiled/`` (here) and ``subimages/`` (training's, ``train.data``).
* ``entry_key(*parts)``: an entry's name, a hash of everything the compiled model depends on (the
  model's bytes, the runtime's version and settings, the CPU).
* ``load(key)`` / ``store(key, blob)``: an entry is the compiled model behind a header with its
  own SHA-256, written atomically (``files.write_atomic``), so a reader sees a whole entry or
  none, whatever happens to the writer; an entry that does not match its hash is deleted and
  read as missing. The cache is only ever a shortcut: a folder that cannot be made or written
  leaves the run as it would be without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from pathlib import Path

from .files import read_regular_file, remove_stale_partials, write_atomic

_MAGIC = b"srcnn-cli compiled model 1\n"
_SUFFIX = ".compiled"


def cache_dir() -> Path:
    """Where srcnn-cli keeps what it can make again: ``$SRCNN_CACHE``, else the platform's place."""
    override = os.environ.get("SRCNN_CACHE")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~/AppData/Local")
        return Path(base) / "srcnn-cli" / "cache"
    if sys.platform == "darwin":
        return Path(os.path.expanduser("~/Library/Caches")) / "srcnn-cli"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "srcnn-cli"


def entry_key(*parts: bytes | str) -> str:
    """A file name for the entry that ``parts`` (in order) determine."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()[:40]


def _path(key: str, folder: Path | None) -> Path:
    return (cache_dir() if folder is None else folder) / "compiled" / f"{key}{_SUFFIX}"


def load(key: str, folder: Path | None = None) -> bytes | None:
    """The entry's compiled model, or None when it is missing or damaged. ``folder``: the cache
    folder (``cache_dir()`` where not given)."""
    try:
        data = read_regular_file(_path(key, folder))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # unreadable, or not a regular file (a FIFO would never end)
        forget(key, folder)
        return None
    head = len(_MAGIC) + 32
    if data[: len(_MAGIC)] == _MAGIC and hashlib.sha256(data[head:]).digest() == data[len(_MAGIC) : head]:
        return data[head:]
    forget(key, folder)
    return None


def store(key: str, blob: bytes, folder: Path | None = None) -> None:
    """Keep ``blob`` as the entry (nothing happens where the cache cannot be written)."""
    path = _path(key, folder)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(path.parent)  # left by a writer that was killed
        write_atomic(path, _MAGIC + hashlib.sha256(blob).digest() + blob)


def forget(key: str, folder: Path | None = None) -> None:
    """Delete the entry (one the runtime could not load)."""
    with contextlib.suppress(OSError):
        _path(key, folder).unlink()
