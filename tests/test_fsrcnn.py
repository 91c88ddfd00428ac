"""The low-resolution model contract (FSRCNN): the ONNX writer against a plain numpy FSRCNN, the
contract's checks, the pipeline (tiles, colour, ensemble, sizes), eval, and a user's file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from srcnn_cli.cli import cli
from srcnn_cli.errors import ModelError
from srcnn_cli.onnxmodel import FsrcnnWeights, GraphBuilder, fsrcnn_onnx_bytes, subpixel_deconvolution
from srcnn_cli.pipeline import Upscaler, upscale_array
from srcnn_cli.runtime import Session


def random_fsrcnn(scale: int, seed: int = 0, d: int = 8, s: int = 4, m: int = 1, channels: int = 1) -> FsrcnnWeights:
    rng = np.random.default_rng(seed)
    shapes = [(d, channels, 5, 5), (s, d, 1, 1)] + [(s, s, 3, 3)] * m + [(d, s, 1, 1)]
    convs = [
        (
            rng.normal(0, 1 / np.sqrt(np.prod(shape[1:])), shape).astype(np.float32),
            rng.normal(0, 0.05, shape[0]).astype(np.float32),
        )
        for shape in shapes
    ]
    slopes = [rng.uniform(0, 0.5, shape[0]).astype(np.float32) for shape in shapes]
    deconv = (rng.normal(0, 0.05, (d, channels, 9, 9)).astype(np.float32), np.full(channels, 0.1, np.float32))
    return FsrcnnWeights(convs, slopes, deconv, scale)


def reference_fsrcnn(weights: FsrcnnWeights, plane: np.ndarray) -> np.ndarray:
    """C x H x W -> C x sH x sW in float64, written as the paper describes it: edge-padded
    convolutions with PReLU, then a transposed convolution that scatters each input pixel's
    9 x 9 taps, the centre tap of pixel i on output scale * i + (scale - 1) // 2."""
    x = plane.astype(np.float64)
    for (weight, bias), slope in zip(weights.convs, weights.slopes):
        r = weight.shape[-1] // 2
        padded = np.pad(x, ((0, 0), (r, r), (r, r)), mode="edge")
        _, height, width = x.shape
        out = np.zeros((weight.shape[0], height, width))
        for dy in range(weight.shape[2]):
            for dx in range(weight.shape[3]):
                out += np.einsum("oc,chw->ohw", weight[:, :, dy, dx], padded[:, dy : dy + height, dx : dx + width])
        out += bias[:, None, None]
        x = np.where(out > 0, out, slope[:, None, None] * out)
    weight, bias = weights.deconv
    scale, size = weights.scale, weight.shape[-1]
    reach = 3
    padded = np.pad(x, ((0, 0), (reach, reach), (reach, reach)), mode="edge")
    _, height, width = x.shape
    full = np.zeros((weight.shape[1], (height + 2 * reach) * scale + size, (width + 2 * reach) * scale + size))
    for j in range(padded.shape[1]):
        for i in range(padded.shape[2]):
            full[:, j * scale : j * scale + size, i * scale : i * scale + size] += np.einsum(
                "c,cohw->ohw", padded[:, j, i], weight
            )
    first = reach * scale + size // 2 - (scale - 1) // 2  # pixel 0's centre tap
    return full[:, first : first + height * scale, first : first + width * scale] + bias[:, None, None]


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_onnx_model_equals_the_papers_network(scale):
    weights = random_fsrcnn(scale, seed=scale)
    session = Session(fsrcnn_onnx_bytes(weights), device="cpu")
    plane = np.random.default_rng(1).random((1, 11, 14), dtype=np.float32)
    got = session.run(plane)
    assert got.shape == (1, 11 * scale, 14 * scale)
    np.testing.assert_allclose(got, reference_fsrcnn(weights, plane), atol=2e-5)
    assert (session.contract.kind, session.contract.scale) == ("lowres", scale)


def test_subpixel_kernel_holds_each_tap_once():
    weight = np.random.default_rng(0).random((4, 1, 9, 9), dtype=np.float32)
    for scale in (2, 3, 4):
        kernel, before, after = subpixel_deconvolution(weight, scale)
        assert kernel.shape[0] == scale * scale and kernel.shape[2] == before + after + 1
        np.testing.assert_allclose(np.sort(kernel[kernel != 0]), np.sort(weight.ravel()))


@pytest.fixture
def fsrcnn_file(tmp_path):
    path = tmp_path / "fast_x3.onnx"
    path.write_bytes(fsrcnn_onnx_bytes(random_fsrcnn(3), {"srcnn.arch": "fsrcnn-8-4-1"}))
    return path


def test_tiles_equal_the_whole_image_on_every_layout(fsrcnn_file, rgb_image):
    session = Session(fsrcnn_file.read_bytes(), device="cpu")
    for pixels in (
        rgb_image,
        rgb_image[:, :, 0],
        np.dstack([rgb_image, rgb_image[:, :, :1]]),
        (rgb_image.astype(np.uint16) * 257),
    ):
        whole = upscale_array(pixels, 3, session, tile=0)
        assert whole.shape[:2] == (90, 123) and whole.dtype == pixels.dtype
        for tile in (12, 21, 48):
            np.testing.assert_array_equal(upscale_array(pixels, 3, session, tile=tile), whole)


def test_gray_output_is_the_network_on_the_low_resolution_plane(fsrcnn_file, rgb_image):
    weights = random_fsrcnn(3)
    gray = rgb_image[:, :, 1]
    got = upscale_array(gray, 3, Session(fsrcnn_file.read_bytes(), device="cpu"), tile=24)
    expected = reference_fsrcnn(weights, gray[None].astype(np.float64) / 255)[0]
    assert np.abs(got.astype(int) - np.floor(np.clip(expected, 0, 1) * 255 + 0.5)).max() <= 1


def test_chroma_still_takes_the_bicubic(identity_model, rgb_image):
    """A colour image's Cb and Cr are the bicubic's under either contract: the two outputs
    differ in Y only (to the rounding of R, G and B)."""
    from srcnn_cli.color import rgb2ycbcr

    mild = (rgb_image // 3 + 85).astype(np.uint8)  # far from 0 and 255: no channel is clipped
    weights = random_fsrcnn(3)
    quiet = FsrcnnWeights(weights.convs, weights.slopes, (weights.deconv[0] * 0.1, weights.deconv[1] + 0.4), 3)
    fast = upscale_array(mild, 3, Session(fsrcnn_onnx_bytes(quiet), device="cpu"))
    bicubic = upscale_array(mild, 3, Session(identity_model.read_bytes(), device="cpu"))
    chroma = [rgb2ycbcr(image.astype(np.float64) / 255)[:, :, 1:] for image in (fast, bicubic)]
    unclipped = ((fast > 0) & (fast < 255) & (bicubic > 0) & (bicubic < 255)).all(axis=2)  # clipping moves chroma
    assert unclipped.mean() > 0.9
    assert np.abs(chroma[0] - chroma[1])[unclipped].max() < 3 / 255
    assert np.abs(fast.astype(int) - bicubic.astype(int)).max() > 5  # the luma did change


def test_ensemble_and_any_size(fsrcnn_file, rgb_image):
    up = Upscaler(str(fsrcnn_file), scale=3, ensemble=True, device="cpu")
    assert up.upscale(rgb_image).shape == (90, 123, 3)
    sized = Upscaler(str(fsrcnn_file), width=200, device="cpu")
    assert sized.upscale(rgb_image).shape[1] == 200
    assert sized.describe(30, 41).endswith("then bicubic to 200x146")


def test_a_file_runs_at_its_own_scale_then_bicubic(fsrcnn_file, rgb_image):
    up = Upscaler(str(fsrcnn_file), scale=2, device="cpu")
    assert up.plan(30, 41).passes == (3,)
    assert up.upscale(rgb_image).shape == (60, 82, 3)
    assert "then bicubic to 82x60" in up.describe(30, 41)


def test_a_foreign_model_without_metadata_shows_its_scale(tmp_path):
    """An ESPCN-like pixel shuffle with no srcnn.* metadata: the contract is read off its output."""
    graph = GraphBuilder("shuffle")
    kernel = np.zeros((4, 1, 3, 3), np.float32)
    kernel[:, 0, 1, 1] = 1.0
    padded = graph.node("Pad", ["input", graph.constant(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))], mode="edge")
    conv = graph.node("Conv", [padded, graph.constant(kernel)], kernel_shape=[3, 3])
    graph.node("DepthToSpace", [conv], "output", blocksize=2, mode="DCR")
    path = tmp_path / "shuffle.onnx"
    path.write_bytes(
        graph.build([("input", ["N", 1, "H", "W"], np.float32)], [("output", ["N", 1, "H2", "W2"], np.float32)])
    )
    session = Session(path.read_bytes(), device="cpu")
    assert (session.contract.kind, session.contract.scale) == ("lowres", 2)
    image = np.random.default_rng(0).integers(0, 256, (9, 13), dtype=np.uint8)
    np.testing.assert_array_equal(upscale_array(image, 2, session), image.repeat(2, 0).repeat(2, 1))


def test_unknown_contract_and_wrong_scale_are_one_error_before_any_work(tmp_path):
    weights = random_fsrcnn(3)
    with pytest.raises(ModelError, match=r"unknown model contract 'pixelshuffle' in its metadata"):
        Session(fsrcnn_onnx_bytes(weights, {"srcnn.contract": "pixelshuffle"}), device="cpu", source="m.onnx")
    with pytest.raises(ModelError, match=r"m.onnx: declares a x2 low-resolution contract, but its output is x3"):
        Session(fsrcnn_onnx_bytes(weights, {"srcnn.scale": "2"}), device="cpu", source="m.onnx")
    with pytest.raises(ModelError, match=r"follows the bicubic contract, but its output is x3"):
        Session(fsrcnn_onnx_bytes(weights, {"srcnn.contract": "bicubic"}), device="cpu", source="m.onnx")


def test_cli_upscale_and_eval_take_a_low_resolution_file(tmp_path, fsrcnn_file, rgb_image):
    Image.fromarray(rgb_image).save(tmp_path / "a.png")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "upscale",
            str(tmp_path / "a.png"),
            "-m",
            str(fsrcnn_file),
            "-o",
            str(tmp_path / "out.png"),
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out.png").size == (123, 90)
    folder = tmp_path / "Set5"
    folder.mkdir()
    Image.fromarray(np.tile(rgb_image, (2, 2, 1))).save(folder / "b.png")
    result = runner.invoke(cli, ["eval", str(folder), "-s", "2", "-m", str(fsrcnn_file), "--device", "cpu"])
    assert result.exit_code == 1
    assert "upscales x3 by itself; it cannot be evaluated at x2" in result.output
    result = runner.invoke(
        cli, ["eval", str(folder), "-s", "3", "-m", str(fsrcnn_file), "--json", "-", "-q", "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["results"][0]["images"] == 1
