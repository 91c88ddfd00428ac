import numpy as np
import pytest

from srcnn_cli.errors import DeviceError, ModelError
from srcnn_cli.onnxmodel import Layer, identity_layers, srcnn_onnx_bytes
from srcnn_cli.runtime import CPU, CUDA, Session, auto_tile, choose_providers, parse_device, plan_tiles

from .conftest import random_layers


def test_parse_device():
    assert parse_device("auto") == ("auto", 0)
    assert parse_device("CUDA:1") == ("cuda", 1)
    with pytest.raises(DeviceError, match="unknown device 'gpu'"):
        parse_device("gpu")


def test_choose_providers():
    assert choose_providers("cpu", [CUDA, CPU]) == [CPU]
    assert choose_providers("auto", [CPU]) == [CPU]
    assert choose_providers("auto", [CUDA, CPU]) == [(CUDA, {"device_id": 0}), CPU]
    assert choose_providers("cuda:2", [CUDA, CPU])[0] == (CUDA, {"device_id": 2})
    with pytest.raises(DeviceError, match="install srcnn-cli\\[cuda\\]"):
        choose_providers("cuda", [CPU])


def test_cuda_without_gpu_is_an_error_not_a_fallback():
    import onnxruntime

    if CUDA in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    with pytest.raises(DeviceError):
        Session(srcnn_onnx_bytes(identity_layers()), device="cuda")


def test_contract_checks():
    with pytest.raises(ModelError, match="cannot load"):
        Session(b"not a model", device="cpu", source="junk.onnx")
    layers = identity_layers()
    two_channel = [Layer(np.zeros((4, 2, 3, 3), np.float32), np.zeros(4, np.float32)),
                   Layer(np.zeros((2, 4, 3, 3), np.float32), np.zeros(2, np.float32))]
    with pytest.raises(ModelError, match="1 or 3 channels"):
        Session(srcnn_onnx_bytes(two_channel), device="cpu")
    session = Session(srcnn_onnx_bytes(layers), device="cpu")
    assert session.contract.channels == 1 and session.contract.receptive_radius == 8
    assert session.device == "cpu"


def test_radius_from_metadata_and_from_probe():
    session = Session(srcnn_onnx_bytes(random_layers(filter_sizes=(5, 3, 3))), device="cpu")
    assert session.contract.receptive_radius == 4
    # a foreign model carries no metadata: the probe measures how far a change spreads
    assert session._probe_reach(1) == 4 and session._probe_radius(1) == 8  # (never below 8)
    wide = Session(srcnn_onnx_bytes(random_layers(filter_sizes=(9, 9, 9))), device="cpu")
    assert wide._probe_reach(1) == 12 and wide._probe_radius(1) == 16  # the true radius, plus 4
    blind = random_layers(filter_sizes=(5, 3, 3))
    blind[0] = Layer(np.zeros_like(blind[0].weight), blind[0].bias)  # ignores its input
    assert Session(srcnn_onnx_bytes(blind), device="cpu")._probe_reach(1) == 0


def test_plan_tiles_cover_once():
    for height, width, tile in [(10, 10, 0), (37, 23, 8), (64, 64, 16), (5, 50, 7)]:
        coverage = np.zeros((height, width), int)
        for t in plan_tiles(height, width, tile, 3):
            coverage[t.out_top:t.out_bottom, t.out_left:t.out_right] += 1
            assert t.win_top <= t.out_top and t.win_bottom >= t.out_bottom
            assert t.out_top - t.win_top in (0, 3) or t.win_top == 0
        assert (coverage == 1).all()


def test_auto_tile_follows_budget():
    small, large = auto_tile(1, 8, budget=64 * 2**20), auto_tile(1, 8, budget=512 * 2**20)
    assert 64 <= small < large


def test_fixed_size_model_is_one_clear_error():
    from srcnn_cli.onnxmodel import _model_bytes, _node

    node = _node("Identity", ["input"], ["output"], "id")
    fixed = _model_bytes("fixed", [node], [], [("input", [1, 1, 33, 33])], [("output", [1, 1, 33, 33])],
                         {"srcnn.receptive_radius": "8"})
    with pytest.raises(ModelError, match="models must accept any height and width"):
        Session(fixed, device="cpu", source="fixed.onnx")
