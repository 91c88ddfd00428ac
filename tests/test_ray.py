"""--engine ray on a real Ray cluster: a head node started on the loopback inside the test,
the command run as a user runs it (its own process, joining by address), compared byte for byte
with --engine local; a worker killed mid-run; the Python API on a Ray Dataset."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from srcnn_cli.cli import cli

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'srcnn-cli[ray]')")
pytestmark = pytest.mark.ray
RAY = Path(sys.executable).with_name("ray")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A one-node Ray cluster on 127.0.0.1 with 2 CPUs; its address."""
    folder = tmp_path_factory.mktemp("ray")
    # RAY_AUTH_MODE=token: a driver that names the address uses the cluster's token, here one of
    # the test's own (a fresh machine has no ~/.ray/auth_token, and the test leaves the home alone)
    token = folder / "auth_token"
    token.write_text(secrets.token_hex(32))
    environment = dict(os.environ, RAY_TMPDIR=str(folder), RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    started = subprocess.run(
        [
            str(RAY),
            "start",
            "--head",
            "--node-ip-address=127.0.0.1",
            "--port=0",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr
    address = next(line.split("'")[1] for line in started.stdout.splitlines() if "ray start --address=" in line)
    yield address, environment
    subprocess.run([str(RAY), "stop", "--force"], capture_output=True, env=environment, timeout=120)


def photos(folder: Path, count: int, size=(48, 40)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        pixels = np.random.default_rng(index).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index:02d}.png")
        paths.append(folder / f"{index:02d}.png")
    return paths


def srcnn(*args, environment, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "srcnn_cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
    )


def test_ray_engine_matches_the_local_engine_byte_for_byte(cluster, tmp_path, identity_model):
    address, environment = cluster
    photos(tmp_path / "in", 20)
    (tmp_path / "in" / "notes.png").write_text("not an image")
    (tmp_path / "in" / "cut.png").write_bytes((tmp_path / "in" / "00.png").read_bytes()[:100])
    common = ["-s", "2", "-m", identity_model]
    on_ray = srcnn(
        "upscale",
        tmp_path / "in",
        "-o",
        tmp_path / "ray",
        *common,
        "--engine",
        "ray",
        "--ray-address",
        address,
        "-q",
        environment=environment,
    )
    local = srcnn("upscale", tmp_path / "in", "-o", tmp_path / "local", *common, "-q", environment=environment)
    assert (on_ray.returncode, local.returncode) == (1, 1)
    errors = sorted(line for line in on_ray.stderr.splitlines() if line.startswith("Error: "))
    assert errors == sorted(line for line in local.stderr.splitlines() if line.startswith("Error: "))
    assert len(errors) == 2 and errors[0].startswith(f"Error: {tmp_path / 'in' / 'cut.png'}: ")
    assert on_ray.stderr.splitlines()[-1] == "20 upscaled, 0 skipped, 2 failed"
    names = sorted(p.name for p in (tmp_path / "ray").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "local").iterdir()) and len(names) == 20
    for name in names:
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    # a rerun finds everything done, as locally
    again = srcnn(
        "upscale",
        tmp_path / "in",
        "-o",
        tmp_path / "ray",
        *common,
        "--engine",
        "ray",
        "--ray-address",
        address,
        environment=environment,
    )
    assert "0 upscaled, 20 skipped, 2 failed" in again.stderr


def _worker_pids() -> list[int]:
    """Processes of Ray actors that upscale files (Ray names them after the class)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "MapWorker" in command and "UpscaleFiles" in command:
                pids.append(int(entry.name))
    return pids


def test_a_worker_killed_mid_run_is_replaced_and_the_batch_completes(cluster, tmp_path, random_model):
    address, environment = cluster
    photos(tmp_path / "in", 12, size=(320, 240))
    command = [
        sys.executable,
        "-m",
        "srcnn_cli",
        "upscale",
        str(tmp_path / "in"),
        "-o",
        str(tmp_path / "out"),
        "-s",
        "4",
        "-m",
        str(random_model),
        "--engine",
        "ray",
        "--ray-address",
        address,
        "--workers",
        "1",
        "-q",
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment)
    deadline = time.monotonic() + 120
    while not (tmp_path / "out").is_dir() or not any(p.suffix == ".png" for p in (tmp_path / "out").iterdir()):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "no output appeared"
        time.sleep(0.05)
    workers = _worker_pids()
    assert workers, "no Ray worker process found"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)  # mid-file: the next file is being written
    stderr = process.communicate(timeout=300)[1]
    assert process.returncode == 0, stderr
    assert not [line for line in stderr.splitlines() if line.startswith("Error")]  # (Ray says it retried)
    finished = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert finished == [f"{i:02d}_x4.png" for i in range(12)]  # and no temporary left behind
    local = srcnn(
        "upscale",
        tmp_path / "in",
        "-o",
        tmp_path / "local",
        "-s",
        "4",
        "-m",
        random_model,
        "-q",
        environment=environment,
    )
    assert local.returncode == 0
    for name in finished:
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name


def test_the_driver_killed_mid_batch_leaves_no_partial_output_and_a_rerun_finishes(cluster, tmp_path, random_model):
    address, environment = cluster
    photos(tmp_path / "in", 10, size=(320, 240))
    command = [
        sys.executable,
        "-m",
        "srcnn_cli",
        "upscale",
        str(tmp_path / "in"),
        "-o",
        str(tmp_path / "out"),
        "-s",
        "4",
        "-m",
        str(random_model),
        "--engine",
        "ray",
        "--ray-address",
        address,
        "-q",
    ]
    driver = subprocess.Popen(command, stderr=subprocess.DEVNULL, env=environment)
    deadline = time.monotonic() + 120
    while not (tmp_path / "out").is_dir() or not any(p.suffix == ".png" for p in (tmp_path / "out").iterdir()):
        assert driver.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    driver.kill()  # kill -9: its workers go with it
    driver.wait()
    time.sleep(2)
    done = [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]
    assert 0 < len(done) < 10
    for path in done:  # whatever is there is whole
        with Image.open(path) as image:
            image.load()
    rerun = srcnn(*command[3:], environment=environment)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{i:02d}_x4.png" for i in range(10)]


_DATASET_RUN = """
import sys
from pathlib import Path
import ray
from srcnn_cli.batch import upscale_encoded
from srcnn_cli.distributed import shutdown, upscale_dataset
from srcnn_cli.pipeline import Upscaler

address, model, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
paths = sorted(folder.glob("0*.png"))
ray.init(address=address, log_to_driver=False)
local = Upscaler(model, scale=2)
expected = {str(p): upscale_encoded(p.read_bytes(), local.upscale, fmt="PNG")[0] for p in paths}
by_path = ray.data.from_items([{"path": str(p)} for p in [*paths, folder / "bad.png"]])
rows = {row["path"]: row for row in upscale_dataset(by_path, "path", model=model, scale=2).iter_rows()}
for path, encoded in expected.items():
    assert rows[path]["upscaled"] == encoded and rows[path]["error"] == "", path
assert rows[str(folder / "bad.png")]["error"].startswith("not an image in a format srcnn reads")
by_bytes = ray.data.from_items([{"name": str(p), "image": p.read_bytes()} for p in paths])
count = 0
for row in upscale_dataset(by_bytes, "image", model=model, scale=2).iter_rows():
    assert row["upscaled"] == expected[row["name"]]
    count += 1
shutdown()
print("checked", len(rows), count)
"""


def test_upscale_dataset_of_paths_and_of_bytes(cluster, tmp_path, identity_model):
    address, environment = cluster
    photos(tmp_path / "in", 3)
    (tmp_path / "in" / "bad.png").write_text("not an image")
    done = subprocess.run(
        [sys.executable, "-c", _DATASET_RUN, address, str(identity_model), str(tmp_path / "in")],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["checked", "4", "3"]


def test_engine_options_are_checked_before_any_work(tmp_path, identity_model, monkeypatch):
    photos(tmp_path / "in", 1)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["upscale", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--workers", "2", "-m", str(identity_model)]
    )
    assert result.exit_code == 2 and "--workers needs --engine ray" in result.output
    result = runner.invoke(cli, ["upscale", "-", "--engine", "ray", "-m", str(identity_model)], input=b"")
    assert result.exit_code == 2 and "--engine ray reads and writes files" in result.output
    result = runner.invoke(
        cli,
        [
            "upscale",
            str(tmp_path / "in"),
            "-o",
            str(tmp_path / "out"),
            "--engine",
            "ray",
            "--ray-address",
            "127.0.0.1:1",
            "-m",
            str(identity_model),
        ],
    )
    assert result.exit_code == 1
    assert result.output == "Error: cannot reach the Ray cluster at 127.0.0.1:1: Connection refused\n"
    assert not (tmp_path / "out").exists()
    monkeypatch.setattr("srcnn_cli.distributed.ray_installed", lambda: False)
    result = runner.invoke(
        cli,
        ["upscale", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--engine", "ray", "-m", str(identity_model)],
    )
    assert result.exit_code == 1
    assert result.output == "Error: --engine ray needs Ray: pip install \".[ray]\" from a clone, or 'srcnn-cli[ray]'\n"
    assert not (tmp_path / "out").exists()
