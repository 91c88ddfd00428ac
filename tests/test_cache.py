"""The compiled-model cache: where it lives, whole entries or none, and OpenVINO through it."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from srcnn_cli import cache
from srcnn_cli.onnxmodel import srcnn_onnx_bytes
from srcnn_cli.runtime import openvino_installed

from .conftest import random_layers

needs_openvino = pytest.mark.skipif(
    not openvino_installed(), reason="OpenVINO is not installed (pip install 'srcnn-cli[openvino]')"
)


def test_the_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    from srcnn_cli.train.data import cache_root

    monkeypatch.setenv("SRCNN_CACHE", str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"
    assert cache_root() == tmp_path / "mine" / "subimages"  # training's sub-images live there too
    for unset in ("", None):
        if unset is None:
            monkeypatch.delenv("SRCNN_CACHE")
        else:
            monkeypatch.setenv("SRCNN_CACHE", unset)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        monkeypatch.setattr("sys.platform", "linux")
        assert cache.cache_dir() == tmp_path / "xdg" / "srcnn-cli"


def test_entries_come_back_whole_or_not_at_all(tmp_path, monkeypatch):
    monkeypatch.setenv("SRCNN_CACHE", str(tmp_path / "cache"))
    key = cache.entry_key(b"model", "settings")
    assert key != cache.entry_key(b"mode", "lsettings")  # the parts are told apart
    assert cache.load(key) is None
    cache.store(key, b"compiled bytes")
    assert cache.load(key) == b"compiled bytes"
    assert [p.name for p in (tmp_path / "cache" / "compiled").iterdir()] == [f"{key}.compiled"]  # no temporary
    entry = tmp_path / "cache" / "compiled" / f"{key}.compiled"
    damaged = bytearray(entry.read_bytes())
    damaged[-3] ^= 0x10
    entry.write_bytes(bytes(damaged))
    assert cache.load(key) is None and not entry.exists()  # a damaged entry is missing, and goes
    entry.write_bytes(b"not ours")
    assert cache.load(key) is None and not entry.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_in_place_of_an_entry_is_a_missing_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("SRCNN_CACHE", str(tmp_path))
    (tmp_path / "compiled").mkdir()
    os.mkfifo(tmp_path / "compiled" / "key.compiled")  # read as a file, it would never end
    assert cache.load("key") is None
    cache.store("key", b"compiled")  # and the entry is made good
    assert cache.load("key") == b"compiled"


def test_an_unusable_cache_leaves_the_run_alone(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_bytes(b"")
    monkeypatch.setenv("SRCNN_CACHE", str(tmp_path / "a-file" / "cache"))  # cannot be made
    cache.store("key", b"compiled")
    assert cache.load("key") is None
    cache.forget("key")


@needs_openvino
def test_openvino_loads_what_it_compiled_before(tmp_path, monkeypatch):
    import openvino

    from srcnn_cli.runtime import open_session

    monkeypatch.setenv("SRCNN_CACHE", str(tmp_path / "cache"))
    compiles = []
    real_compile = openvino.Core.compile_model
    monkeypatch.setattr(
        openvino.Core,
        "compile_model",
        lambda core, *args, **kwargs: compiles.append(1) or real_compile(core, *args, **kwargs),
    )
    model = srcnn_onnx_bytes(random_layers(5), {"srcnn.receptive_radius": "8"})
    planes = np.random.default_rng(0).random((1, 29, 41), dtype=np.float32)
    compiled = open_session(model, "cpu", runtime="openvino").run(planes)
    assert len(compiles) == 1 and len(list((tmp_path / "cache" / "compiled").iterdir())) == 1
    loaded = open_session(model, "cpu", runtime="openvino").run(planes)
    assert len(compiles) == 1  # the second session compiled nothing
    np.testing.assert_array_equal(loaded, compiled)
    other = srcnn_onnx_bytes(random_layers(6), {"srcnn.receptive_radius": "8"})
    open_session(other, "cpu", runtime="openvino").run(planes)
    assert len(compiles) == 2  # another model is another entry

    for path in (tmp_path / "cache" / "compiled").iterdir():  # whole entries that OpenVINO cannot import
        blob = b"\x00" * 64
        path.write_bytes(cache._MAGIC + hashlib.sha256(blob).digest() + blob)
    again = open_session(model, "cpu", runtime="openvino").run(planes)
    assert len(compiles) == 3  # compiled again
    np.testing.assert_array_equal(again, compiled)
    open_session(model, "cpu", runtime="openvino").run(planes)
    assert len(compiles) == 3  # and the entry made good
