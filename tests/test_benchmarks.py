"""Every script in benchmarks/ runs, on a tiny input: the figures in the docs come from code that
still works. (What the numbers are is the scripts' business; here they must only run and print.)"""
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from .conftest import DATA, needs_data

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "benchmarks"


def run_script(name: str, *args: str, timeout: float = 300) -> str:
    done = subprocess.run([sys.executable, str(SCRIPTS / name), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_every_script_has_a_smoke_test():
    tested = {"startup.py", "compare_runtimes.py", "memory_36mp.py", "border_error.py", "training_curves.py",
              "paper_tables.py", "gpu_sweep.sh"}
    assert {p.name for p in SCRIPTS.iterdir() if p.is_file()} == tested


def test_startup():
    assert "srcnn --help" in run_script("startup.py", "--runs", "1")


def test_compare_runtimes(identity_model):
    output = run_script("compare_runtimes.py", "--model", str(identity_model), "--size", "40x32", "--repeat", "1")
    assert "srcnn-cli (onnxruntime)" in output


def test_memory(identity_model):
    assert "MiB" in run_script("memory_36mp.py", "--model", str(identity_model), "--size", "64")


def test_border_error(tmp_path, identity_model):
    folder = tmp_path / "set"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 256, (48, 60, 3), dtype=np.uint8)).save(folder / f"{name}.png")
    assert "bicubic" in run_script("border_error.py", "-m", str(identity_model), "--dataset", str(folder))


def test_training_curves(tmp_path):
    runs = [str(ROOT / "training" / "runs" / name) for name in ("955x3_identity", "955x3_chain1")]
    output = run_script("training_curves.py", *runs, "--plot", str(tmp_path / "c.png"))
    assert "9-5-5 x3" in output and (tmp_path / "c.png").stat().st_size > 1000


@needs_data
def test_paper_tables():
    output = run_script("paper_tables.py", "--sets", "Set5", "--scales", "3", "--data-dir", str(DATA))
    assert "largest |model - paper|" in output


def test_gpu_sweep_script_parses():
    assert subprocess.run(["bash", "-n", str(SCRIPTS / "gpu_sweep.sh")]).returncode == 0

