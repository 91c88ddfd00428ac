"""Peak memory and time of `srcnn upscale` on a 2000 x 2000 image at x3 (36 MP out).

Runs the real command in a child process and reads the child's peak RSS from the kernel, so the
number includes Python, onnxruntime, decoding and encoding: what a user's machine would see.

    python benchmarks/memory_36mp.py [--model 9-5-5] [--tile N] [--size 2000]
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="bundled name or .onnx/.mat (default: the x3 default)")
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--tile", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "big.png"
        y, x = np.mgrid[0:args.size, 0:args.size].astype(np.float32)
        rng = np.random.default_rng(0)
        image = np.stack([128 + 100 * np.sin(x / (13 + 7 * c)) * np.cos(y / 29) for c in range(3)], axis=2)
        Image.fromarray(np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)).save(source)
        command = [sys.executable, "-m", "srcnn_cli", "upscale", str(source), "-s", "3", "-o",
                   str(Path(folder) / "out.png"), "-q"]
        if args.model:
            command += ["-m", args.model]
        if args.tile is not None:
            command += ["--tile", str(args.tile)]
        start = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - start
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        with Image.open(Path(folder) / "out.png") as out:
            size = out.size
    print(f"{args.size}x{args.size} -> {size[0]}x{size[1]} ({size[0] * size[1] / 1e6:.0f} MP): "
          f"peak RSS {peak_mib:.0f} MiB, {seconds:.1f} s (limit 1536 MiB)")


if __name__ == "__main__":
    main()
