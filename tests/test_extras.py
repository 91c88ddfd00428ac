"""What a missing extra's message says: the README's own install form, and each extra's note."""

import os
import subprocess
import sys

import pytest

from srcnn_cli.extras import install_hint


def test_hints_give_the_clone_form_and_the_package_form():
    assert install_hint("ray") == """pip install ".[ray]" from a clone, or 'srcnn-cli[ray]'"""
    assert install_hint("cuda").endswith("instead of [cpu] (never both: the two runtimes share one Python module)")
    assert "docs/training.md" in install_hint("train") and "CPU-only PyTorch" in install_hint("train")


def test_a_missing_runtime_names_both_extras():
    """onnxruntime hidden from the import system: the error says how to install it either way."""
    code = (
        "import sys; sys.modules['onnxruntime'] = None\n"
        "from srcnn_cli.runtime import _ort\n"
        "try:\n    _ort()\nexcept Exception as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("""no ONNX Runtime is installed: pip install ".[cpu]" from a clone, or 'srcnn-cli[cpu]'""")
    assert """(for an NVIDIA GPU: pip install ".[cuda]" from a clone""" in out


def test_ray_is_started_without_its_usage_statistics(monkeypatch):
    pytest.importorskip("ray", reason="Ray is not installed (the [ray] extra)")
    from srcnn_cli.distributed import _ray

    monkeypatch.delenv("RAY_USAGE_STATS_ENABLED", raising=False)
    _ray()
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "1")  # the user's own choice stays
    _ray()
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "1"
