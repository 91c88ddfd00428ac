"""The paper's Tables 2-4, whole: bicubic and a model (the authors' 9-5-5 weights by default) on
Set5, Set14 and BSD200 at x2, x3 and x4, beside the published numbers, with the difference.

    python benchmarks/paper_tables.py [--model x{scale}.mat pattern or bundled name]
        [--sets Set5,Set14,BSD200] [--data-dir ../shared/data]

The test suite checks Set5 and Set14 whole and a 20-image subset of BSD200; this runs all of
BSD200 (about 2 minutes on a quiet 2-core machine), the check that Table 4 is met to 0.02 dB.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from srcnn_cli.evaluate import evaluate
from srcnn_cli.paper import TABLES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    parser.add_argument(
        "--model", default=None, help="'{data}/srcnn_v1/9-5-5_imagenet/x{scale}.mat' by default; or a bundled name"
    )
    parser.add_argument("--sets", default="Set5,Set14,BSD200")
    parser.add_argument("--scales", default="2,3,4")
    args = parser.parse_args()
    data = Path(args.data_dir).resolve()
    pattern = args.model or str(data / "srcnn_v1" / "9-5-5_imagenet" / "x{scale}.mat")
    print(f"{'set':<8} {'x':>2} {'luma':<6} {'bicubic':>8} {'paper':>6} {'model':>8} {'paper':>6} {'diff':>6} {'s':>5}")
    worst = 0.0
    for name in args.sets.split(","):
        for scale in (int(s) for s in args.scales.split(",")):
            started = time.perf_counter()
            result = evaluate([name], [scale], model=pattern.format(scale=scale), data_dir=str(data))[0]
            paper_bicubic, paper_model = TABLES[name][scale][:2]
            diff = result.psnr - paper_model
            worst = max(worst, abs(diff))
            print(
                f"{name:<8} {scale:>2} {result.luma:<6} {result.bicubic_psnr:>8.2f} {paper_bicubic:>6.2f} "
                f"{result.psnr:>8.3f} {paper_model:>6.2f} {diff:>+6.3f} {time.perf_counter() - started:>5.0f}"
            )
    print(f"largest |model - paper|: {worst:.3f} dB")


if __name__ == "__main__":
    main()
