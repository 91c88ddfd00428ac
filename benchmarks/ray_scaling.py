"""The same folders through `--engine local` and through Ray with 1 and 2 workers, side by side.

Each run is the real command in its own process (the driver), timed from start to finish, so
Ray's own start-up and scheduling are counted; a Ray head node for the run is started first
(as on a cluster, where it is already running) and stopped at the end. Output MP/s and each
engine's time against local are printed with the CPU's name. With two or more folder sizes
(``--images 40,200``), each engine's time is also split into a fixed part (start-up: the
connection, the workers' start and model loading) and a cost per image (the slope between the
smallest and the largest folder), and the per-image cost is set against local's: that is what
Ray costs on a folder large enough to need it.

    python benchmarks/ray_scaling.py [--model 9-1-5] [--images 40,200] [--size 480x360] [--scale 3]
"""

from __future__ import annotations

import argparse
import os
import secrets
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
    parser.add_argument("--images", default="40,200", help="folder sizes, comma-separated")
    parser.add_argument("--size", default="480x360")
    parser.add_argument("--scale", default="3")
    parser.add_argument("--workers", default="1,2", help="Ray worker counts to time")
    args = parser.parse_args()

    from srcnn_cli.bench import _synthetic_image
    from srcnn_cli.machine import cpu_name

    width, height = (int(v) for v in args.size.split("x"))
    sizes = sorted(int(v) for v in args.images.split(","))
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for count in sizes:
            (work / f"in{count}").mkdir()
            for index in range(count):
                Image.fromarray(np.roll(_synthetic_image(width, height), index * 7, axis=1)).save(
                    work / f"in{count}" / f"{index:03d}.png"
                )
        token = work / "auth_token"  # the run's own cluster token (the user's ~/.ray is left alone)
        token.write_text(secrets.token_hex(32))
        environment = dict(
            os.environ, RAY_TMPDIR=str(work / "ray"), RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token)
        )
        started = subprocess.run(
            [
                str(RAY),
                "start",
                "--head",
                "--port=0",
                f"--num-cpus={cpus}",
                "--include-dashboard=false",
                "--disable-usage-stats",
            ],
            capture_output=True,
            text=True,
            env=environment,
            check=True,
        )
        address = next(line.split("'")[1] for line in started.stdout.splitlines() if "ray start --address=" in line)
        runs = [("local", [])] + [
            (f"ray, {n} worker{'s' * (n > 1)}", ["--engine", "ray", "--ray-address", address, "--workers", str(n)])
            for n in map(int, args.workers.split(","))
        ]
        per_image = width * height * float(args.scale) ** 2 / 1e6
        print(
            f"CPU: {cpu_name()}; images {width}x{height} -> x{args.scale} ({per_image:.2f} MP out each), "
            f"model {args.model}"
        )
        print(f"{'engine':<16} {'images':>6} {'seconds':>8} {'MP/s':>7} {'time vs local':>13}")
        seconds: dict[tuple[str, int], float] = {}
        try:
            for count in sizes:
                for label, extra in runs:
                    out = work / f"out{count}_{len(extra)}_{extra[-1] if extra else 0}"
                    start = time.perf_counter()
                    subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "srcnn_cli",
                            "upscale",
                            str(work / f"in{count}"),
                            "-o",
                            str(out),
                            "-s",
                            args.scale,
                            "-m",
                            args.model,
                            "-q",
                            *extra,
                        ],
                        check=True,
                        env=environment,
                        capture_output=True,
                    )
                    taken = seconds[label, count] = time.perf_counter() - start
                    print(
                        f"{label:<16} {count:>6} {taken:>8.1f} {count * per_image / taken:>7.2f} "
                        f"{taken / seconds['local', count]:>13.2f}",
                        flush=True,
                    )
        finally:
            subprocess.run([str(RAY), "stop", "--force"], capture_output=True, env=environment)
        if len(sizes) > 1:
            few, many = sizes[0], sizes[-1]
            print(f"\nfixed and per-image cost (from {few} and {many} images)")
            print(f"{'engine':<16} {'fixed s':>8} {'s/image':>8} {'per image vs local':>18}")
            local_slope = (seconds["local", many] - seconds["local", few]) / (many - few)
            for label, _ in runs:
                slope = (seconds[label, many] - seconds[label, few]) / (many - few)
                fixed = seconds[label, few] - slope * few
                print(f"{label:<16} {fixed:>8.1f} {slope:>8.3f} {slope / local_slope:>18.2f}")


if __name__ == "__main__":
    main()
