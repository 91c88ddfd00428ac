"""Self-ensemble (`--ensemble`: the mean over the input's 8 flips and rotations) against the
plain network, for every bundled model on Set5 and Set14 with the eval protocol: the gain in dB
and what it costs in time, measured side by side in one run.

    python benchmarks/ensemble.py [--data-dir ../shared/data] [--sets Set5,Set14] [--models NAME,...]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from srcnn_cli.evaluate import evaluate
from srcnn_cli.models import load_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    parser.add_argument("--sets", default="Set5,Set14")
    parser.add_argument("--models", help="bundled names (default: all)")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    names = args.models.split(",") if args.models else [m.name for m in load_manifest()]
    print(f"machine: {platform.machine()} {platform.processor() or ''}".strip())
    print(f"{'model':<14} {'set':<6} {'PSNR':>7} {'ensemble':>9} {'gain dB':>8} {'time x':>7}")
    for name in names:
        scale = int(name.split("_x")[1][0])
        for dataset in args.sets.split(","):
            runs = {}
            for ensemble in (False, True):
                started = time.perf_counter()
                result = evaluate(
                    [dataset], [scale], model=name, data_dir=args.data_dir, threads=args.threads, ensemble=ensemble
                )[0]
                runs[ensemble] = (result.psnr, time.perf_counter() - started)
            (plain, plain_s), (mean, mean_s) = runs[False], runs[True]
            print(f"{name:<14} {dataset:<6} {plain:>7.3f} {mean:>9.3f} {mean - plain:>+8.3f} {mean_s / plain_s:>7.1f}")


if __name__ == "__main__":
    main()
