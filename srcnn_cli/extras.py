"""How to install an optional part (an extra), said the same way by every message that needs it.

The README installs from a clone (``pip install ".[cpu]"``); a published package installs as
``pip install 'srcnn-cli[cpu]'``. Hints give both forms, and the notes each extra needs."""

from __future__ import annotations

_NOTES = {
    "cpu": "; never beside [cuda]: the two runtimes share one Python module",
    "cuda": " instead of [cpu] (never both: the two runtimes share one Python module)",
    "train": "; for a CPU-only PyTorch (some 200 MB, not several GB) install it first as docs/training.md says",
}


def install_hint(extra: str) -> str:
    """``pip install ".[extra]"`` (from a clone) or ``'srcnn-cli[extra]'``, and the extra's note."""
    return f"""pip install ".[{extra}]" from a clone, or 'srcnn-cli[{extra}]'{_NOTES.get(extra, "")}"""
