import numpy as np
import pytest

from srcnn_cli.resize import axis_weights, cubic, imresize, output_length, resize_axis


def test_cubic_kernel_values():
    # a = -0.5 kernel, derived by hand
    assert cubic(np.array([0.0]))[0] == 1.0
    assert cubic(np.array([1.0, 2.0, 2.5])).tolist() == [0.0, 0.0, 0.0]
    assert cubic(np.array([0.5]))[0] == pytest.approx(0.5625)
    assert cubic(np.array([1.5]))[0] == pytest.approx(-0.0625)


def test_upscale_x2_weights_by_hand():
    # Output sample 1 of 4 -> 8: u = 0.75, taps at 1-based -1, 0, 1, 2 with distances
    # 1.75, 0.75, -0.25, -1.25; indices -1 and 0 mirror to 2 and 1 (0-based 1 and 0).
    indices, weights = axis_weights(4, 8, 2.0)
    assert indices[0].tolist() == [1, 0, 0, 1]
    np.testing.assert_allclose(weights[0], [-0.0234375, 0.2265625, 0.8671875, -0.0703125], atol=1e-15)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)


def test_downscale_widens_kernel():
    indices, weights = axis_weights(12, 4, 1 / 3)
    # kernel width 12 input samples: all 9 non-zero taps of the widened kernel survive
    assert weights.shape[1] > 4
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    # interior sample 2 (u = 5): symmetric weights around input 5 (1-based) = index 4
    centre = list(indices[1]).index(4)
    np.testing.assert_allclose(weights[1][centre - 1], weights[1][centre + 1], atol=1e-15)


def test_output_length_forgives_float_noise():
    assert output_length(255, 1 / 3) == 85
    assert output_length(10, 0.25) == 3  # ceil(2.5)
    assert output_length(7, 3) == 21


def test_constant_stays_constant():
    image = np.full((9, 13), 0.3)
    for scale in (1 / 3, 0.5, 2, 3, 4):
        np.testing.assert_allclose(imresize(image, scale), 0.3, atol=1e-12)


def test_flip_symmetry():
    rng = np.random.default_rng(0)
    image = rng.random((12, 15))
    for scale in (1 / 3, 2, 3):
        out = imresize(image, scale)
        np.testing.assert_allclose(imresize(image[:, ::-1], scale), out[:, ::-1], atol=1e-12)
        np.testing.assert_allclose(imresize(image[::-1], scale), out[::-1], atol=1e-12)


def test_linear_ramp_is_reproduced_in_the_interior():
    ramp = np.tile(np.arange(20, dtype=np.float64), (3, 1))
    out = imresize(ramp, output_shape=(3, 40))
    # output centre j (0-based) maps to input position (j + 0.5) / 2 - 0.5
    expected = (np.arange(40) + 0.5) / 2 - 0.5
    np.testing.assert_allclose(out[1, 4:-4], expected[4:-4], atol=1e-12)


def test_window_equals_slice_of_full_resize():
    rng = np.random.default_rng(1)
    image = rng.random((10, 11, 2)).astype(np.float32)
    full = resize_axis(image, 0, 30, 3.0)
    part = resize_axis(image, 0, 30, 3.0, out_range=(7, 19))
    np.testing.assert_array_equal(part, full[7:19])


def test_dtype_and_shape():
    image = np.zeros((6, 8, 3), np.uint8)
    out = imresize(image, 2)
    assert out.shape == (12, 16, 3) and out.dtype == np.float64
    assert imresize(image.astype(np.float32), 2).dtype == np.float32
    with pytest.raises(ValueError):
        imresize(np.zeros((2, 2, 2, 2)), 2)
    with pytest.raises(ValueError):
        imresize(image)


def test_weights_cache_is_read_only():
    _, weights = axis_weights(5, 10, 2.0)
    with pytest.raises(ValueError):
        weights[0, 0] = 1.0
