"""Where two models differ: mean squared error by distance from the image border.

Runs each model on a test set under the paper's protocol (the same pairs and rounding as
`srcnn eval`) and splits the per-pixel squared error (uint8 levels squared) into bands of
distance from the nearest border, counted after the protocol's shave of `scale` pixels. A model
that is worse only near the border suffers from its padding; one worse everywhere has learned
less.

    python benchmarks/border_error.py --data-dir ../shared/data -s 3 \
        -m 9-5-5 -m ../shared/data/srcnn_v1/9-5-5_imagenet/x3.mat
"""

from __future__ import annotations

import argparse

import numpy as np

from srcnn_cli.evaluate import dataset_images, find_dataset, session_runner
from srcnn_cli.imageio import load_uint8
from srcnn_cli.metrics import quantize_uint8
from srcnn_cli.models import resolve_model
from srcnn_cli.protocol import model_pair
from srcnn_cli.runtime import Session

BAND_EDGES = (8, 16)  # bands: [scale, 8), [8, 16), [16, ...) pixels from the border


def band_of(height: int, width: int, scale: int) -> np.ndarray:
    """Band index per pixel (-1 inside the shave)."""
    rows, cols = np.mgrid[0:height, 0:width]
    distance = np.minimum.reduce([rows, cols, height - 1 - rows, width - 1 - cols])
    bands = np.digitize(distance, BAND_EDGES)
    bands[distance < scale] = -1
    return bands


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-m", "--model", action="append", required=True, help="bundled name or .onnx/.mat file; repeat to compare"
    )
    parser.add_argument("--dataset", default="Set5")
    parser.add_argument("-s", "--scale", type=int, default=3)
    parser.add_argument("--data-dir")
    args = parser.parse_args()

    folder = find_dataset(args.dataset, args.data_dir)
    runners = {"bicubic": lambda plane: plane}
    for spec in args.model:
        loaded = resolve_model(spec, args.scale)
        runners[spec] = session_runner(Session(loaded.data, threads=1, source=loaded.source))
    squared = {name: np.zeros(len(BAND_EDGES) + 1) for name in runners}
    pixels = np.zeros(len(BAND_EDGES) + 1)
    for path in dataset_images(folder):
        pair = model_pair(path.stem, load_uint8(path), args.scale, 1)
        truth = pair.ground_truth.astype(np.float64)
        bands = band_of(*truth.shape, args.scale)
        pixels += np.bincount(bands[bands >= 0], minlength=len(pixels))
        for name, run in runners.items():
            error = (quantize_uint8(run(pair.bicubic)).astype(np.float64) - truth) ** 2
            squared[name] += np.bincount(bands[bands >= 0], weights=error[bands >= 0], minlength=len(pixels))
    edges = (args.scale, *BAND_EDGES)
    header = [f"{low}-{high - 1} px" for low, high in zip(edges, BAND_EDGES)] + [f"{edges[-1]}+ px"]
    print(f"{args.dataset} x{args.scale}: MSE by distance from the border")
    print(f"{'model':<48}" + "".join(f"{h:>12}" for h in header))
    for name in runners:
        print(f"{name[-48:]:<48}" + "".join(f"{v:>12.1f}" for v in squared[name] / pixels))


if __name__ == "__main__":
    main()
