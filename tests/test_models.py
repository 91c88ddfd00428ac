import hashlib
import json
import struct
import zlib

import numpy as np
import pytest

from srcnn_cli.errors import ModelError
from srcnn_cli.matfile import MatFileError, load_mat
from srcnn_cli.models import (
    PSNR_OVER_Y,
    PSNR_OVER_YCBCR,
    find_bundled,
    load_manifest,
    mat_layers,
    mat_to_onnx_bytes,
    resolve_model,
)
from srcnn_cli.onnxmodel import identity_layers, srcnn_onnx_bytes
from srcnn_cli.runtime import Session

from .conftest import DATA, needs_data, random_layers


def _element(kind: int, payload: bytes) -> bytes:
    return struct.pack("<II", kind, len(payload)) + payload + b"\0" * ((-len(payload)) % 8)


def _matrix(name: str, array: np.ndarray) -> bytes:
    flags = _element(6, struct.pack("<II", 6, 0))  # mxDOUBLE_CLASS
    dims = _element(5, np.array(array.shape, "<i4").tobytes())
    label = _element(1, name.encode())
    data = _element(9, np.asarray(array, "<f8").ravel(order="F").tobytes())
    return _element(14, flags + dims + label + data)


def write_mat(path, variables: dict, compress: bool = True) -> None:
    """A MAT v5 file as MATLAB writes it (compressed elements) for the reader's tests."""
    header = b"MATLAB 5.0 MAT-file, written by a test".ljust(116, b" ") + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"
    body = b""
    for name, array in variables.items():
        element = _matrix(name, array)
        body += struct.pack("<II", 15, len(zc := zlib.compress(element))) + zc if compress else element
    path.write_bytes(header + body)


def authors_layout(rng, f1=9, f2=5, f3=5, n1=4, n2=3):
    return {
        "weights_conv1": rng.normal(size=(f1 * f1, n1)),
        "biases_conv1": rng.normal(size=(n1, 1)),
        "weights_conv2": rng.normal(size=(n1, f2 * f2, n2)),
        "biases_conv2": rng.normal(size=(n2, 1)),
        "weights_conv3": rng.normal(size=(n2, f3 * f3)),
        "biases_conv3": rng.normal(size=(1, 1)),
    }


def test_mat_reader_agrees_with_scipy(tmp_path):
    """The reader against an independent writer (scipy.io, in the dev extra), compressed or not."""
    scipy_io = pytest.importorskip("scipy.io")
    rng = np.random.default_rng(4)
    variables = {
        "weights_conv1": rng.normal(size=(81, 4)),
        "biases_conv1": rng.normal(size=(4, 1)),
        "w3d": rng.normal(size=(4, 25, 3)),
        "single": np.float32(rng.normal(size=(2, 3))),
        "ints": np.arange(6, dtype=np.int16).reshape(2, 3),
    }
    for compress in (False, True):
        path = tmp_path / f"scipy_{compress}.mat"
        scipy_io.savemat(path, variables, do_compression=compress)
        loaded = load_mat(path)
        for name, array in variables.items():
            np.testing.assert_array_equal(loaded[name], np.asarray(array, np.float64))
    # and the authors' layout written by scipy converts like ours
    layout = authors_layout(rng)
    scipy_io.savemat(tmp_path / "authors.mat", layout)
    write_mat(tmp_path / "ours.mat", layout)
    for theirs, ours in zip(
        mat_layers(load_mat(tmp_path / "authors.mat")), mat_layers(load_mat(tmp_path / "ours.mat"))
    ):
        np.testing.assert_array_equal(theirs.weight, ours.weight)
        np.testing.assert_array_equal(theirs.bias, ours.bias)


def test_mat_reader_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    variables = authors_layout(rng)
    for compress in (True, False):
        path = tmp_path / f"w{compress}.mat"
        write_mat(path, variables, compress)
        loaded = load_mat(path)
        for name, array in variables.items():
            np.testing.assert_array_equal(loaded[name], array)


def test_mat_reader_rejects_other_files(tmp_path):
    path = tmp_path / "x.mat"
    path.write_bytes(b"\x89HDF\r\n" + b"\0" * 200)
    with pytest.raises(MatFileError):
        load_mat(path)


def test_mat_layout_is_column_major(tmp_path):
    rng = np.random.default_rng(1)
    variables = authors_layout(rng)
    layers = mat_layers(variables)
    # conv1 filter i is w1[:, i] reshaped 9 x 9 in Fortran order: element (r, c) = w1[r + 9 c, i]
    assert layers[0].weight[2, 0, 3, 4] == np.float32(variables["weights_conv1"][3 + 9 * 4, 2])
    # conv2 filter from input j to output i is w2[j, :, i]
    assert layers[1].weight[1, 3, 2, 0] == np.float32(variables["weights_conv2"][3, 2, 1])
    assert layers[2].weight[0, 2, 1, 3] == np.float32(variables["weights_conv3"][2, 1 + 5 * 3])
    with pytest.raises(ModelError, match="weights_conv1"):
        mat_layers({})


def correlate(planes, layer, relu):
    """One layer as the model contract defines it: edge padding, correlation, bias, ReLU."""
    k = layer.weight.shape[-1]
    padded = np.pad(planes, ((0, 0), (k // 2, k // 2), (k // 2, k // 2)), mode="edge")
    out = np.zeros((layer.weight.shape[0],) + planes.shape[1:])
    for o in range(layer.weight.shape[0]):
        for i in range(planes.shape[0]):
            for dy in range(k):
                for dx in range(k):
                    out[o] += (
                        layer.weight[o, i, dy, dx] * padded[i, dy : dy + planes.shape[1], dx : dx + planes.shape[2]]
                    )
        out[o] += layer.bias[o]
    return np.maximum(out, 0) if relu else out


def test_mat_model_runs_as_correlation_with_replicate_padding(tmp_path):
    rng = np.random.default_rng(2)
    variables = authors_layout(rng, f2=1)
    variables["weights_conv2"] = variables["weights_conv2"][:, 0, :]  # MATLAB drops the 1
    path = tmp_path / "w.mat"
    write_mat(path, variables)
    session = Session(mat_to_onnx_bytes(path, 3), device="cpu")
    x = rng.random((1, 12, 10)).astype(np.float32)
    layers = mat_layers(variables)

    expected = correlate(correlate(correlate(x, layers[0], True), layers[1], True), layers[2], False)
    np.testing.assert_allclose(session.run(x), expected, rtol=1e-4, atol=1e-4)
    assert session.contract.metadata["srcnn.arch"] == "9-1-5"


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
@pytest.mark.parametrize("channels, height, width", [(1, 1, 1), (1, 5, 7), (1, 13, 4), (3, 9, 6), (3, 2, 17)])
def test_written_models_compute_the_layers_at_every_size(runtime, channels, height, width):
    # the last layer is written blocked (4 x 4 output pixels per position, then cropped): sizes
    # that are not multiples of the block, and a single pixel, must give the plain layers' sums
    if runtime == "openvino":
        pytest.importorskip("openvino")
    from srcnn_cli.runtime import open_session

    layers = random_layers(filter_sizes=(5, 3, 3), n1=6, n2=4, channels=channels)
    session = open_session(srcnn_onnx_bytes(layers), device="cpu", runtime=runtime)
    x = np.random.default_rng(3).random((channels, height, width)).astype(np.float32)
    expected = correlate(correlate(correlate(x, layers[0], True), layers[1], True), layers[2], False)
    np.testing.assert_allclose(session.run(x), expected, rtol=1e-5, atol=1e-5)


def test_onnx_writer_output_passes_the_onnx_checker():
    onnx = pytest.importorskip("onnx")
    model = onnx.load_from_string(srcnn_onnx_bytes(identity_layers(), {"srcnn.arch": "9-5-5"}))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version >= 17
    assert [n.op_type for n in model.graph.node][:3] == ["Pad", "Conv", "Relu"]


def test_bundled_lookup_and_sha_check(bundled_weights):
    models = load_manifest()
    assert find_bundled(None, 3, 1, models).name == "9-5-5_x3"
    assert find_bundled("9-5-5", 2, 1, models).name == "9-5-5_x2"
    with pytest.raises(ModelError, match="no bundled model 9-1-5 at x3"):
        find_bundled("9-1-5", 3, 1, models)
    with pytest.raises(ModelError, match=r"^no bundled rgb model at x3; available: 9-5-5_x2, 9-5-5_x3, 9-5-5_x4$"):
        find_bundled(None, 3, 3, models)
    assert resolve_model("9-5-5", 4).info.scale == 4
    (bundled_weights / "9-5-5_x4.onnx").write_bytes(b"corrupted")
    with pytest.raises(ModelError, match="corrupt: sha256"):
        resolve_model("9-5-5", 4)
    (bundled_weights / "9-5-5_x4.onnx").unlink()
    with pytest.raises(ModelError, match="missing its file"):
        resolve_model("9-5-5", 4)


def test_model_paths(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        resolve_model(str(tmp_path / "nope.onnx"), 3)


def test_shipped_manifest_matches_its_files():
    """Every bundled ONNX file's sha256 is the one its manifest entry records."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "weights"
    manifest = folder / "manifest.json"
    assert manifest.is_file(), "the bundled weights' manifest is missing: the very fault this test guards"
    for entry in json.loads(manifest.read_text())["models"]:
        data = (folder / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["name"]
        assert {"name", "arch", "n1", "n2", "scale", "channels", "recipe", "psnr", "psnr_measure"} <= set(entry)
        assert all(isinstance(db, float) for db in entry["psnr"].values()), entry["name"]


def test_format_1_manifest_entries_are_read_with_their_measure_moved_out(tmp_path):
    """Format 1 kept the colour measure and skipped sets inside ``psnr``; reading splits them off."""
    entry = {
        "name": "9-1-5_x3_rgb",
        "arch": "9-1-5",
        "n1": 64,
        "n2": 32,
        "scale": 3,
        "channels": 3,
        "file": "m.onnx",
        "sha256": "0" * 64,
        "psnr": {"Set5": 36.44, "measure": PSNR_OVER_YCBCR, "skipped": ["Set14: not found"]},
    }
    plain = {**entry, "name": "9-1-5_x3", "channels": 1, "psnr": {"Set5": 32.46}}
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "models": [entry, plain]}))
    rgb, y = load_manifest(tmp_path)
    assert rgb.psnr == {"Set5": 36.44} and rgb.psnr_measure == PSNR_OVER_YCBCR
    assert rgb.psnr_skipped == ["Set14: not found"]
    assert y.psnr == {"Set5": 32.46} and y.psnr_measure == PSNR_OVER_Y and y.psnr_skipped == []


@needs_data
def test_authors_mat_converts():
    session = Session(mat_to_onnx_bytes(DATA / "srcnn_v1" / "9-5-5_imagenet" / "x3.mat", 3), device="cpu")
    assert session.contract.receptive_radius == 8
    assert session.contract.metadata["srcnn.n1"] == "64"


@pytest.mark.parametrize(
    "name, scale",
    [
        ("x3.mat", 3),
        ("9-5-5_imagenet/x4.mat", 4),
        ("weights_x2.MAT", 2),
        ("x3_old.mat", None),
        ("max3.mat", None),
        ("model.mat", None),
    ],
)
def test_the_authors_file_names_give_the_scale(name, scale):
    from srcnn_cli.models import named_scale, scale_from_file_name

    assert scale_from_file_name(name) == scale
    assert named_scale(name) == scale


def test_names_that_fix_a_scale():
    from srcnn_cli.models import named_scale

    assert named_scale("9-5-5_x4") == 4 and named_scale("9-1-5_x2_rgb") == 2
    assert named_scale("9-5-5") is None and named_scale(None) is None and named_scale("m.onnx") is None


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_the_bundled_fsrcnn_follows_the_low_resolution_contract(scale):
    """-m fsrcnn takes its scale from -s, and the network enlarges by that factor itself."""
    from srcnn_cli.models import resolve_model
    from srcnn_cli.pipeline import Upscaler
    from srcnn_cli.runtime import Session

    loaded = resolve_model("fsrcnn", scale)
    assert loaded.info.name == f"fsrcnn_x{scale}" and loaded.info.contract == "lowres" and not loaded.info.default
    contract = Session(loaded.data, device="cpu").contract
    assert (contract.kind, contract.scale, contract.channels) == ("lowres", scale, 1)
    pixels = np.random.default_rng(scale).integers(0, 256, (21, 34, 3), dtype=np.uint8)
    assert Upscaler("fsrcnn", scale=scale, device="cpu").upscale(pixels).shape == (21 * scale, 34 * scale, 3)
