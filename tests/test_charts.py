"""charts.py: matplotlib figures with readable ticks, written as PNG files."""

import pytest
from PIL import Image

pytest.importorskip("matplotlib")

from srcnn_cli.charts import Figure, Series, _count, render


def test_sample_counts_read_as_words():
    assert [_count(v) for v in (0, 950, 800_000, 1_500_000, 12_000_000, 2.5e9)] == [
        "0",
        "950",
        "800k",
        "1.5M",
        "12M",
        "2.5G",
    ]


def test_a_figure_is_written_at_its_size(tmp_path):
    figure = Figure(
        "Set5",
        "samples",
        "PSNR (dB)",
        [Series(f"run {i}", [(1e5 * (i + 1), 30 + i / 10), (2e5 * (i + 1), 30.2 + i / 10)]) for i in range(12)],
        hlines=[("paper", 32.75), ("bicubic", 30.39)],
    )
    path = render(figure, tmp_path / "f.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (900, 540)
    render(
        Figure("log", "x", "y", [Series("a", [(1e5, 1.0), (1e7, 2.0)], markers=True)], log_x=True), tmp_path / "g.png"
    )
    assert (tmp_path / "g.png").stat().st_size > 1000
