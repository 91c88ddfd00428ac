"""Any factor, any size: which networks run, the exact output sizes, the banded resize, and the
self-ensemble."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from srcnn_cli.cli import cli
from srcnn_cli.errors import UnsupportedImage
from srcnn_cli.onnxmodel import Layer, srcnn_onnx_bytes
from srcnn_cli.pipeline import Upscaler, dihedral_mean, network_passes, plan_size, resize_to
from srcnn_cli.resize import imresize
from srcnn_cli.runtime import Session

from .conftest import random_layers


def test_network_passes():
    trained = [2, 3, 4]
    assert network_passes(2.5, trained) == (3,) and network_passes(1.2, trained) == (2,)
    assert network_passes(3, trained) == (3,) and network_passes(4, trained) == (4,)
    assert network_passes(6, trained) == (4, 2) and network_passes(16, trained) == (4, 4)
    assert network_passes(2.5, [3]) == (3,) and network_passes(7, [3]) == (3, 3)
    with pytest.raises(UnsupportedImage, match=r"asks for x0.5: srcnn enlarges images, it does not shrink them"):
        network_passes(0.5, trained)


@pytest.mark.parametrize(
    "kwargs, size, crop",
    [
        ({"scale": 2.5}, (75, 103), None),  # MATLAB's ceil(41 * 2.5)
        ({"out_width": 100}, (73, 100), None),  # 30 * 100 / 41 = 73.2
        ({"out_height": 45}, (45, 62), None),  # 41 * 1.5 = 61.5, half up
        ({"out_width": 100, "out_height": 100, "fit": "contain"}, (73, 100), None),
        ({"out_width": 100, "out_height": 100, "fit": "cover"}, (100, 137), (0, 18, 100, 100)),
        ({"out_width": 100, "out_height": 90, "fit": "stretch"}, (90, 100), None),
    ],
)
def test_planned_sizes(kwargs, size, crop):
    plan = plan_size(30, 41, [2, 3, 4], **kwargs)
    assert plan.size == size and plan.crop == crop


def test_exact_output_sizes(bundled_weights, rgb_image):  # a 41 x 30 RGB image, identity models at x2-x4
    cases = [
        ({"scale": 2.5}, (75, 103)),
        ({"scale": 1.5}, (45, 62)),
        ({"scale": 6}, (180, 246)),
        ({"width": 100}, (73, 100)),
        ({"height": 45}, (45, 62)),
        ({"width": 100, "height": 100, "fit": "cover"}, (100, 100)),
        ({"width": 64, "height": 48, "fit": "stretch"}, (48, 64)),
    ]
    for kwargs, (height, width) in cases:
        out = Upscaler(**kwargs).upscale(rgb_image)
        assert out.shape == (height, width, 3) and out.dtype == np.uint8, kwargs
    up = Upscaler(scale=6)
    assert up.describe(30, 41) == "9-5-5_x4 then 9-5-5_x2, then bicubic to 246x180"
    assert Upscaler(scale=3).describe(30, 41) == "9-5-5_x3"
    # an identity network is bicubic: x2.5 here is bicubic x3, then bicubic to the size (the x3
    # result is 8-bit before the resize, as any image written between the steps: within 2 levels)
    bicubic = imresize(imresize(rgb_image.astype(np.float64) / 255, 3.0), output_shape=(75, 103))
    expected = np.floor(np.clip(bicubic, 0, 1) * 255 + 0.5)
    assert np.abs(Upscaler(scale=2.5).upscale(rgb_image).astype(int) - expected).max() <= 2


@pytest.mark.parametrize("shape, size", [((37, 53, 3), (80, 200)), ((37, 53, 1), (130, 60)), ((40, 30, 4), (97, 97))])
def test_banded_resize_equals_the_whole_image(shape, size):
    pixels = np.random.default_rng(1).integers(0, 65536, shape, dtype=np.uint16)
    whole = imresize(pixels.astype(np.float64) / 65535, output_shape=size)
    expected = np.floor(np.clip(whole, 0, 1) * 65535 + 0.5).astype(np.uint16)
    for band in (7, 32, 1000):
        np.testing.assert_array_equal(resize_to(pixels, size, band=band), expected)


def symmetric(layers):
    """Each kernel averaged over the 8 flips and rotations: a network that commutes with them."""
    out = []
    for layer in layers:
        w = layer.weight
        turns = [np.rot90(w, k, axes=(2, 3)) for k in range(4)]
        out.append(Layer(np.mean(turns + [t[:, :, :, ::-1] for t in turns], axis=0).astype(np.float32), layer.bias))
    return out


def test_ensemble_of_a_model_that_commutes_with_flips_is_the_model():
    planes = np.random.default_rng(2).random((1, 23, 31), dtype=np.float32)
    even = Session(srcnn_onnx_bytes(symmetric(random_layers())), device="cpu")
    np.testing.assert_allclose(dihedral_mean(even.run)(planes), even.run(planes), atol=1e-6)
    skewed = Session(srcnn_onnx_bytes(random_layers()), device="cpu")
    assert np.abs(dihedral_mean(skewed.run)(planes) - skewed.run(planes)).max() > 1e-3


def test_cli_any_factor_and_size(tmp_path, bundled_weights, rgb_image):
    Image.fromarray(rgb_image).save(tmp_path / "a.png")
    runner = CliRunner()
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-s", "2.5"])
    assert result.exit_code == 0, result.output
    assert f"{tmp_path / 'a.png'} -> {tmp_path / 'a_x2.5.png'} (9-5-5_x3, then bicubic to 103x75, " in result.output
    assert Image.open(tmp_path / "a_x2.5.png").size == (103, 75)
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "--width", "100", "--ensemble"])
    assert result.exit_code == 0 and Image.open(tmp_path / "a_w100.png").size == (100, 73)
    result = runner.invoke(
        cli, ["upscale", str(tmp_path / "a.png"), "--width", "64", "--height", "64", "--fit", "cover"]
    )
    assert result.exit_code == 0 and Image.open(tmp_path / "a_64x64.png").size == (64, 64)
    small = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "--width", "20"])
    assert small.exit_code == 1 and "asks for x0.488: srcnn enlarges images, it does not shrink them" in small.output
    both = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "--width", "20", "-s", "2"])
    assert both.exit_code == 2 and "-s and --width/--height both set the size: give one" in both.output
    evaluated = runner.invoke(cli, ["eval", str(tmp_path), "-s", "2.5"])
    assert (
        evaluated.exit_code == 2 and "scales must be among 2, 3, 4 (srcnn upscale takes any factor)" in evaluated.output
    )
