"""Charts, drawn with matplotlib (the ``[plot]`` extra, also in ``[train]``): a training run's
``convergence.png`` (Fig. 10), ``srcnn bench --plot`` (Fig. 12's PSNR against time) and the
chains of training runs in docs/.

A ``Figure`` is data (series of points and reference levels); ``render`` draws it with readable
ticks (matplotlib's locators, thousands as 1.2M rather than 1.2e+06), a colour per series from a
20-colour palette, and the legend outside the plotting area.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import SrcnnError
from .extras import install_hint


@dataclass
class Series:
    label: str
    points: list[tuple[float, float]]
    markers: bool = False


@dataclass
class Figure:
    title: str
    xlabel: str
    ylabel: str
    series: list[Series] = field(default_factory=list)
    hlines: list[tuple[str, float]] = field(default_factory=list)  # (label, y) reference levels
    log_x: bool = False


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise SrcnnError(f"charts need matplotlib: {install_hint('plot')}") from None
    matplotlib.use("Agg")  # files only, never a window
    from matplotlib import pyplot

    return pyplot


def _count(value: float, _position=None) -> str:
    """Tick labels for sample counts: 800k, 1.5M, 12M."""
    for unit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= unit:
            return f"{value / unit:.3g}{suffix}"
    return f"{value:.3g}"


def render(figure: Figure, path, size=(9.0, 5.4), dpi: int = 100) -> Path:
    pyplot = _pyplot()
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    colours = pyplot.get_cmap("tab20").colors
    fig, axes = pyplot.subplots(figsize=size, dpi=dpi)
    for index, series in enumerate(figure.series):
        xs, ys = zip(*series.points) if series.points else ((), ())
        axes.plot(
            xs,
            ys,
            label=series.label,
            color=colours[(2 * index) % 20 + (index // 10) % 2],
            marker="o" if series.markers else None,
            linestyle="none" if series.markers else "-",
        )
    for index, (label, level) in enumerate(figure.hlines):
        axes.axhline(level, color="0.35", linestyle=("--", ":", "-.")[index % 3], linewidth=1, label=label)
    if figure.log_x:
        axes.set_xscale("log")
    else:
        axes.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
        axes.xaxis.set_major_formatter(FuncFormatter(_count))
    axes.yaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
    axes.set_title(figure.title)
    axes.set_xlabel(figure.xlabel)
    axes.set_ylabel(figure.ylabel)
    axes.grid(True, color="0.9")
    if figure.series or figure.hlines:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    pyplot.close(fig)
    return path


def network_title(arch: str) -> str:
    """``SRCNN 9-5-5``, ``FSRCNN (56,12,4)``: what a run trained, for a chart's title."""
    from .models import fsrcnn_dims

    dims = fsrcnn_dims(arch)
    return f"SRCNN {arch}" if dims is None else "FSRCNN ({},{},{})".format(*dims)


def convergence_plot(
    run_dir, log_rows: list[dict], config, bicubic: float | None = None, paper: float | None = None
) -> Path | None:
    """Validation PSNR against back-propagated samples, with bicubic and paper levels (Fig. 10)."""
    points = [(r["samples"], r["val_psnr"]) for r in log_rows if r.get("val_psnr") is not None]
    if not points:
        return None
    levels = []
    if paper is not None:
        levels.append(("paper", paper))
    if bicubic is not None:
        levels.append(("bicubic", bicubic))
    colour = " RGB" if config.channels == 3 else ""
    figure = Figure(
        title=f"{network_title(config.arch)} x{config.scale}{colour} ({config.recipe} recipe)",
        xlabel="back-propagated sub-images",
        ylabel="validation PSNR (dB)",
        series=[Series("srcnn train", points)],
        hlines=levels,
    )
    return render(figure, Path(run_dir) / "convergence.png")
