"""Shared fixtures: tiny synthetic images and models built in tmp_path; the reference data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from srcnn_cli.onnxmodel import Layer, identity_layers, srcnn_onnx_bytes

DATA = Path(os.environ.get("SRCNN_TEST_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")).resolve()

needs_data = pytest.mark.skipif(
    not (DATA / "test" / "Set5").is_dir(),
    reason=f"reference data not found at {DATA} (tests that reproduce the paper need ../shared/data)",
)


try:  # property tests: the same examples on every CI run, fresh ones on a developer's machine
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None)
    if os.environ.get("CI"):
        settings.load_profile("ci")
except ImportError:
    pass


@pytest.fixture(autouse=True)
def own_user_model_folder(tmp_path, monkeypatch):
    """Every test sees an empty user model folder of its own, never the real one."""
    monkeypatch.setenv("SRCNN_MODELS", str(tmp_path / "user-models"))


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def own_cache_folder(_session_cache, monkeypatch):
    """The tests share a cache folder of their own (compiled models), never the user's."""
    monkeypatch.setenv("SRCNN_CACHE", str(_session_cache))


def random_layers(seed=0, filter_sizes=(9, 5, 5), n1=16, n2=8, channels=1) -> list[Layer]:
    """A small SRCNN with random weights: a model whose output depends on every tap."""
    rng = np.random.default_rng(seed)
    f1, f2, f3 = filter_sizes
    shapes = [(n1, channels, f1, f1), (n2, n1, f2, f2), (channels, n2, f3, f3)]
    layers = []
    for shape in shapes:
        fan_in = shape[1] * shape[2] * shape[3]
        weight = rng.normal(0, 1.0 / np.sqrt(fan_in), shape).astype(np.float32)
        bias = rng.normal(0, 0.05, shape[0]).astype(np.float32)
        layers.append(Layer(weight, bias))
    return layers


@pytest.fixture
def tiny_data(tmp_path, monkeypatch) -> Path:
    """Three 48 x 48 training images (and a sub-image cache of the test's own), for training tests."""
    from PIL import Image

    monkeypatch.setenv("SRCNN_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "train"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        base = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)
        Image.fromarray(base).resize((48, 48), Image.BICUBIC).save(folder / f"t{i}.png")
    return folder


@pytest.fixture
def identity_model(tmp_path) -> Path:
    path = tmp_path / "identity.onnx"
    path.write_bytes(srcnn_onnx_bytes(identity_layers(n1=8, n2=4), {"srcnn.arch": "9-5-5"}))
    return path


@pytest.fixture
def identity_rgb_model(tmp_path) -> Path:
    path = tmp_path / "identity_rgb.onnx"
    path.write_bytes(srcnn_onnx_bytes(identity_layers((9, 1, 5), n1=8, n2=8, channels=3)))
    return path


@pytest.fixture
def random_model(tmp_path) -> Path:
    path = tmp_path / "random.onnx"
    path.write_bytes(srcnn_onnx_bytes(random_layers(), {"srcnn.arch": "9-5-5"}))
    return path


@pytest.fixture
def random_rgb_model(tmp_path) -> Path:
    path = tmp_path / "random_rgb.onnx"
    path.write_bytes(srcnn_onnx_bytes(random_layers(4, (9, 1, 5), channels=3), {"srcnn.arch": "9-1-5"}))
    return path


@pytest.fixture
def rgb_image() -> np.ndarray:
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (6, 8, 3)).astype(np.float64)
    # smooth-ish content plus noise, so bicubic and the network both have work to do
    from srcnn_cli.resize import imresize

    smooth = np.clip(imresize(base, output_shape=(30, 41)), 0, 255)
    noise = rng.normal(0, 8, smooth.shape)
    return np.clip(smooth + noise, 0, 255).astype(np.uint8)


@pytest.fixture
def bundled_weights(tmp_path, monkeypatch, identity_model) -> Path:
    """A manifest folder with one identity 'bundled' model per scale, via $SRCNN_WEIGHTS_DIR."""
    import hashlib
    import json

    folder = tmp_path / "weights"
    folder.mkdir()
    entries = []
    for scale in (2, 3, 4):
        data = identity_model.read_bytes()
        name = f"9-5-5_x{scale}"
        (folder / f"{name}.onnx").write_bytes(data)
        entries.append(
            {
                "name": name,
                "arch": "9-5-5",
                "n1": 8,
                "n2": 4,
                "scale": scale,
                "channels": 1,
                "file": f"{name}.onnx",
                "sha256": hashlib.sha256(data).hexdigest(),
                "default": True,
                "recipe": {"recipe": "test"},
                "psnr": {"Set5": 30.0},
            }
        )
    (folder / "manifest.json").write_text(json.dumps({"format": 1, "models": entries}))
    monkeypatch.setenv("SRCNN_WEIGHTS_DIR", str(folder))
    return folder
