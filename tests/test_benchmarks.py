"""Every script in benchmarks/ runs, on a tiny input: the figures in the docs come from code that
still works. (What the numbers are is the scripts' business; here they must only run and print.)"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import DATA, needs_data

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "benchmarks"


def run_script(name: str, *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_every_script_has_a_smoke_test():
    tested = {
        "startup.py",
        "compare_runtimes.py",
        "memory.py",
        "pipeline.py",
        "ray_scaling.py",
        "border_error.py",
        "training_curves.py",
        "paper_tables.py",
        "gpu_sweep.sh",
        "ensemble.py",
        "overlap.py",
        "fsrcnn_layers.py",
    }
    assert {p.name for p in SCRIPTS.iterdir() if p.is_file()} == tested


def test_startup():
    assert "srcnn --help" in run_script("startup.py", "--runs", "1")


def test_compare_runtimes(identity_model):
    output = run_script("compare_runtimes.py", "--model", str(identity_model), "--size", "40x32", "--repeat", "1")
    assert "srcnn-cli (onnxruntime)" in output


def test_memory(identity_model):
    output = run_script("memory.py", "--model", str(identity_model), "--sizes", "64x48,96x64", "--before", str(ROOT))
    assert "before RSS MiB" in output and "96x64" in output


def test_pipeline(tmp_path, identity_model):
    output = run_script(
        "pipeline.py",
        "--models",
        str(identity_model),
        "--size",
        "320x240",
        "--folder",
        "2",
        "--repeat",
        "1",
        "--data-dir",
        str(tmp_path),
        "--runtimes",
        "onnxruntime",
    )
    assert "320x240 PNG -> x3 PNG" in output and "2 Set14 images" in output


def test_overlap(tmp_path, identity_model):
    output = run_script(
        "overlap.py",
        "--models",
        str(identity_model),
        "--size",
        "320x240",
        "--rounds",
        "1",
        "--data-dir",
        str(tmp_path),
        "--runtime",
        "onnxruntime",
    )
    row = next(line for line in output.splitlines() if line.startswith(str(identity_model)))
    assert "onnxruntime" in row and len(row.split()) == 12  # model, runtime, 6 times, 4 shares


def test_fsrcnn_layers(tmp_path):
    pytest.importorskip("openvino", reason="the per-layer profile is OpenVINO's (the [openvino] extra)")
    from srcnn_cli.onnxmodel import fsrcnn_onnx_bytes

    from .test_fsrcnn import random_fsrcnn

    model = tmp_path / "f.onnx"
    model.write_bytes(fsrcnn_onnx_bytes(random_fsrcnn(3, m=2), {"srcnn.arch": "fsrcnn-8-4-2"}))
    output = run_script("fsrcnn_layers.py", "--model", str(model), "--size", "96x48", "--rounds", "2")
    for role in ("feature 5x5", "shrink 1x1", "mapping 3x3", "expand 1x1", "deconvolution", "whole network"):
        assert role in output


def test_border_error(tmp_path, identity_model):
    folder = tmp_path / "set"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 256, (48, 60, 3), dtype=np.uint8)).save(folder / f"{name}.png")
    assert "bicubic" in run_script("border_error.py", "-m", str(identity_model), "--dataset", str(folder))


def test_training_curves(tmp_path):
    """Two runs of a chain, as training/runs keeps them (config.json, log.csv)."""
    import json

    for name, init, samples, psnr in (
        ("first", None, 800_000, 32.5),
        ("second", "runs/first/checkpoint.pt", 3_200_000, 32.7),
    ):
        run = tmp_path / name
        run.mkdir()
        config = {"arch": "9-5-5", "scale": 3, "channels": 1, "init": init, "identity_init": init is None}
        record = {
            "config": config,
            "samples": samples,
            "total_samples": samples,
            "steps": samples // 128,
            "wall_minutes": 60.0,
        }
        (run / "config.json").write_text(json.dumps(record))
        (run / "log.csv").write_text(
            "step,samples,wall_s,loss,lr,val_psnr\n"
            f"1,128,1.0,0.01,0.001,\n{samples // 128},{samples},3600,0.001,0.0,{psnr}\n"
        )
    output = run_script(
        "training_curves.py", str(tmp_path / "first"), str(tmp_path / "second"), "--plot", str(tmp_path / "c.png")
    )
    assert "9-5-5 x3" in output and (tmp_path / "c.png").stat().st_size > 1000


@needs_data
def test_paper_tables():
    output = run_script("paper_tables.py", "--sets", "Set5", "--scales", "3", "--data-dir", str(DATA))
    assert "largest |model - paper|" in output


@needs_data
def test_ensemble():
    output = run_script("ensemble.py", "--sets", "Set5", "--models", "9-1-5_x3", "--data-dir", str(DATA))
    assert "9-1-5_x3" in output and "gain dB" in output


def test_gpu_sweep_script_parses():
    assert subprocess.run(["bash", "-n", str(SCRIPTS / "gpu_sweep.sh")]).returncode == 0


def test_ray_scaling(identity_model):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'srcnn-cli[ray]')")
    output = run_script(
        "ray_scaling.py", "--model", str(identity_model), "--images", "2,4", "--size", "48x32", "--workers", "1"
    )
    assert "ray, 1 worker" in output and "local" in output
    assert "fixed and per-image cost (from 2 and 4 images)" in output
