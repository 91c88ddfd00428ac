import numpy as np
import pytest

from srcnn_cli.errors import DeviceError, ModelError
from srcnn_cli.onnxmodel import Layer, identity_layers, srcnn_onnx_bytes
from srcnn_cli.runtime import (
    CPU,
    CUDA,
    Session,
    auto_tile,
    choose_providers,
    openvino_installed,
    parse_device,
    plan_tiles,
)

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
    with pytest.raises(DeviceError, match=r"use device='cpu', or pip install \"\.\[cuda\]\" from a clone"):
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
    two_channel = [
        Layer(np.zeros((4, 2, 3, 3), np.float32), np.zeros(4, np.float32)),
        Layer(np.zeros((2, 4, 3, 3), np.float32), np.zeros(2, np.float32)),
    ]
    with pytest.raises(ModelError, match="1 or 3 channels"):
        Session(srcnn_onnx_bytes(two_channel), device="cpu")
    session = Session(srcnn_onnx_bytes(layers), device="cpu")
    assert session.contract.channels == 1 and session.contract.receptive_radius == 8
    assert session.device == "cpu"


def test_radius_from_metadata_and_from_probe():
    session = Session(srcnn_onnx_bytes(random_layers(filter_sizes=(5, 3, 3))), device="cpu")
    assert session.contract.receptive_radius == 4
    # a foreign model carries no metadata: the probe measures how far a change spreads
    assert (
        session._probe_reach(session.contract) == 4 and session._probe_radius(session.contract) == 8
    )  # (never below 8)
    wide = Session(srcnn_onnx_bytes(random_layers(filter_sizes=(9, 9, 9))), device="cpu")
    assert wide._probe_reach(wide.contract) == 12 and wide._probe_radius(wide.contract) == 16  # the true radius, plus 4
    blind = random_layers(filter_sizes=(5, 3, 3))
    blind[0] = Layer(np.zeros_like(blind[0].weight), blind[0].bias)  # ignores its input
    assert (blind_session := Session(srcnn_onnx_bytes(blind), device="cpu"))._probe_reach(blind_session.contract) == 0


@pytest.mark.parametrize(
    "height, width, tile, halo, rows, scale",
    [
        (10, 10, 0, 3, None, 1),
        (37, 23, 8, 3, None, 1),
        (64, 64, 16, 3, None, 1),
        (5, 50, 7, 3, None, 1),
        (96, 150, 20, 8, None, 3),
        (96, 150, 20, 8, 9, 3),
        (40, 40, 64, 8, None, 2),
        (12, 400, 30, 2, 6, 4),
    ],
)
def test_tiles_cover_once_with_windows_of_one_shape(height, width, tile, halo, rows, scale):
    tiles = plan_tiles(height, width, tile, halo, rows, scale)
    coverage = np.zeros((height, width), int)
    for t in tiles:
        coverage[t.out_top : t.out_bottom, t.out_left : t.out_right] += 1
        # the window reaches the halo beyond the tile, or the image's edge
        assert t.win_top <= max(0, t.out_top - halo) and t.win_left <= max(0, t.out_left - halo)
        assert t.win_bottom >= min(height, t.out_bottom + halo) and t.win_right >= min(width, t.out_right + halo)
        assert min(t.win_top, t.win_left) >= 0 and t.win_bottom <= height and t.win_right <= width
        assert all(v % scale == 0 for v in (t.out_top, t.out_left, t.win_top, t.win_left, t.win_bottom, t.win_right))
    assert (coverage == 1).all()
    assert len({(t.win_bottom - t.win_top, t.win_right - t.win_left) for t in tiles}) == 1
    for sides in ({t.out_right - t.out_left for t in tiles}, {t.out_bottom - t.out_top for t in tiles}):
        assert max(sides) - min(sides) <= scale  # cut evenly
    if tile:
        assert max(t.out_right - t.out_left for t in tiles) < tile + scale


def test_auto_tile_follows_budget():
    small, large = auto_tile(1, 8, budget=64 * 2**20), auto_tile(1, 8, budget=512 * 2**20)
    assert 64 <= small < large


def test_fixed_size_model_is_one_clear_error():
    from srcnn_cli.onnxmodel import _model_bytes, _node

    node = _node("Identity", ["input"], ["output"], "id")
    fixed = _model_bytes(
        "fixed", [node], [], [("input", [1, 1, 33, 33])], [("output", [1, 1, 33, 33])], {"srcnn.receptive_radius": "8"}
    )
    with pytest.raises(ModelError, match="models must accept any height and width"):
        Session(fixed, device="cpu", source="fixed.onnx")


needs_openvino = pytest.mark.skipif(
    not openvino_installed(), reason="OpenVINO is not installed (pip install 'srcnn-cli[openvino]')"
)


@needs_openvino
def test_openvino_computes_what_onnxruntime_computes():
    from srcnn_cli.runtime import OpenVinoSession, open_session

    model = srcnn_onnx_bytes(random_layers(3), {"srcnn.receptive_radius": "8"})
    reference = open_session(model, "cpu", runtime="onnxruntime")
    openvino = open_session(model, "cpu", runtime="openvino")
    assert isinstance(openvino, OpenVinoSession) and type(reference) is Session
    assert (reference.runtime, openvino.runtime) == ("onnxruntime", "openvino")
    assert openvino.contract == reference.contract
    planes = np.random.default_rng(0).random((1, 37, 53), dtype=np.float32)
    # full float32 (no bf16 on CPUs that have it): equal to float rounding
    np.testing.assert_allclose(openvino.run(planes), reference.run(planes), atol=2e-5)
    assert openvino.run(planes[:, :20, :31]).shape == (1, 20, 31)  # another shape, the same model
    assert type(open_session(model, "cpu")) is OpenVinoSession  # auto: OpenVINO on the CPU where installed


@needs_openvino
def test_openvino_compiles_beside_the_caller_and_a_failure_fails_each_run(monkeypatch):
    import threading

    from srcnn_cli.runtime import open_session

    model = srcnn_onnx_bytes(random_layers(1), {"srcnn.receptive_radius": "8"})
    may_finish, calls = threading.Event(), []

    def compile_slowly_then_fail(data, threads=0, cache_folder=None):
        calls.append(threading.current_thread().name)
        may_finish.wait(10)
        raise RuntimeError("Exception from src/inference: unsupported operation\nmore lines")

    monkeypatch.setattr("srcnn_cli.runtime._openvino_compiled", compile_slowly_then_fail)
    session = open_session(model, "cpu", runtime="openvino", source="odd.onnx")  # returns while compiling
    assert session.contract.receptive_radius == 8 and not may_finish.is_set()
    may_finish.set()
    for _ in range(2):  # the same error each time, without compiling again
        with pytest.raises(
            ModelError,
            match=r"^OpenVINO cannot load odd.onnx: Exception from src/inference: "
            r"unsupported operation$",
        ):
            session.run(np.zeros((1, 9, 9), np.float32))
    assert calls == ["openvino-compile"]


@needs_openvino
def test_openvino_is_imported_without_its_telemetry(tmp_path):
    """Left alone, ``import openvino`` writes an id under ~/intel and forks a process that
    reports the import to Google Analytics; our runs send nothing and write nothing there."""
    import os
    import subprocess
    import sys

    environment = {key: value for key, value in os.environ.items() if key not in ("CI", "TF_BUILD", "JENKINS_URL")}
    environment["HOME"] = str(tmp_path)  # (outside CI the telemetry would count as consented to)
    code = (
        "from srcnn_cli.runtime import _openvino; _openvino()\n"
        "import openvino.tools.ovc.telemetry_utils as converter; print(converter.tm.__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "openvino.tools.ovc.telemetry_stub"
    assert list(tmp_path.iterdir()) == []


def test_onnxruntime_is_started_without_its_telemetry(tmp_path):
    """onnxruntime (1.29 and later) writes a device id and a queue of events for Microsoft's
    collector under ~/.cache unless told not to; our runs write nothing there and send nothing."""
    import os
    import subprocess
    import sys

    environment = {
        key: value for key, value in os.environ.items() if key not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME", "CI")
    }
    environment["HOME"] = str(tmp_path)
    code = (
        "import numpy as np\n"
        "from srcnn_cli.onnxmodel import matmul_onnx_bytes\n"
        "from srcnn_cli.runtime import raw_session\n"
        "a = np.ones((4, 4), np.float32)\n"
        "print(raw_session(matmul_onnx_bytes(4)).run(None, {'a': a, 'b': a})[0][0, 0])"
    )
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "4.0"
    assert [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")] == []


def test_runtime_choice_errors(monkeypatch):
    import sys

    from srcnn_cli.runtime import open_session

    model = srcnn_onnx_bytes(random_layers(3))
    with pytest.raises(DeviceError, match="runtime='openvino' runs on the CPU: use device='cpu'"):
        open_session(model, "cuda", runtime="openvino")
    with pytest.raises(DeviceError, match="unknown runtime 'tvm'"):
        open_session(model, "cpu", runtime="tvm")
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if not installed
    monkeypatch.setattr("srcnn_cli.runtime.openvino_installed", lambda: False)
    with pytest.raises(
        DeviceError,
        match=r"runtime='openvino' needs OpenVINO: pip install \"\.\[openvino\]\" from a clone, or 'srcnn-cli\[openvino\]'",
    ):
        open_session(model, "cpu", runtime="openvino")
    assert type(open_session(model, "cpu")) is Session  # auto without OpenVINO: onnxruntime


def test_runtime_option_reaches_the_upscaler(tmp_path, identity_model):
    from click.testing import CliRunner
    from PIL import Image

    from srcnn_cli.cli import cli

    Image.fromarray(np.zeros((9, 11, 3), np.uint8)).save(tmp_path / "a.png")
    for runtime in ("onnxruntime", "openvino") if openvino_installed() else ("onnxruntime",):
        result = CliRunner().invoke(
            cli,
            [
                "upscale",
                str(tmp_path / "a.png"),
                "-o",
                str(tmp_path / f"{runtime}.png"),
                "-s",
                "2",
                "-m",
                str(identity_model),
                "--runtime",
                runtime,
                "-q",
            ],
        )
        assert result.exit_code == 0, result.output
    bad = CliRunner().invoke(cli, ["upscale", str(tmp_path / "a.png"), "--runtime", "tvm"])
    assert bad.exit_code == 2 and "Invalid value for '--runtime'" in bad.output


def test_each_runtime_chooses_its_tile():
    """OpenVINO runs a model with little work per pixel (9-1-5 on Y) on smaller tiles; other
    models, and onnxruntime, on the tiles the memory budget allows."""
    from srcnn_cli.runtime import LIGHT_MODEL_TILE, open_session

    def model(arch: str, channels: int = 1) -> bytes:
        sizes = tuple(int(f) for f in arch.split("-"))
        return srcnn_onnx_bytes(
            random_layers(2, sizes, n1=4, n2=4, channels=channels),
            {"srcnn.arch": arch, "srcnn.n1": "64", "srcnn.n2": "32"},
        )

    light, heavy, light_rgb = model("9-1-5"), model("9-5-5"), model("9-1-5", 3)
    assert open_session(light, "cpu", runtime="onnxruntime").auto_tile() == auto_tile(1, 6) > LIGHT_MODEL_TILE
    if openvino_installed():
        assert open_session(light, "cpu", runtime="openvino").auto_tile() == LIGHT_MODEL_TILE
        assert open_session(heavy, "cpu", runtime="openvino").auto_tile() == auto_tile(1, 8)
        assert open_session(light_rgb, "cpu", runtime="openvino").auto_tile() == auto_tile(3, 6)
    unrecorded = srcnn_onnx_bytes(random_layers(2, (9, 1, 5), n1=4, n2=4))  # no architecture recorded
    assert open_session(unrecorded, "cpu").auto_tile() == auto_tile(1, 6)


def test_cuda_that_cannot_start_is_quiet_for_auto_and_one_error_when_asked(monkeypatch, recwarn):
    """onnxruntime offers CUDA (the [cuda] wheel) on a machine where it cannot start: ``auto``
    takes the CPU without a word and without trying CUDA (which printed screens of onnxruntime's
    errors); an explicit CUDA device is one error naming the cause."""
    import srcnn_cli.runtime as runtime

    monkeypatch.setattr(runtime._ort(), "get_available_providers", lambda: [CUDA, CPU])  # as the [cuda] wheel
    monkeypatch.setattr(
        runtime, "cuda_start_problem", lambda index=0: "no NVIDIA driver (its library libcuda could not be loaded)"
    )
    session = Session(srcnn_onnx_bytes(identity_layers(n1=8, n2=4)), device="auto")
    assert session.providers == [CPU] and session.device == "cpu"
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
    with pytest.raises(DeviceError) as caught:
        Session(srcnn_onnx_bytes(identity_layers(n1=8, n2=4)), device="cuda:1")
    assert str(caught.value) == (
        "device='cuda:1' cannot start CUDA: no NVIDIA driver (its library libcuda could not be loaded)"
    )
    assert choose_providers("auto", [CUDA, CPU], "no CUDA device on this machine") == [CPU]


def test_the_driver_is_asked_cheaply():
    """On this machine (no GPU in CI) the answer comes from the driver library alone, in one line."""
    from srcnn_cli.runtime import cuda_start_problem

    problem = cuda_start_problem(0)
    assert problem is None or (
        "\n" not in problem and problem.startswith(("no NVIDIA driver", "the NVIDIA driver", "no CUDA device"))
    )
