"""Training data: sub-image pairs synthesised with the same bicubic and colour code as eval.

Ground truth is the uint8 Y (or RGB) of each image, cropped to a multiple of the scale; the input
is MATLAB bicubic down then up (the bicubic contract, SRCNN), or MATLAB bicubic down only (the
low-resolution contract, FSRCNN: its sub-images are patch / scale pixels, cut at stride / scale,
under targets patch pixels wide). Sub-images (33 x 33 at stride 14 in the paper) are extracted once
and cached as .npy files keyed by a fingerprint of the image bytes and the settings, so a restart
or a second run on the same data starts at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cache import cache_dir
from ..errors import TrainingError, UnsupportedImage
from ..files import atomic_output, list_images
from ..imageio import load_uint8
from ..protocol import as_rgb, degrade, luminance_uint8, modcrop
from ..resize import imresize

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


DOWNSCALE_FACTORS = (0.9, 0.8, 0.7, 0.6)  # FSRCNN's data augmentation, beside each image as it is


@dataclass(frozen=True)
class PairSpec:
    """What turns an image into sub-image pairs."""

    scale: int
    channels: int
    patch: int  # output pixels
    stride: int  # output pixels
    contract: str = "bicubic"  # or "lowres": the input is the low-resolution plane
    downscale_augment: bool = False

    @property
    def factor(self) -> int:
        """Output pixels per input pixel along an axis."""
        return self.scale if self.contract == "lowres" else 1


def fingerprint(files: list[Path], spec: PairSpec) -> str:
    """sha256 over the image bytes and every setting that changes the extracted pairs."""
    digest = hashlib.sha256()
    settings: list = [CACHE_VERSION, spec.scale, spec.channels, spec.patch, spec.stride]
    if spec.contract != "bicubic" or spec.downscale_augment:  # SRCNN's keys stay as they were
        settings += [spec.contract, spec.downscale_augment]
    digest.update(json.dumps(settings).encode())
    for file in files:
        digest.update(file.name.encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def image_pair(
    image: np.ndarray, scale: int, channels: int, contract: str = "bicubic"
) -> tuple[np.ndarray, np.ndarray]:
    """(input, target) float32 planes C x H x W for one uint8 training image."""
    if channels == 1:
        plane = modcrop(luminance_uint8(image, "ycbcr"), scale)[:, :, None]
    else:
        plane = modcrop(as_rgb(image), scale)
    target = plane.astype(np.float64) / 255.0
    source = imresize(target, 1.0 / scale) if contract == "lowres" else degrade(target, scale)
    return (
        np.ascontiguousarray(source.transpose(2, 0, 1), dtype=np.float32),
        np.ascontiguousarray(target.transpose(2, 0, 1), dtype=np.float32),
    )


def extract_patches(plane: np.ndarray, patch: int, stride: int, factor: int = 1) -> np.ndarray:
    """All patch x patch windows at the given stride, as N x C x patch x patch; with ``factor``,
    the windows of a plane ``factor`` times larger at the same places (a low-resolution input's
    targets): the window at (y, x) becomes the one at (y * factor, x * factor), factor x larger."""
    _, height, width = plane.shape
    height, width = height // factor, width // factor
    tops = range(0, height - patch + 1, stride)
    lefts = range(0, width - patch + 1, stride)
    size = patch * factor
    windows = [plane[:, y * factor : y * factor + size, x * factor : x * factor + size] for y in tops for x in lefts]
    if not windows:
        return np.zeros((0, plane.shape[0], size, size), dtype=plane.dtype)
    return np.stack(windows)


def downscaled_copies(image: np.ndarray) -> list[np.ndarray]:
    """The image and FSRCNN's shrunk copies of it (MATLAB bicubic, rounded to uint8)."""
    copies = [image]
    for factor in DOWNSCALE_FACTORS:
        shrunk = imresize(image.astype(np.float64), factor)
        copies.append(np.clip(np.round(shrunk), 0, 255).astype(np.uint8))
    return copies


def image_subimages(image: np.ndarray, spec: PairSpec) -> tuple[np.ndarray, np.ndarray] | None:
    """(inputs, targets) sub-images of one image, None when it holds no whole one."""
    if min(modcrop(image, spec.scale).shape[:2]) < spec.patch:
        return None  # holds no whole sub-image (and may be too small to downscale at all)
    source, target = image_pair(image, spec.scale, spec.channels, spec.contract)
    step, size = max(1, spec.stride // spec.factor), spec.patch // spec.factor
    inputs = extract_patches(source, size, step)
    return inputs, extract_patches(target, size, step, spec.factor)


def cache_root() -> Path:
    return cache_dir() / "subimages"


def load_subimages(folders: list[str], spec: PairSpec) -> tuple[np.ndarray, np.ndarray, str]:
    """(inputs, targets, fingerprint): float32 N x C x H x W arrays, cached on disk."""
    files = training_images(folders)
    key = fingerprint(files, spec)
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
        for copy in downscaled_copies(image) if spec.downscale_augment else [image]:
            pairs = image_subimages(copy, spec)
            if pairs is not None:
                inputs.append(pairs[0])
                targets.append(pairs[1])
    if not inputs:
        raise TrainingError(f"every image is smaller than one {spec.patch}x{spec.patch} sub-image")
    all_inputs, all_targets = np.concatenate(inputs), np.concatenate(targets)
    folder.mkdir(parents=True, exist_ok=True)
    # Write under temporary names and rename, so an interrupted extraction is never reused.
    for array, final in ((all_inputs, inputs_path), (all_targets, targets_path)):
        with atomic_output(final) as handle:
            np.save(handle, array)
    return all_inputs, all_targets, key
