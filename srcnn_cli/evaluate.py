"""``srcnn eval``: the paper's quality tables, reproduced with the authors' protocol.

For each image: luminance (``protocol``), crop, bicubic down/up in float64, the network on that,
output and ground truth to uint8, shave ``scale`` pixels, PSNR and SSIM; then the mean.
Datasets are named (Set5, Set14, BSD200: looked up in several places) or any folder.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .color import rgb2ycbcr, ycbcr2rgb
from .errors import DatasetNotFound, SrcnnError
from .files import list_images
from .imageio import load_uint8, write_image
from .metrics import quantize_uint8
from .paper import PAPER_LUMA, Y_PATH, paper_psnr
from .protocol import degrade, modcrop, model_pair, score
from .resize import imresize

COLOUR_MEASURE = "ycbcr3"  # the luma label of colour-model results: all three YCbCr channels

NAMED = ("Set5", "Set14", "BSD200")
WHERE_TO_GET = {
    "Set5": "the SRCNN authors' project page (Set5 ground truth, 5 images)",
    "Set14": "the SRCNN authors' project page (Set14 ground truth, 14 images)",
    "BSD200": "the 200 test images of BSDS500 (Berkeley segmentation data set)",
}


def user_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "srcnn-cli" / "data"


def search_roots(data_dir: str | None) -> list[Path]:
    roots = []
    if data_dir:
        roots.append(Path(data_dir).expanduser())
    if os.environ.get("SRCNN_DATA"):
        roots.append(Path(os.environ["SRCNN_DATA"]).expanduser())
    roots.append(user_data_dir())
    return roots


def find_dataset(name: str, data_dir: str | None = None) -> Path:
    """A folder of ground-truth images for a named set or a path."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    roots = search_roots(data_dir)
    for root in roots:
        for candidate in (root / name, root / "test" / name):
            if candidate.is_dir():
                return candidate
    looked = ", ".join(str(r / name) for r in roots)
    if name in NAMED:
        raise DatasetNotFound(
            f"dataset {name} not found (looked in {looked}). Put its images in "
            f"{user_data_dir() / name}, or point --data-dir or $SRCNN_DATA at a folder that "
            f"holds {name}/; get it from {WHERE_TO_GET[name]}"
        )
    raise DatasetNotFound(f"no dataset or folder named {name!r} (looked in {looked})")


def dataset_images(folder: Path) -> list[Path]:
    files, _ = list_images(folder)
    if not files:
        raise DatasetNotFound(f"{folder} holds no images")
    return files


@dataclass
class ImageScore:
    name: str
    psnr: float
    ssim: float | None
    bicubic_psnr: float
    bicubic_ssim: float | None


@dataclass
class DatasetResult:
    dataset: str
    scale: int
    luma: str
    model: str
    images: int
    psnr: float
    ssim: float
    bicubic_psnr: float
    bicubic_ssim: float
    paper_psnr: float | None
    paper_bicubic_psnr: float | None
    per_image: list[ImageScore] = field(default_factory=list)
    arch: str | None = None  # the model's architecture, which the paper column is for

    def to_json(self) -> dict:
        return asdict(self)


def evaluate_dataset(
    folder: Path,
    dataset: str,
    scale: int,
    run_model: Callable[[np.ndarray], np.ndarray],
    model_name: str,
    luma: str | None = None,
    channels: int = 1,
    save_dir: Path | None = None,
    on_image: Callable[[str], None] | None = None,
    arch: str | None = "9-5-5",
    lowres: bool = False,
) -> DatasetResult:
    """Score one model on one folder at one scale.

    ``run_model`` maps the float bicubic input (H x W for Y, H x W x 3 for RGB) to the network
    output of the same shape; with ``lowres`` (the low-resolution contract), the float
    low-resolution input to the output ``scale`` times larger. ``luma`` defaults to the paper's
    choice for named sets. For a 3-channel model the score is Table 5's: PSNR over the uint8 Y,
    Cb and Cr channels of its RGB output (``protocol.score``), reported with ``luma`` "ycbcr3".
    """
    if luma is None:
        luma = PAPER_LUMA.get(dataset, "ycbcr")
    rows: list[ImageScore] = []
    # after the crop to a multiple of the scale and the shave of `scale` pixels per border,
    # an SSIM window (11 x 11) must still fit
    smallest = (2 * scale + 11) // scale * scale + scale
    for path in dataset_images(folder):
        image = load_uint8(path)
        if min(image.shape[:2]) < smallest:
            height, width = image.shape[:2]
            raise SrcnnError(
                f"{path.name} ({width}x{height}) is too small to evaluate at x{scale}: "
                f"it needs at least {smallest} pixels on each side"
            )
        pair = model_pair(path.stem, image, scale, channels, luma)
        output = quantize_uint8(run_model(pair.low if lowres else pair.bicubic))
        network = score(pair.ground_truth, output, scale)
        bicubic = score(pair.ground_truth, pair.bicubic, scale)
        rows.append(ImageScore(path.stem, network.psnr, network.ssim, bicubic.psnr, bicubic.ssim))
        if save_dir is not None:
            folder = save_dir / f"{dataset}_x{scale}"
            folder.mkdir(parents=True, exist_ok=True)
            write_image(folder / f"{path.stem}.png", colour_output(image, output, scale, channels))
        if on_image is not None:
            on_image(path.stem)
    paper_bicubic, paper_model = paper_psnr(dataset, scale, channels, arch)
    if channels == 1 and luma != PAPER_LUMA.get(dataset):
        paper_bicubic = paper_model = None  # the paper's numbers are for the other luminance
    return DatasetResult(
        dataset=dataset,
        scale=scale,
        luma=COLOUR_MEASURE if channels == 3 else luma,
        model=model_name,
        images=len(rows),
        psnr=float(np.mean([r.psnr for r in rows])),
        ssim=float(np.mean([r.ssim for r in rows])),
        bicubic_psnr=float(np.mean([r.bicubic_psnr for r in rows])),
        bicubic_ssim=float(np.mean([r.bicubic_ssim for r in rows])),
        paper_psnr=paper_model,
        paper_bicubic_psnr=paper_bicubic,
        per_image=rows,
        arch=arch,
    )


def colour_output(image: np.ndarray, output: np.ndarray, scale: int, channels: int) -> np.ndarray:
    """What a person looks at: the network's output with the bicubic colour of the protocol's
    input (for a Y model on a colour image), gray for gray images, RGB as is."""
    if channels == 3 or image.ndim == 2:
        return output
    ycbcr = rgb2ycbcr(degrade(modcrop(image, scale).astype(np.float64) / 255.0, scale))
    ycbcr[:, :, 0] = output.astype(np.float64) / 255.0
    return quantize_uint8(ycbcr2rgb(ycbcr))


def session_runner(session, ensemble: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """Adapt a runtime ``Session`` to ``evaluate_dataset``'s plane-in, plane-out callable;
    ``ensemble``: the mean over the input's 8 flips and rotations."""
    from .pipeline import dihedral_mean

    network = dihedral_mean(session.run) if ensemble else session.run

    def run(plane: np.ndarray) -> np.ndarray:
        planes = plane[None] if plane.ndim == 2 else plane.transpose(2, 0, 1)
        out = network(np.ascontiguousarray(planes, dtype=np.float32))
        return out[0] if plane.ndim == 2 else out.transpose(1, 2, 0)

    return run


def evaluation_size(datasets: list[str], scales: list[int], data_dir: str | None = None) -> int:
    """How many images ``evaluate`` will score (for a progress bar's total)."""
    return len(scales) * sum(len(dataset_images(find_dataset(name, data_dir))) for name in datasets)


def evaluate(
    datasets: list[str],
    scales: list[int],
    *,
    model: str | None = None,
    data_dir: str | None = None,
    luma: str | None = None,
    channels: str | None = None,
    device: str = "auto",
    threads: int = 0,
    save_dir: str | None = None,
    on_image: Callable[[str], None] | None = None,
    ensemble: bool = False,
    runtime: str = "auto",
    model_scale: int | None = None,
) -> list[DatasetResult]:
    """Evaluate a model spec on datasets at scales: the library function behind ``srcnn eval``.

    A model is scored only at the scale it was trained for, where that is known (what it
    records, its contract, its name like ``x3.mat``, or ``model_scale``): x3 weights scored at
    x2 gave numbers below bicubic's, printed beside the paper's."""
    from .models import CHANNEL_NAMES, own_scale, resolve_model
    from .runtime import open_session

    folders = [(name, find_dataset(name, data_dir)) for name in datasets]
    results = []
    for scale in scales:
        loaded = resolve_model(model, scale, CHANNEL_NAMES.get(channels or "y", 1))
        session = open_session(loaded.data, device, threads, loaded.source, runtime)
        model_channels = session.contract.channels
        arch = loaded.info.arch if loaded.info else session.contract.metadata.get("srcnn.arch")
        lowres = session.contract.kind == "lowres"
        if lowres and session.contract.scale != scale:
            raise SrcnnError(
                f"{loaded.source} upscales x{session.contract.scale} by itself; it cannot be evaluated at x{scale}"
            )
        own = own_scale(session.contract.metadata) or model_scale  # (a .mat's name, x3.mat, is recorded)
        if own is not None and own != scale:
            raise SrcnnError(
                f"{loaded.source} was trained for x{own}: eval scores a model at its own scale "
                f"only (-s {own}); its numbers at x{scale} would mean nothing"
            )
        runner = session_runner(session, ensemble)
        source = loaded.source + (" (ensemble)" if ensemble else "")
        if model_channels == 1 and luma == COLOUR_MEASURE:
            # a Y model on Table 5's measure: its Y with the bicubic Cb and Cr, scored as a colour model
            runner = y_path_in_colour(runner, scale if lowres else None)
            model_channels, arch, source = 3, Y_PATH, f"{source} ({Y_PATH})"
        for name, folder in folders:
            label = name if name in NAMED else folder.name
            results.append(
                evaluate_dataset(
                    folder,
                    label,
                    scale,
                    runner,
                    source,
                    luma,
                    model_channels,
                    Path(save_dir) if save_dir else None,
                    on_image,
                    arch,
                    lowres,
                )
            )
    return results


def y_path_in_colour(
    run_y: Callable[[np.ndarray], np.ndarray], lowres_scale: int | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """A Y model as ``srcnn upscale`` uses it on a colour image, as an RGB-in, RGB-out runner: the
    network on the bicubic Y, the bicubic Cb and Cr kept. ``lowres_scale``: the model follows the
    low-resolution contract, the runner takes the low-resolution RGB, and Cb and Cr are its bicubic."""

    def run(rgb: np.ndarray) -> np.ndarray:
        low = rgb2ycbcr(rgb)
        ycbcr = low if lowres_scale is None else imresize(low, float(lowres_scale))
        ycbcr[:, :, 0] = run_y(np.ascontiguousarray(low[:, :, 0]))
        return ycbcr2rgb(ycbcr)

    return run


def results_json(results: list[DatasetResult]) -> dict:
    return {"protocol": "matlab", "results": [r.to_json() for r in results]}
