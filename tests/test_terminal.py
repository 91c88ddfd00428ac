"""Every command that draws progress, run in a pseudo-terminal (where the bars are drawn) and
through pipes (where they are not): the exit code, the bar's total, and no traceback."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SRCNN = [sys.executable, "-m", "srcnn_cli"]


def run_in_terminal(args: list[str], timeout: float = 120.0) -> tuple[int, str]:
    """Run with standard input, output and error on a new 30 x 100 pseudo-terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        else:
            process.kill()
            pytest.fail(f"{args} did not finish in {timeout} s")
    finally:
        os.close(master)
    return process.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def run_in_pipes(args: list[str]) -> tuple[int, str]:
    done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


RUNNERS = {"terminal": run_in_terminal, "pipes": run_in_pipes}


def images(folder: Path, count: int, size=(48, 40)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for index in range(count):
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img{index}.png")
    return folder


def bar_drawn(output: str, label: str, total: int) -> bool:
    return f"{label}: 100%" in output and f"{total}/{total}" in output


@pytest.mark.parametrize("where", RUNNERS)
def test_upscale_progress(tmp_path, identity_model, where):
    folder = images(tmp_path / "in", 3)
    code, output = RUNNERS[where](
        SRCNN + ["upscale", str(folder), "-o", str(tmp_path / "out"), "-m", str(identity_model)]
    )
    assert code == 0, output
    assert "Traceback" not in output and "3 upscaled, 0 skipped, 0 failed" in output
    assert bar_drawn(output, "upscale", 3) == (where == "terminal")


@pytest.mark.parametrize("where", RUNNERS)
def test_eval_progress(tmp_path, identity_model, where):
    """``srcnn eval`` at a prompt died in its progress bar (a tqdm without a total is falsy)."""
    folder = images(tmp_path / "set", 3)
    code, output = RUNNERS[where](SRCNN + ["eval", str(folder), "-s", "2,3", "-m", str(identity_model)])
    assert code == 0, output
    assert "Traceback" not in output and "set x3  (3 images" in output
    assert bar_drawn(output, "eval", 6) == (where == "terminal")


@pytest.mark.parametrize("where", RUNNERS)
def test_train_progress(tmp_path, where):
    pytest.importorskip("torch")
    folder = images(tmp_path / "train", 2, size=(64, 64))
    code, output = RUNNERS[where](
        SRCNN
        + [
            "train",
            "--arch",
            "9-1-5",
            "-s",
            "3",
            "--n1",
            "8",
            "--n2",
            "4",
            "--train-dir",
            str(folder),
            "--out",
            str(tmp_path / "run"),
            "--samples",
            "256",
            "--batch",
            "64",
            "--no-export",
            "--threads",
            "1",
        ]
    )
    assert code == 0, output
    assert "Traceback" not in output and "finished: 256 samples" in output
    assert ("256/256" in output) == (where == "terminal")  # the bar
    assert ("256 / 256 samples, " in output) == (where == "pipes")  # a plain line for a log


@pytest.mark.parametrize("where", RUNNERS)
def test_bench_progress(identity_model, where):
    code, output = RUNNERS[where](
        SRCNN + ["bench", "-m", f"{identity_model},{identity_model}", "--size", "32x32", "--repeat", "1", "--no-psnr"]
    )
    assert code == 0, output
    assert "Traceback" not in output and "bicubic" in output
    assert bar_drawn(output, "bench", 2) == (where == "terminal")


def test_an_image_is_not_written_to_a_terminal(tmp_path, identity_model):
    image = images(tmp_path, 1) / "img0.png"
    code, output = run_in_terminal(SRCNN + ["upscale", str(image), "-o", "-", "-m", str(identity_model)])
    assert code == 2
    assert output.splitlines()[-1] == (
        "Error: standard output is a terminal, not a place for an image: "
        "redirect it (> out.png) or name an output file with -o"
    )
    assert "PNG" not in output


def test_standard_input_from_a_terminal_asks_for_a_pipe(identity_model):
    code, output = run_in_terminal(SRCNN + ["upscale", "-", "-o", "x.png", "-m", str(identity_model)])
    assert code == 2
    assert output.splitlines()[-1] == "Error: no image on standard input: pipe one in, or name a file"
