import numpy as np

from srcnn_cli.color import GRAY_WEIGHTS, rgb2gray_uint8, rgb2y_uint8, rgb2ycbcr, rgb2ycbcr_uint8, ycbcr2rgb


def test_known_values_uint8():
    pixels = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], np.uint8)
    ycbcr = rgb2ycbcr_uint8(pixels)
    assert ycbcr[0, 0].tolist() == [16, 128, 128]
    assert ycbcr[0, 1].tolist() == [235, 128, 128]
    # red: Y = 16 + 65.481 = 81.481 -> 81; Cb = 128 - 37.797 -> 90; Cr = 128 + 112 = 240
    assert ycbcr[0, 2].tolist() == [81, 90, 240]
    assert rgb2y_uint8(pixels).tolist() == [[16, 235, 81]]


def test_rounding_is_half_away_from_zero():
    # Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255; pick a pixel and compare with exact maths
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)
    exact = 16 + (pixels.astype(np.float64) @ np.array([65.481, 128.553, 24.966])) / 255
    np.testing.assert_array_equal(rgb2y_uint8(pixels), np.floor(exact + 0.5).astype(np.uint8))


def test_float_round_trip():
    rng = np.random.default_rng(1)
    rgb = rng.random((7, 9, 3))
    np.testing.assert_allclose(ycbcr2rgb(rgb2ycbcr(rgb)), rgb, atol=1e-12)
    assert rgb2ycbcr(rgb.astype(np.float32)).dtype == np.float32


def test_rgb2gray_matches_matlab_coefficients():
    np.testing.assert_allclose(GRAY_WEIGHTS, [0.298936021293775, 0.587043074451121, 0.114020904255103], atol=1e-12)
    pixels = np.array([[[255, 255, 255], [100, 150, 200]]], np.uint8)
    assert rgb2gray_uint8(pixels).tolist() == [[255, round(0.298936 * 100 + 0.587043 * 150 + 0.114021 * 200)]]
