"""Memory follows the band and the tile, not the output: peak RSS of real `srcnn upscale` runs.

Each run is a fresh process (peak RSS only grows); a small identity model keeps them fast. The
same input is upscaled x2 and x4: four times the output must cost next to nothing more, where
a whole-image pipeline holds the output at least twice (our array and the encoder's copy).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from srcnn_cli.machine import STREAM_OVERHEAD

_MEASURE = """
import sys
from srcnn_cli.cli import cli
from srcnn_cli.machine import peak_rss_bytes
try:
    cli.main(sys.argv[1:], prog_name="srcnn")
except SystemExit as exit:
    assert not exit.code, exit.code
print(peak_rss_bytes())
"""


def peak_rss(*args) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *map(str, args)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def smooth(height: int, width: int, bands: int, dtype) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    top = np.iinfo(dtype).max
    planes = [(0.5 + 0.4 * np.sin(x / (7 + 3 * b)) * np.cos(y / 11)) * top for b in range(bands)]
    return np.stack(planes, axis=2).astype(dtype)


@pytest.mark.slow
@pytest.mark.parametrize("kind, bands, dtype, fmt", [("rgb8", 3, np.uint8, "png"), ("rgba16", 4, np.uint16, "tiff")])
def test_peak_memory_does_not_follow_the_output(tmp_path, identity_model, kind, bands, dtype, fmt):
    # the same width (so the same band), a quarter and the whole of the height
    baseline = peak_rss("models")  # the interpreter, numpy, onnxruntime: before any image
    peaks, input_bytes, output_bytes = {}, {}, {}
    for height in (200, 800):
        pixels = smooth(height, 1000, bands, dtype)
        source = tmp_path / f"{kind}_{height}.png"
        if dtype == np.uint8:
            Image.fromarray(pixels).save(source)
        else:
            import cv2

            cv2.imwrite(str(source), pixels[:, :, [2, 1, 0, 3]])
        target = tmp_path / f"{kind}_{height}_x4.{fmt}"
        peaks[height] = peak_rss("upscale", source, "-o", target, "-s", 4, "-m", identity_model, "--tile", 96, "-q")
        input_bytes[height], output_bytes[height] = pixels.nbytes, pixels.nbytes * 16
        with Image.open(target) as written:
            assert written.size == (4000, 4 * height)
    grown = peaks[800] - peaks[200]
    # four times the output (29 MB more of uint8 RGB, 77 MB of 16-bit RGBA): the input's bytes
    # (its file, the decoder's copy, our array) and next to nothing more
    allowed = 4 * (input_bytes[800] - input_bytes[200]) + 0.1 * (output_bytes[800] - output_bytes[200])
    assert grown < allowed, (peaks, input_bytes, output_bytes)
    assert peaks[800] - baseline < pixels.nbytes + STREAM_OVERHEAD


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="exec keeps the parent's ru_maxrss on Linux")
def test_a_child_reports_its_own_peak_not_its_parents():
    # getrusage's peak survives exec: a child of a 400 MB parent read 400 MB whatever it did
    ballast = np.ones(400 * 2**20, np.uint8)
    child = subprocess.run(
        [sys.executable, "-c", "from srcnn_cli.machine import peak_rss_bytes; print(peak_rss_bytes())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(child.stdout) < 200 * 2**20, int(child.stdout)
    del ballast


def test_what_would_not_fit_is_refused_before_any_work(tmp_path, identity_model, monkeypatch):
    from click.testing import CliRunner

    from srcnn_cli.cli import cli

    Image.fromarray(smooth(300, 400, 3, np.uint8)).save(tmp_path / "a.png")
    monkeypatch.setattr("srcnn_cli.machine.available_bytes", lambda: STREAM_OVERHEAD + 2 * 2**20)
    runner = CliRunner()
    # JPEG holds the whole output (1600x1200 at x4: about 15 MB with Pillow's copy): refused
    result = runner.invoke(
        cli, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "a.jpg"), "-s", "4", "-m", str(identity_model)]
    )
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"Error: {tmp_path / 'a.png'}: a 1600x1200 JPEG is encoded whole and needs about 783 MB of memory, 770 MB "
        "is available: write PNG or TIFF (-f png), which are written band by band, or choose a smaller scale"
    )
    assert not (tmp_path / "a.jpg").exists()
    # PNG streams: the same run fits
    result = runner.invoke(
        cli,
        [
            "upscale",
            str(tmp_path / "a.png"),
            "-o",
            str(tmp_path / "a_x4.png"),
            "-s",
            "4",
            "-m",
            str(identity_model),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    # an input whose decoding alone would not fit is refused from its header
    monkeypatch.setattr("srcnn_cli.machine.available_bytes", lambda: STREAM_OVERHEAD)
    result = runner.invoke(
        cli, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "b.png"), "-s", "2", "-m", str(identity_model)]
    )
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"Error: {tmp_path / 'a.png'}: 400x300 needs about 769 MB of memory to decode and upscale, 768 MB is "
        "available: free memory, or make the image smaller first"
    )


def test_an_absurd_output_is_refused_with_its_numbers(tmp_path):
    """`--width 10000000` on a 50x40 image asked for an 8 x 10^13-pixel PNG, was accepted, and
    would have run for days: refused before any work, with the numbers."""
    from click.testing import CliRunner
    from PIL import Image

    from srcnn_cli.cli import cli
    from srcnn_cli.machine import absurd_output_problem
    from srcnn_cli.onnxmodel import identity_layers, srcnn_onnx_bytes

    assert absurd_output_problem(720 * 3, 1280 * 3, 3, 1, tmp_path) is None
    too_long = absurd_output_problem(8_000_000, 10_000_000, 3, 1, tmp_path)
    assert too_long.startswith("the output would be 10000000x8000000 = 80,000,000,000,000 pixels: even at 100 ")
    too_big = absurd_output_problem(300_000, 300_000, 4, 2, tmp_path, free=10**9)
    assert (
        too_big is not None
        and "670.6 GB of pixels: even compressed 100 to one it would not fit in the 954 MB" in too_big
    )
    model = tmp_path / "m.onnx"
    model.write_bytes(srcnn_onnx_bytes(identity_layers(n1=8, n2=4), {"srcnn.scale": "4"}))
    Image.new("RGB", (50, 40)).save(tmp_path / "a.png")
    result = CliRunner().invoke(
        cli,
        ["upscale", str(tmp_path / "a.png"), "-m", str(model), "--width", "10000000", "-o", str(tmp_path / "huge.png")],
    )
    assert result.exit_code == 1 and "= 80,000,000,000,000 pixels" in result.output
    assert not (tmp_path / "huge.png").exists()
