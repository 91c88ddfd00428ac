"""Small line plots drawn with Pillow (no plotting library needed).

Used for the training run's ``convergence.png`` and for ``srcnn bench --plot``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]


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


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / count if high > low else 1.0
    return [low + i * step for i in range(count + 1)]


def render(figure: Figure, path, size=(900, 560)) -> Path:
    width, height = size
    left, right, top, bottom = 80, 220, 40, 60
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    xs = [x for s in figure.series for x, _ in s.points]
    ys = [y for s in figure.series for _, y in s.points] + [y for _, y in figure.hlines]
    if not xs:
        xs, ys = [0.0, 1.0], ys or [0.0, 1.0]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1.0
    pad = (y1 - y0) * 0.05 or 0.5
    y0, y1 = y0 - pad, y1 + pad

    def to_px(x: float, y: float) -> tuple[float, float]:
        px = left + (x - x0) / (x1 - x0) * (width - left - right)
        py = height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)
        return px, py

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for tick in _ticks(x0, x1):
        px, _ = to_px(tick, y0)
        draw.line([px, height - bottom, px, height - bottom + 5], fill="black")
        draw.text((px - 20, height - bottom + 8), f"{tick:.3g}", fill="black")
    for tick in _ticks(y0, y1):
        _, py = to_px(x0, tick)
        draw.line([left - 5, py, left, py], fill="black")
        draw.text((8, py - 6), f"{tick:.2f}", fill="black")
    draw.text((width / 2 - 100, 12), figure.title, fill="black")
    draw.text((width / 2 - 100, height - 25), figure.xlabel, fill="black")
    draw.text((8, 12), figure.ylabel, fill="black")
    legend_y = top
    for index, (label, level) in enumerate(figure.hlines):
        colour = ["#555555", "#aa7700", "#007700"][index % 3]
        ya = to_px(x0, level)[1]
        for start in range(left, width - right, 12):
            draw.line([start, ya, min(start + 6, width - right), ya], fill=colour)
        draw.text((width - right + 10, legend_y), f"--- {label} ({level:.2f})", fill=colour)
        legend_y += 18
    for index, series in enumerate(figure.series):
        colour = PALETTE[index % len(PALETTE)]
        points = [to_px(x, y) for x, y in sorted(series.points)]
        if len(points) > 1 and not series.markers:
            draw.line(points, fill=colour, width=2)
        for px, py in points:
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
        draw.text((width - right + 10, legend_y), f"o {series.label}", fill=colour)
        legend_y += 18
    path = Path(path)
    image.save(path)
    return path


def convergence_plot(run_dir, log_rows: list[dict], config, bicubic: float | None = None,
                     paper: float | None = None) -> Path | None:
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
        title=f"SRCNN {config.arch} x{config.scale}{colour} ({config.recipe} recipe)",
        xlabel="back-propagated sub-images",
        ylabel="validation PSNR (dB)",
        series=[Series("srcnn train", points)],
        hlines=levels,
    )
    return render(figure, Path(run_dir) / "convergence.png")
