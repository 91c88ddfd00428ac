"""End to end against the model alone: does `srcnn upscale` keep the CPU on the network?

For each model, in one run on this machine: the network alone over the output plane (the tiles
`srcnn bench` times), then the real command, `srcnn upscale` of a PNG to a PNG (run inside a
child process, after a warm-up; its start-up is not counted), and the ratio of the two, best of
``--repeat`` rounds; the network-alone session is let go before the command runs. Each round is
a fresh child process per code tree and runtime, and they take turns round after round, so that
a shared machine's slow minutes fall on all of them. Two inputs: one 1280x720 photo to x3
(3840x2160 out), and a folder of 50 Set14 images to x3. With `--before DIR` (a checkout of an
earlier srcnn-cli) the same runs of that code go beside ours.
The same-run FP32 matrix-product peak and the CPU's name head the table.

    python benchmarks/pipeline.py [--models 9-5-5,9-1-5] [--before ../srcnn-before]
                                  [--runtimes auto,onnxruntime] [--repeat 3] [--data-dir ../shared/data]

The 1280x720 photo is a mosaic of twelve BSD200 photographs (their own pixels, cropped), so the
encoder sees real photographic content; without the data, a synthetic picture stands in.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

# Runs in a child process whose PYTHONPATH selects the code under test (ours, or --before's).
_DRIVER = r"""
import gc, json, sys, time
import numpy as np
from srcnn_cli.cli import cli
from srcnn_cli.imageio import read_image
from srcnn_cli.pipeline import Upscaler
from srcnn_cli.runtime import auto_tile, plan_tiles

model, scale, out, repeat, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
inputs = sys.argv[6:]
sizes = {}
for path in inputs:
    h, w = read_image(path).pixels.shape[:2]
    sizes[(h * scale, w * scale)] = sizes.get((h * scale, w * scale), 0) + 1

def tiles(session, height, width, halo, channels):
    # the tiles the pipeline cuts (older code chose them without the runtime, and had no scale grid)
    side = session.auto_tile() if hasattr(session, "auto_tile") else auto_tile(channels, halo)
    try:
        return plan_tiles(height, width, side, halo, scale=scale)
    except TypeError:
        return plan_tiles(height, width, side, halo)

def model_only():
    # a session of its own, gone before the command runs: no second network stays loaded beside it
    session = Upscaler(model, scale, **({"runtime": extra["runtime"]} if "runtime" in extra else {})).session
    halo, channels = session.contract.receptive_radius, session.contract.channels
    planes = {size: np.random.default_rng(0).random((channels,) + size, dtype=np.float32) for size in sizes}

    def run():
        for (height, width), count in sizes.items():
            for _ in range(count):
                for t in tiles(session, height, width, halo, channels):
                    session.run(planes[(height, width)][:, t.win_top:t.win_bottom, t.win_left:t.win_right])

    run()  # warm-up: each shape's first call
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    runtime = getattr(session, "runtime", "onnxruntime")
    del session
    gc.collect()
    return seconds, runtime

def end_to_end():
    args = ["upscale", *inputs, "-o", out, "-s", str(scale), "-m", model, "-q", "--overwrite"]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    start = time.perf_counter()
    cli.main(args, standalone_mode=False)
    return time.perf_counter() - start

end_to_end()  # warm-up: imports, caches
model_times, e2e_times = [], []
for _ in range(repeat):  # interleaved, so that the machine's moods fall on both
    seconds, runtime = model_only()
    model_times.append(seconds)
    gc.collect()
    e2e_times.append(end_to_end())
pixels = sum(h * w * n for (h, w), n in sizes.items())
print(json.dumps({"model_s": min(model_times), "end_to_end_s": min(e2e_times), "megapixels": pixels / 1e6,
                  "runtime": runtime}))
"""


def photo_mosaic(data_dir: Path | None, width: int = 1280, height: int = 720) -> np.ndarray:
    """Twelve 320x240 crops of BSD200 photographs side by side; synthetic without the data."""
    folder = data_dir / "test" / "BSD200" if data_dir else None
    if folder is None or not folder.is_dir():
        from srcnn_cli.bench import _synthetic_image

        return _synthetic_image(width, height)
    crops = []
    for path in sorted(folder.iterdir()):
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        if pixels.shape[0] >= 240 and pixels.shape[1] >= 320:
            crops.append(pixels[:240, :320])
        if len(crops) == (width // 320) * (height // 240):
            break
    rows = [np.concatenate(crops[r * (width // 320) : (r + 1) * (width // 320)], axis=1) for r in range(height // 240)]
    return np.concatenate(rows, axis=0)


def set14_folder(data_dir: Path | None, target: Path, count: int = 50) -> list[str]:
    """``count`` Set14 images (the 14, over again) as PNG files; synthetic ones without the data."""
    folder = data_dir / "test" / "Set14" if data_dir else None
    sources = sorted(folder.iterdir()) if folder is not None and folder.is_dir() else []
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        if sources:
            with Image.open(sources[index % len(sources)]) as image:
                pixels = np.asarray(image.convert("RGB"))
        else:
            from srcnn_cli.bench import _synthetic_image

            pixels = _synthetic_image(500, 400)
        path = target / f"{index:02d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(str(path))
    return paths


def measure(tree: Path, model: str, inputs: list[str], out: Path, repeat: int, extra: dict) -> dict:
    # the checkout's own code and bundled models (an editable install would lend it ours)
    environment = dict(os.environ, PYTHONPATH=str(tree), SRCNN_WEIGHTS_DIR=str(tree / "weights"))
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, model, "3", str(out), str(repeat), json.dumps(extra), *inputs],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tree,
    )
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best(runs) -> dict:
    """The fastest of several drivers' rows: the best network time and the best command time."""
    runs = list(runs)
    return dict(runs[0], model_s=min(r["model_s"] for r in runs), end_to_end_s=min(r["end_to_end_s"] for r in runs))


def interleaved(trees, model: str, inputs: list[str], out: Path, repeat: int) -> list[dict]:
    """Each tree's row, the trees taking turns round after round (a driver of one timing each,
    after its warm-up), so that a shared machine's slow minutes fall on all of them."""
    runs: list[list[dict]] = [[] for _ in trees]
    for _ in range(repeat):
        for kept, (_, tree, extra) in zip(runs, trees):
            kept.append(measure(tree.resolve(), model, inputs, out, 1, extra))
    return [best(kept) for kept in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="9-5-5,9-1-5")
    parser.add_argument("--before", type=Path, help="A checkout of an earlier srcnn-cli, timed beside this one.")
    parser.add_argument("--runtimes", default="auto", help="Ours with each of these --runtime values.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--size", default="1280x720", help="The single photo's size (a multiple of 320x240).")
    parser.add_argument("--folder", type=int, default=50, help="Images in the folder case (0: skip it).")
    args = parser.parse_args()

    from srcnn_cli.bench import measure_peak
    from srcnn_cli.machine import cpu_name

    peak, source = measure_peak("cpu")
    print(
        f"CPU: {cpu_name()}; FP32 peak {peak:.0f} GFLOP/s ({source}); best of {args.repeat} rounds, the trees "
        "taking turns, each timing after a warm-up"
    )
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        Image.fromarray(photo_mosaic(args.data_dir, width, height)).save(work / "photo.png")
        cases = [(f"{width}x{height} PNG -> x3 PNG", [str(work / "photo.png")])]
        if args.folder:
            cases.append(
                (f"{args.folder} Set14 images -> x3 PNG", set14_folder(args.data_dir, work / "set14", args.folder))
            )
        trees = [("before", args.before, {})] if args.before else []
        trees += [("after", ROOT, {"runtime": runtime}) for runtime in args.runtimes.split(",")]
        print(
            f"{'case':<30} {'model':<7} {'code':<7} {'runtime':<12} {'model MP/s':>10} {'e2e MP/s':>9} {'e2e/model':>9}"
        )
        for label, inputs in cases:
            for model in args.models.split(","):
                rows = interleaved(trees, model, inputs, work / "out", args.repeat)
                for (name, _, _), row in zip(trees, rows):
                    model_rate = row["megapixels"] / row["model_s"]
                    e2e_rate = row["megapixels"] / row["end_to_end_s"]
                    print(
                        f"{label:<30} {model:<7} {name:<7} {row['runtime']:<12} {model_rate:>10.2f} "
                        f"{e2e_rate:>9.2f} {row['model_s'] / row['end_to_end_s']:>9.2f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
