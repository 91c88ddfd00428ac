import numpy as np
import pytest
from PIL import Image

from srcnn_cli import Upscaler
from srcnn_cli.color import rgb2ycbcr, ycbcr2rgb
from srcnn_cli.errors import ModelError, UnsupportedImage
from srcnn_cli.resize import imresize


def bicubic_reference(image: np.ndarray, scale: int, peak: float) -> np.ndarray:
    """Plain bicubic in YCbCr, the way the pipeline must come out with an identity network."""
    values = image.astype(np.float64) / peak
    if values.ndim == 3 and values.shape[2] >= 3:
        colour = ycbcr2rgb(imresize(rgb2ycbcr(values[:, :, :3]), scale))
        if values.shape[2] == 4:
            colour = np.concatenate([colour, imresize(values[:, :, 3:], scale)], axis=2)
    else:
        colour = imresize(values, scale)
    return np.floor(np.clip(colour, 0, 1) * peak + 0.5)


def test_identity_network_gives_plain_bicubic_rgb(identity_model, rgb_image):
    upscaler = Upscaler(str(identity_model), scale=3, tile=0)
    out = upscaler.upscale(rgb_image)
    assert out.shape == (90, 123, 3) and out.dtype == np.uint8
    reference = bicubic_reference(rgb_image, 3, 255)
    # float32 in the pipeline vs float64 here: at most one level, and almost never
    diff = np.abs(out.astype(int) - reference)
    assert diff.max() <= 1 and (diff > 0).mean() < 0.002


@pytest.mark.parametrize("tile", [0, 48])
def test_wide_windows_take_the_polyphase_bicubic_small_ones_the_dense(identity_model, tile):
    # 300 samples wide: one tile's window passes DENSE_LIMIT (polyphase), 48-pixel tiles' do not
    wide = np.random.default_rng(5).integers(0, 256, (12, 300, 3), dtype=np.uint8)
    out = Upscaler(str(identity_model), scale=2, tile=tile).upscale(wide)
    assert np.abs(out.astype(int) - bicubic_reference(wide, 2, 255)).max() <= 1


@pytest.mark.parametrize("scale", [2, 4])
def test_identity_gray_rgba_and_16bit(identity_model, rgb_image, scale):
    upscaler = Upscaler(str(identity_model), scale=scale)
    gray = rgb_image[:, :, 1]
    out = upscaler.upscale(gray)
    assert out.shape == (30 * scale, 41 * scale) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - bicubic_reference(gray, scale, 255)).max() <= 1

    rgba = np.dstack([rgb_image, rgb_image[:, :, 0]])
    out = upscaler.upscale(rgba)
    assert out.shape[2] == 4
    assert np.abs(out.astype(int) - bicubic_reference(rgba, scale, 255)).max() <= 1

    deep = rgb_image.astype(np.uint16) * 257 + 100
    out = upscaler.upscale(deep)
    assert out.dtype == np.uint16
    assert np.abs(out.astype(np.int64) - bicubic_reference(deep, scale, 65535)).max() <= 2


def test_rgb_model(identity_rgb_model, rgb_image):
    upscaler = Upscaler(str(identity_rgb_model), scale=2, tile=0)
    assert upscaler.channels == "rgb"
    out = upscaler.upscale(rgb_image)
    reference = np.floor(np.clip(imresize(rgb_image / 255.0, 2), 0, 1) * 255 + 0.5)
    assert np.abs(out.astype(int) - reference).max() <= 1
    with pytest.raises(ModelError, match="channels='y' needs a 1-channel model"):
        Upscaler(str(identity_rgb_model), scale=2, channels="y")


@pytest.mark.parametrize("tile", [16, 24, 40, 64])
def test_tiled_equals_untiled(random_model, rgb_image, tile):
    whole = Upscaler(str(random_model), scale=3, tile=0).upscale(rgb_image)
    tiled = Upscaler(str(random_model), scale=3, tile=tile).upscale(rgb_image)
    np.testing.assert_array_equal(tiled, whole)  # the halo covers the receptive field: exact


def test_tiles_are_reported(random_model, rgb_image):
    seen = []
    Upscaler(str(random_model), scale=2, tile=20).upscale(rgb_image, on_tile=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] == len(seen) > 1


def test_pil_in_pil_out(identity_model, rgb_image):
    upscaler = Upscaler(str(identity_model), scale=2)
    for mode in ("RGB", "L", "RGBA", "LA"):
        image = Image.fromarray(rgb_image).convert(mode)
        out = upscaler.upscale(image)
        assert isinstance(out, Image.Image) and out.mode == mode and out.size == (82, 60)
    with pytest.raises(TypeError):
        upscaler.upscale([[1, 2], [3, 4]])


def test_bad_arrays(identity_model):
    upscaler = Upscaler(str(identity_model), scale=2)
    with pytest.raises(UnsupportedImage):
        upscaler.upscale(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(UnsupportedImage):
        upscaler.upscale(np.zeros((4, 4), np.int32))
    for bad in (np.nan, np.inf):
        pixels = np.full((4, 4, 3), 0.5, np.float32)
        pixels[1, 2, 0] = bad
        with pytest.raises(UnsupportedImage, match=r"^float pixels must be finite numbers \(found NaN or infinity\)$"):
            upscaler.upscale(pixels)


def test_bundled_default(bundled_weights, rgb_image):
    upscaler = Upscaler(scale=2)
    assert upscaler.model.info.name == "9-5-5_x2"
    assert upscaler.upscale(rgb_image).shape == (60, 82, 3)


def test_a_model_runs_at_the_scale_it_was_trained_for(tmp_path, rgb_image):
    """x3 weights asked for x2 ran at x2 without a word; they run at x3 now, then the bicubic
    brings the result to x2, and the plan says so. A file that does not say its scale runs as
    asked, or at --model-scale."""
    from srcnn_cli.onnxmodel import identity_layers, srcnn_onnx_bytes

    path = tmp_path / "mine.onnx"
    path.write_bytes(srcnn_onnx_bytes(identity_layers(n1=8, n2=4), {"srcnn.scale": "3"}))
    up = Upscaler(str(path), scale=2)
    assert up.plan(30, 41).passes == (3,) and up.describe(30, 41).endswith("then bicubic to 82x60")
    assert up.upscale(rgb_image).shape == (60, 82, 3)
    silent = tmp_path / "silent.onnx"
    silent.write_bytes(srcnn_onnx_bytes(identity_layers(n1=8, n2=4)))
    assert Upscaler(str(silent), scale=2).plan(30, 41).passes == (2,)
    assert Upscaler(str(silent), scale=2, model_scale=4).plan(30, 41).passes == (4,)
    with pytest.raises(ModelError, match="says it is an x3 model; model_scale=4 contradicts it"):
        Upscaler(str(path), scale=2, model_scale=4)


def one_shot(pixels: np.ndarray, scale: int, session) -> np.ndarray:
    """The whole image through the network in one call, no tiles or bands: the reference."""
    peak = 65535.0 if pixels.dtype == np.uint16 else 255.0
    values = pixels.astype(np.float64) / peak
    values = values[:, :, None] if values.ndim == 2 else values
    colour_bands = 1 if values.shape[2] <= 2 else 3
    colour, alpha = values[:, :, :colour_bands], values[:, :, colour_bands:]
    if session.contract.channels == 3:
        network_in = colour if colour_bands == 3 else np.repeat(colour, 3, axis=2)
        out = session.run(imresize(network_in, scale).astype(np.float32).transpose(2, 0, 1)).transpose(1, 2, 0)
        result = out if colour_bands == 3 else out.mean(axis=2, keepdims=True)
    elif colour_bands == 3:
        ycbcr = imresize(rgb2ycbcr(colour), scale)
        y = session.run(ycbcr[:, :, :1].astype(np.float32).transpose(2, 0, 1)).transpose(1, 2, 0)
        result = ycbcr2rgb(np.concatenate([y, ycbcr[:, :, 1:]], axis=2))
    else:
        result = session.run(imresize(colour, scale).astype(np.float32).transpose(2, 0, 1)).transpose(1, 2, 0)
    if alpha.shape[2]:
        result = np.concatenate([result, imresize(alpha, scale)], axis=2)
    out = np.floor(np.clip(result, 0, 1) * peak + 0.5)
    return out[:, :, 0] if pixels.ndim == 2 else out


@pytest.mark.parametrize("kind", ["gray", "gray+alpha", "rgb", "rgba", "rgb16", "rgba16", "rgb-model"])
def test_streamed_files_equal_the_one_shot_result(tmp_path, random_model, random_rgb_model, kind):
    from click.testing import CliRunner

    from srcnn_cli.cli import cli
    from srcnn_cli.imageio import read_image, write_image
    from srcnn_cli.runtime import Session

    bands = {"gray": 1, "gray+alpha": 2, "rgb": 3, "rgba": 4, "rgb16": 3, "rgba16": 4, "rgb-model": 3}[kind]
    dtype = np.uint16 if kind.endswith("16") else np.uint8
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, np.iinfo(dtype).max + 1, (37, 29) if bands == 1 else (37, 29, bands), dtype=dtype)
    write_image(tmp_path / "in.png", pixels)
    model = random_rgb_model if kind == "rgb-model" else random_model
    expected = one_shot(pixels, 3, Session(model.read_bytes(), device="cpu"))
    tolerance = 257 if dtype == np.uint16 else 1  # one step of 8 bits
    for fmt in ("png", "tiff"):
        target = tmp_path / f"out.{fmt}"
        # --tile 16: bands of 16 rows (the least), each cut into 16-pixel tiles
        result = CliRunner().invoke(
            cli,
            [
                "upscale",
                str(tmp_path / "in.png"),
                "-o",
                str(target),
                "-s",
                "3",
                "-m",
                str(model),
                "--tile",
                "16",
                "--runtime",
                "onnxruntime",
                "-q",
            ],
        )
        assert result.exit_code == 0, result.output
        written = read_image(target).pixels
        assert written.shape == expected.shape and written.dtype == dtype, (fmt, written.shape)
        assert np.abs(written.astype(float) - expected).max() <= tolerance, (kind, fmt)
