"""Image-quality metrics with the conventions of the SRCNN paper's evaluation code.

PSNR and SSIM on uint8-valued planes (peak 255) after shaving a border. Pure numpy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["psnr", "quantize_uint8", "shave", "ssim"]


def quantize_uint8(values: np.ndarray) -> np.ndarray:
    """[0, 1] floats to uint8 as MATLAB's ``im2uint8`` / ``uint8(x * 255)``: round half away."""
    return np.clip(np.floor(np.asarray(values, dtype=np.float64) * 255.0 + 0.5), 0, 255).astype(np.uint8)


def shave(plane: np.ndarray, border: int) -> np.ndarray:
    """Drop ``border`` pixels from each side (the paper shaves ``scale`` pixels)."""
    if border <= 0:
        return plane
    if plane.shape[0] <= 2 * border or plane.shape[1] <= 2 * border:
        raise ValueError(f"image {plane.shape[1]}x{plane.shape[0]} is too small to shave {border}")
    return plane[border:-border, border:-border]


def psnr(reference: np.ndarray, test: np.ndarray, peak: float = 255.0) -> float:
    """20 log10(peak / RMSE); infinite for identical inputs."""
    if reference.shape != test.shape:
        raise ValueError(f"shape mismatch: {reference.shape} vs {test.shape}")
    diff = reference.astype(np.float64) - test.astype(np.float64)
    mse = float(np.mean(diff * diff))
    if mse == 0:
        return float("inf")
    return float(20.0 * np.log10(peak / np.sqrt(mse)))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(coords**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(plane: np.ndarray, kernel_1d: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation (MATLAB ``filter2(w, x, 'valid')`` for a separable w)."""
    size = kernel_1d.size
    rows = sum(kernel_1d[k] * plane[k : plane.shape[0] - size + 1 + k, :] for k in range(size))
    return sum(kernel_1d[k] * rows[:, k : rows.shape[1] - size + 1 + k] for k in range(size))


def ssim(reference: np.ndarray, test: np.ndarray, peak: float = 255.0) -> float:
    """Mean SSIM of Wang et al. 2004: 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03."""
    if reference.shape != test.shape:
        raise ValueError(f"shape mismatch: {reference.shape} vs {test.shape}")
    if min(reference.shape[:2]) < 11:
        raise ValueError("SSIM needs images of at least 11 x 11 pixels")
    x = reference.astype(np.float64)
    y = test.astype(np.float64)
    window = _gaussian_window()
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2
    mu_x = _filter_valid(x, window)
    mu_y = _filter_valid(y, window)
    sigma_x = _filter_valid(x * x, window) - mu_x * mu_x
    sigma_y = _filter_valid(y * y, window) - mu_y * mu_y
    sigma_xy = _filter_valid(x * y, window) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)
    denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (sigma_x + sigma_y + c2)
    return float(np.mean(numerator / denominator))
