"""Peak memory of `srcnn upscale` against the size of its output: the curve should be flat.

Each size runs the real command in a fresh child process and reads the child's peak RSS from
the kernel (Python, the runtime, decoding, the network, encoding: what a user's machine sees),
beside the decoded input's own size, which the pipeline may hold whole. With `--before DIR` (a
checkout of an earlier srcnn-cli) the same runs of that code go beside ours.

    python benchmarks/memory.py [--model 9-1-5] [--sizes 1000x750,2000x1500,4000x3000,6000x4000]
                                [--scale 2] [--format png] [--before ../srcnn-before]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
_MEASURE = """
import resource, sys
from srcnn_cli.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="srcnn")
except SystemExit as exit:
    if exit.code:
        raise
# VmHWM: ru_maxrss survives exec, so it would report this driver's own peak
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(int(line.split()[1]) * 1024)
        break
else:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def photo_like(width: int, height: int) -> np.ndarray:
    """Smooth colour with noise, made a band at a time (a 96 MP output's input is 24 MP)."""
    rng = np.random.default_rng(0)
    image = np.empty((height, width, 3), np.uint8)
    x = np.arange(width, dtype=np.float32)
    for top in range(0, height, 500):
        y = np.arange(top, min(height, top + 500), dtype=np.float32)[:, None]
        for c in range(3):
            band = 128 + 100 * np.sin(x / (13 + 7 * c)) * np.cos(y / 29) + rng.normal(0, 6, (len(y), width))
            image[top : top + len(y), :, c] = np.clip(band, 0, 255).astype(np.uint8)
    return image


def peak(tree: Path, args: list[str]) -> tuple[int, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(tree), SRCNN_WEIGHTS_DIR=str(tree / "weights")),
        cwd=tree,
    )
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr.strip()[-400:]}")
    return int(done.stdout.split()[-1]), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="9-1-5", help="bundled name or .onnx file")
    parser.add_argument("--sizes", default="1000x750,2000x1500,4000x3000,6000x4000", help="input sizes")
    parser.add_argument("--scale", default="2")
    parser.add_argument("--format", default="png", choices=["png", "tiff"])
    parser.add_argument("--before", type=Path, help="A checkout of an earlier srcnn-cli, measured beside this one.")
    args = parser.parse_args()

    from srcnn_cli.machine import cpu_name

    trees = ([("before", args.before.resolve())] if args.before else []) + [("after", ROOT)]
    print(f"CPU: {cpu_name()}; model {args.model}, x{args.scale}, {args.format.upper()} out")
    print(
        f"{'input':>11} {'output MP':>9} {'input MiB':>9}  "
        + "  ".join(f"{name + ' RSS MiB':>16} {name + ' s':>9}" for name, _ in trees)
    )
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.split("x"))
            source = Path(scratch) / f"in_{size}.png"
            pixels = photo_like(width, height)
            Image.fromarray(pixels).save(source, compress_level=1)
            scale = float(args.scale)
            cells = []
            for name, tree in trees:
                target = Path(scratch) / f"out_{name}_{size}.{args.format}"
                rss, seconds = peak(
                    tree,
                    [
                        "upscale",
                        str(source),
                        "-o",
                        str(target),
                        "-s",
                        args.scale,
                        "-m",
                        args.model,
                        "-q",
                        "--overwrite",
                    ],
                )
                cells.append(f"{rss / 2**20:>16.0f} {seconds:>9.1f}")
                target.unlink()
            print(
                f"{size:>11} {width * height * scale * scale / 1e6:>9.1f} {pixels.nbytes / 2**20:>9.1f}  "
                + "  ".join(cells),
                flush=True,
            )


if __name__ == "__main__":
    main()
