import numpy as np
import pytest

from srcnn_cli.metrics import psnr, quantize_uint8, shave, ssim


def test_psnr_known_mse():
    a = np.zeros((10, 10), np.uint8)
    b = np.full((10, 10), 5, np.uint8)
    assert psnr(a, b) == pytest.approx(20 * np.log10(255 / 5))
    assert psnr(a, a) == float("inf")
    with pytest.raises(ValueError):
        psnr(a, b[:5])


def test_ssim_properties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (32, 40)).astype(np.uint8)
    b = np.clip(a + rng.normal(0, 10, a.shape), 0, 255).astype(np.uint8)
    assert ssim(a, a) == pytest.approx(1.0)
    assert 0 < ssim(a, b) < 1
    assert ssim(a, b) == pytest.approx(ssim(b, a))
    with pytest.raises(ValueError):
        ssim(a[:8, :8], b[:8, :8])


def test_shave_and_quantize():
    plane = np.arange(36).reshape(6, 6)
    assert shave(plane, 2).tolist() == [[14, 15], [20, 21]]
    with pytest.raises(ValueError):
        shave(plane, 3)
    assert quantize_uint8(np.array([-0.1, 0.5 / 255, 1.5 / 255, 2.0])).tolist() == [0, 1, 2, 255]
