"""Training runs side by side: Set5 PSNR against samples, and how far each model is from its bar.

    python benchmarks/training_curves.py training/runs/955x3 training/runs/955x3_identity ... \
        --plot docs/training_x3.png

Reads each run's record (``config.json``) and log (``log.csv``), as kept in training/runs.
A run started with ``--init`` from another run in
the list continues that run's curve: its samples are counted on top of the source's, so a chain
of runs reads as one budget. For every model (arch, scale, channels) with at least two finished
runs, the last two end-of-schedule points give the gain per tenfold samples, and from it the
samples and CPU hours the bar would need if that rate held (a log-linear extrapolation: a rough
guide, not a promise; gains usually shrink faster than that).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

from srcnn_cli.charts import Figure, Series, render
from srcnn_cli.paper import FILTER_SIZES_SET5_X3, paper_psnr


def bar_for(config: dict) -> float | None:
    """The issue's Set5 bar: the paper's number for this model."""
    if config["channels"] == 3:
        return paper_psnr("Set5", config["scale"], 3)[1]
    if config["arch"] == "9-5-5":
        return paper_psnr("Set5", config["scale"])[1]
    if config["scale"] == 3 and config["arch"] == "9-3-5":
        return FILTER_SIZES_SET5_X3["9-3-5"]
    if config["scale"] == 3 and config["arch"] == "9-1-5":
        return 32.39  # the authors' 9-1-5 trained on the 91 images, as the issue asks
    return None


def load_run(folder: Path) -> dict:
    state = json.loads((folder / "config.json").read_text())
    config = state["config"]
    with open(folder / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    points = [(int(r["samples"]), float(r["val_psnr"])) for r in rows if r.get("val_psnr")]
    state["wall_s"] = state["wall_minutes"] * 60.0
    source = Path(config["init"]).parent.name if config.get("init") else None
    start = "--init " + source if source else ("identity" if config.get("identity_init") else "random")
    return {
        "name": folder.name,
        "config": config,
        "points": points,
        "source": source,
        "start": start,
        "samples": state["samples"],
        "wall_s": state["wall_s"],
        "finished": state["samples"] >= state["total_samples"] > 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--plot", type=Path, help="Write Set5 PSNR against samples (PNG).")
    parser.add_argument(
        "--rate",
        type=float,
        help="samples/s for the hours projection (default: the last run's own; give the "
        "CPU's when the runs were made on a GPU)",
    )
    args = parser.parse_args()
    runs = {folder.name: load_run(folder) for folder in args.runs}

    def offset(run: dict) -> int:  # samples spent before this run in its --init chain
        source = runs.get(run["source"]) if run["source"] else None
        return offset(source) + source["samples"] if source else 0

    print(f"{'run':<26} {'model':<14} {'start':<24} {'samples':>9} {'chain':>9} {'CPU min':>8} {'Set5':>6} {'bar':>6}")
    models: dict[tuple, list[dict]] = {}
    for run in runs.values():
        c = run["config"]
        key = (c["arch"], c["scale"], c["channels"])
        label = f"{c['arch']} x{c['scale']}" + (" RGB" if c["channels"] == 3 else "")
        final = run["points"][-1][1] if run["points"] else float("nan")
        bar = bar_for(c)
        chain = offset(run) + run["samples"]
        print(
            f"{run['name']:<26} {label:<14} {run['start']:<24} {run['samples'] / 1e6:>8.2f}M "
            f"{chain / 1e6:>8.2f}M {run['wall_s'] / 60:>8.1f} {final:>6.2f} {bar or float('nan'):>6.2f}"
        )
        if run["finished"]:
            models.setdefault(key, []).append({**run, "chain": chain, "final": final, "bar": bar, "label": label})

    for runs_of_model in models.values():
        done = sorted(runs_of_model, key=lambda r: r["chain"])
        if len(done) < 2 or done[-1]["bar"] is None:
            continue
        a, b = done[-2], done[-1]
        decades = math.log10(b["chain"] / a["chain"])
        if decades <= 0 or b["final"] <= a["final"]:
            continue
        per_decade = (b["final"] - a["final"]) / decades
        short = b["bar"] - b["final"]
        rate = args.rate or b["samples"] / b["wall_s"]
        if short <= 0:
            print(f"{b['label']}: bar met ({b['final']:.2f} >= {b['bar']:.2f})")
            continue
        needed = b["chain"] * 10 ** (short / per_decade)
        print(
            f"{b['label']}: {per_decade:+.2f} dB per tenfold samples ({a['name']} -> {b['name']}); "
            f"{short:.2f} dB short -> ~{needed / 1e6:.1f} M samples in all, "
            f"~{(needed - b['chain']) / rate / 3600:.1f} more hours at {rate:.0f} samples/s"
        )

    if args.plot:
        series = []
        bars = {}
        for run in runs.values():
            shift = offset(run)
            points = [(s + shift, p) for s, p in run["points"]]
            if points:
                series.append(Series(run["name"], points))
            if bar_for(run["config"]) is not None:
                label = f"{run['config']['arch']} x{run['config']['scale']} bar"
                bars[label] = bar_for(run["config"])
        figure = Figure(
            title="Set5 PSNR against back-propagated samples (chains continue)",
            xlabel="samples along the chain (log scale)",
            ylabel="Set5 PSNR (dB)",
            series=series,
            hlines=sorted(bars.items()),
            log_x=True,
        )
        print(f"wrote {render(figure, args.plot)}")


if __name__ == "__main__":
    main()
