"""How long `srcnn --help` and `srcnn upscale --help` take to start, and what `import srcnn_cli.cli`
pulls in: the command line must answer at once (the target is under 0.15 s for `srcnn --help`).

    python benchmarks/startup.py [--runs 15]

Each run is a fresh interpreter, as a user's shell starts it; the median and the best are
printed with the CPU's name. numpy, onnxruntime and PIL must not be among the modules loaded.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time

from srcnn_cli.machine import cpu_name


def timed(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return times


def heavy_imports() -> list[str]:
    probe = (
        "import sys, srcnn_cli.cli; "
        "print(' '.join(m for m in ('numpy', 'onnxruntime', 'PIL', 'cv2', 'torch', 'tqdm') if m in sys.modules))"
    )
    return subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"CPU: {cpu_name()}; Python {platform.python_version()}; {args.runs} runs each")
    baseline = timed([sys.executable, "-c", "pass"], args.runs)
    print(f"{'python -c pass':<26} median {statistics.median(baseline):.3f} s  best {min(baseline):.3f} s")
    for label, argv in (("srcnn --help", ["--help"]), ("srcnn upscale --help", ["upscale", "--help"])):
        times = timed([sys.executable, "-m", "srcnn_cli", *argv], args.runs)
        print(f"{label:<26} median {statistics.median(times):.3f} s  best {min(times):.3f} s")
    loaded = heavy_imports()
    print("heavy modules loaded by the CLI at start:", ", ".join(loaded) if loaded else "none")


if __name__ == "__main__":
    main()
