"""The same folder through `--engine local` and through Ray with 1 and 2 workers, side by side.

Each run is the real command in its own process (the driver), timed from start to finish, so
Ray's own start-up and scheduling are counted; a Ray head node for the run is started first
(as on a cluster, where it is already running) and stopped at the end. Output MP/s and each
engine's time against local are printed with the CPU's name.

    python benchmarks/ray_scaling.py [--model 9-1-5] [--images 40] [--size 480x360] [--scale 3]
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

RAY = Path(sys.executable).with_name("ray")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="9-1-5")
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--size", default="480x360")
    parser.add_argument("--scale", default="3")
    parser.add_argument("--workers", default="1,2", help="Ray worker counts to time")
    args = parser.parse_args()

    from srcnn_cli.bench import _synthetic_image
    from srcnn_cli.machine import cpu_name

    width, height = (int(v) for v in args.size.split("x"))
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "in").mkdir()
        for index in range(args.images):
            Image.fromarray(np.roll(_synthetic_image(width, height), index * 7, axis=1)).save(
                work / "in" / f"{index:03d}.png")
        environment = dict(os.environ, RAY_TMPDIR=str(work / "ray"), RAY_AUTH_MODE="token")
        started = subprocess.run([str(RAY), "start", "--head", "--port=0", f"--num-cpus={cpus}",
                                  "--include-dashboard=false", "--disable-usage-stats"],
                                 capture_output=True, text=True, env=environment, check=True)
        address = next(line.split("'")[1] for line in started.stdout.splitlines() if "ray start --address=" in line)
        runs = [("local", [])] + [(f"ray, {n} worker{'s' * (n > 1)}", ["--engine", "ray", "--ray-address", address,
                                                                       "--workers", str(n)])
                                  for n in map(int, args.workers.split(","))]
        megapixels = args.images * width * height * float(args.scale) ** 2 / 1e6
        print(f"CPU: {cpu_name()}; {args.images} images {width}x{height} -> x{args.scale} "
              f"({megapixels:.0f} MP out), model {args.model}")
        print(f"{'engine':<16} {'seconds':>8} {'MP/s':>7} {'time vs local':>13}")
        local_seconds = None
        try:
            for label, extra in runs:
                out = work / f"out_{len(extra)}_{extra[-1] if extra else 0}"
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "srcnn_cli", "upscale", str(work / "in"), "-o", str(out),
                                "-s", args.scale, "-m", args.model, "-q", *extra], check=True, env=environment,
                               capture_output=True)
                seconds = time.perf_counter() - start
                local_seconds = local_seconds or seconds
                print(f"{label:<16} {seconds:>8.1f} {megapixels / seconds:>7.2f} {seconds / local_seconds:>13.2f}",
                      flush=True)
        finally:
            subprocess.run([str(RAY), "stop", "--force"], capture_output=True, env=environment)


if __name__ == "__main__":
    main()
