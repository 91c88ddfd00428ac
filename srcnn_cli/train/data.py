"""Training data: sub-image pairs synthesised with the same bicubic and colour code as eval.

Ground truth is the uint8 Y (or RGB) of each image, cropped to a multiple of the scale; the input
is MATLAB bicubic down then up. Sub-images (33 x 33 at stride 14 in the paper) are extracted once
and cached as .npy files keyed by a fingerprint of the image bytes and the settings, so a restart
or a second run on the same data starts at once.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..cache import cache_dir
from ..errors import TrainingError, UnsupportedImage
from ..files import atomic_output, list_images
from ..imageio import load_uint8
from ..protocol import as_rgb, degrade, luminance_uint8, modcrop

CACHE_VERSION = 1


def training_images(folders: list[str]) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        path = Path(folder)
        if not path.is_dir():
            raise TrainingError(f"training folder not found: {folder}")
        files.extend(list_images(path)[0])
    if not files:
        raise TrainingError(f"no images in {', '.join(folders)}")
    return files


def fingerprint(files: list[Path], scale: int, channels: int, patch: int, stride: int) -> str:
    """sha256 over the image bytes and every setting that changes the extracted pairs."""
    digest = hashlib.sha256()
    digest.update(json.dumps([CACHE_VERSION, scale, channels, patch, stride]).encode())
    for file in files:
        digest.update(file.name.encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def image_pair(image: np.ndarray, scale: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(input, target) float32 planes C x H x W for one uint8 training image."""
    if channels == 1:
        plane = modcrop(luminance_uint8(image, "ycbcr"), scale)[:, :, None]
    else:
        plane = modcrop(as_rgb(image), scale)
    target = plane.astype(np.float64) / 255.0
    source = degrade(target, scale)
    return (
        np.ascontiguousarray(source.transpose(2, 0, 1), dtype=np.float32),
        np.ascontiguousarray(target.transpose(2, 0, 1), dtype=np.float32),
    )


def extract_patches(plane: np.ndarray, patch: int, stride: int) -> np.ndarray:
    """All patch x patch windows at the given stride, as N x C x patch x patch."""
    _, height, width = plane.shape
    tops = range(0, height - patch + 1, stride)
    lefts = range(0, width - patch + 1, stride)
    windows = [plane[:, y : y + patch, x : x + patch] for y in tops for x in lefts]
    if not windows:
        return np.zeros((0, plane.shape[0], patch, patch), dtype=plane.dtype)
    return np.stack(windows)


def cache_root() -> Path:
    return cache_dir() / "subimages"


def load_subimages(
    folders: list[str], scale: int, channels: int, patch: int, stride: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """(inputs, targets, fingerprint): float32 N x C x patch x patch arrays, cached on disk."""
    files = training_images(folders)
    key = fingerprint(files, scale, channels, patch, stride)
    folder = cache_root() / key[:16]
    inputs_path, targets_path = folder / "inputs.npy", folder / "targets.npy"
    if inputs_path.exists() and targets_path.exists():
        return np.load(inputs_path, mmap_mode="r"), np.load(targets_path, mmap_mode="r"), key
    inputs, targets = [], []
    for file in files:
        try:
            image = load_uint8(file)
        except UnsupportedImage as exc:
            raise TrainingError(f"{file}: {exc}") from None
        if min(modcrop(image, scale).shape[:2]) < patch:
            continue  # holds no whole sub-image (and may be too small to downscale at all)
        source, target = image_pair(image, scale, channels)
        inputs.append(extract_patches(source, patch, stride))
        targets.append(extract_patches(target, patch, stride))
    if not inputs:
        raise TrainingError(f"every image is smaller than one {patch}x{patch} sub-image")
    all_inputs, all_targets = np.concatenate(inputs), np.concatenate(targets)
    folder.mkdir(parents=True, exist_ok=True)
    # Write under temporary names and rename, so an interrupted extraction is never reused.
    for array, final in ((all_inputs, inputs_path), (all_targets, targets_path)):
        with atomic_output(final) as handle:
            np.save(handle, array)
    return all_inputs, all_targets, key
