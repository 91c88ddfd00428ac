"""Training tests on tiny synthetic data: seconds, not minutes."""

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

torch = pytest.importorskip("torch")

from srcnn_cli.cli import cli  # noqa: E402
from srcnn_cli.errors import TrainingError  # noqa: E402
from srcnn_cli.models import PSNR_OVER_YCBCR, load_manifest  # noqa: E402
from srcnn_cli.train.config import TrainConfig  # noqa: E402
from srcnn_cli.train.data import PairSpec, extract_patches, load_subimages  # noqa: E402
from srcnn_cli.train.loop import CHECKPOINT, load_checkpoint, train  # noqa: E402


def tiny_config(data, out, **changes) -> TrainConfig:
    settings = dict(
        arch="5-1-3",
        n1=8,
        n2=4,
        scale=3,
        train_dirs=[str(data)],
        patch=21,
        stride=9,
        batch=16,
        samples=16 * 12,
        warmup_samples=32,
        out=str(out),
        threads=1,
        eval_every_s=1e9,
        checkpoint_every_s=1e9,
    )
    settings.update(changes)
    return TrainConfig(**settings)


def test_subimages_are_extracted_once_and_cached(tiny_data):
    inputs, targets, key = load_subimages([str(tiny_data)], PairSpec(3, 1, 21, 9))
    # 48 x 48 images: windows at 0, 9, 18, 27 -> 16 per image
    assert inputs.shape == (48, 1, 21, 21) and targets.shape == inputs.shape
    again = load_subimages([str(tiny_data)], PairSpec(3, 1, 21, 9))
    assert again[2] == key and np.array_equal(again[0], inputs)
    assert extract_patches(np.zeros((1, 5, 5), np.float32), 6, 1).shape == (0, 1, 6, 6)


def test_training_images_too_small_or_unreadable(tiny_data, tmp_path):
    # images without a whole sub-image add none (a 1-pixel row used to crash the downscale)
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tiny_data / "small.png")
    Image.fromarray(np.zeros((1, 300), np.uint8)).save(tiny_data / "row.png")
    assert load_subimages([str(tiny_data)], PairSpec(3, 1, 21, 9))[0].shape == (48, 1, 21, 21)
    only_small = tmp_path / "small"
    only_small.mkdir()
    Image.fromarray(np.zeros((1, 300), np.uint8)).save(only_small / "row.png")
    with pytest.raises(TrainingError, match=r"^every image is smaller than one 21x21 sub-image$"):
        load_subimages([str(only_small)], PairSpec(3, 1, 21, 9))
    (only_small / "empty.png").write_bytes(b"")
    result = CliRunner().invoke(
        cli, ["train", "--train-dir", str(only_small), "--samples", "16", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 1 and result.output == f"Error: {only_small / 'empty.png'}: empty file (0 bytes)\n"


def test_a_bad_init_fails_before_the_data_is_extracted(tiny_data, tmp_path):
    base = ["train", "--train-dir", str(tiny_data), "--samples", "16", "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(cli, [*base, "--init", str(tmp_path / "none.pt")])
    assert result.exit_code == 1
    assert result.output == f"Error: --init checkpoint not found: {tmp_path / 'none.pt'}\n"
    result = CliRunner().invoke(cli, [*base, "--init", str(tiny_data / "t0.png")])
    assert result.exit_code == 1 and result.output == f"Error: {tiny_data / 't0.png'} is not a srcnn-cli checkpoint\n"
    assert not (tmp_path / "cache").exists()  # no sub-images were extracted for a run that cannot start


def test_resume_continues_exactly(tiny_data, tmp_path):
    straight = train(tiny_config(tiny_data, tmp_path / "a"), progress=False)
    assert straight.finished and straight.step == 12
    stopped = train(tiny_config(tiny_data, tmp_path / "b"), max_steps=5, progress=False)
    assert not stopped.finished and stopped.step == 5
    resumed = train(tiny_config(tiny_data, tmp_path / "b"), resume=True, progress=False)
    assert resumed.finished and resumed.step == 12
    a = load_checkpoint(tmp_path / "a" / CHECKPOINT)["model"]
    b = load_checkpoint(tmp_path / "b" / CHECKPOINT)["model"]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-7)


def test_checkpoint_describes_itself(tiny_data, tmp_path):
    train(tiny_config(tiny_data, tmp_path / "run"), progress=False)
    state = load_checkpoint(tmp_path / "run" / CHECKPOINT)
    assert {
        "config",
        "model",
        "optimizer",
        "step",
        "samples",
        "torch_rng",
        "python_rng",
        "data_fingerprint",
        "wall_s",
        "log",
    } <= set(state)
    assert state["config"]["arch"] == "5-1-3" and state["samples"] == 16 * 12
    assert (tmp_path / "run" / "log.csv").read_text().startswith("step,samples,wall_s,loss,lr,val_psnr")
    # the small record kept in git instead of the checkpoint
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["config"] == state["config"] and record["samples"] == state["samples"] == record["total_samples"]


def test_paper_recipe_loss_falls(tiny_data, tmp_path):
    config = tiny_config(tiny_data, tmp_path / "paper", recipe="paper", samples=16 * 60)
    assert not config.augmenting and TrainConfig(recipe="fast").augmenting  # the paper used none
    train(config, progress=False)
    state = load_checkpoint(tmp_path / "paper" / CHECKPOINT)
    groups = state["optimizer"]["param_groups"]
    assert [g["lr"] for g in groups] == [1e-4, 1e-5] and all(g["momentum"] == 0.9 for g in groups)
    weights = state["model"]["conv1.weight"]
    assert 0 < float(weights.std()) < 0.01  # N(0, 0.001) init, barely moved
    losses = [row["loss"] for row in state["log"]]
    assert losses[-1] < 0.5 * losses[0]


def test_validation_psnr_is_logged(tiny_data, tmp_path):
    val = tmp_path / "val"
    val.mkdir()
    Image.open(tiny_data / "t0.png").save(val / "v.png")
    result = train(tiny_config(tiny_data, tmp_path / "v", val_dir=str(val)), progress=False)
    assert result.val_psnr is not None and 5 < result.val_psnr < 60
    assert (tmp_path / "v" / "convergence.png").exists()


def test_export_matches_pytorch_on_a_non_square_input(tiny_data, tmp_path):
    from srcnn_cli.models import load_manifest
    from srcnn_cli.runtime import Session
    from srcnn_cli.train.export import export_run
    from srcnn_cli.train.loop import build_model

    config = tiny_config(tiny_data, tmp_path / "e")
    train(config, progress=False)
    info, path = export_run(
        str(tmp_path / "e"), weights_dir=str(tmp_path / "w"), eval_sets=(), command="srcnn train ..."
    )
    assert path == tmp_path / "w" / info.file and path.is_file()
    assert info.default and info.name == "5-1-3_x3" and info.recipe["samples"] == 16 * 12
    assert info.recipe["device"] == "cpu"
    assert load_manifest(tmp_path / "w")[0].sha256 == info.sha256
    model = build_model(config)
    model.load_state_dict(load_checkpoint(tmp_path / "e" / CHECKPOINT)["model"])
    x = np.random.default_rng(0).random((1, 1, 23, 37), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x), padded=True).numpy()
    session = Session((tmp_path / "w" / info.file).read_bytes(), device="cpu")
    np.testing.assert_allclose(session.run(x[0]), expected[0], atol=1e-5)
    assert session.contract.metadata["srcnn.scale"] == "3"


def test_export_goes_to_the_user_folder_and_never_touches_the_bundled_weights(tiny_data, tmp_path, monkeypatch):
    from srcnn_cli.models import all_models, load_manifest, weights_dir

    bundled_before = {p.name: p.read_bytes() for p in weights_dir().iterdir() if p.is_file()}
    monkeypatch.setenv("SRCNN_MODELS", str(tmp_path / "mine"))
    train(tiny_config(tiny_data, tmp_path / "my_run"), progress=False)
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "my_run"), "--eval-sets", ""])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"exported my_run to {tmp_path / 'mine' / 'my_run.onnx'}")
    assert {p.name: p.read_bytes() for p in weights_dir().iterdir() if p.is_file()} == bundled_before
    mine = load_manifest(tmp_path / "mine", origin="user")
    assert [(m.name, m.default, m.origin) for m in mine] == [("my_run", False, "user")]
    assert "my_run" in [m.name for m in all_models()]
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "my_run"), "--name", "sharp", "--eval-sets", ""])
    assert result.exit_code == 0 and [m.name for m in load_manifest(tmp_path / "mine")] == ["my_run", "sharp"]
    clash = CliRunner().invoke(cli, ["export", str(tmp_path / "my_run"), "--name", "9-5-5_x3", "--eval-sets", ""])
    assert clash.exit_code == 1
    assert clash.output == "Error: 9-5-5_x3 is the name of a bundled model: give the export another with --name\n"


def test_cli_train_errors(tiny_data, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["train", "--train-dir", str(tiny_data), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "give a budget: --samples N or --minutes M" in result.output
    result = runner.invoke(
        cli,
        ["train", "--arch", "9-4-5", "--samples", "16", "--train-dir", str(tiny_data), "--out", str(tmp_path / "r")],
    )
    assert result.exit_code == 2 and "three odd sizes" in result.output
    args = [
        "train",
        "--arch",
        "5-1-3",
        "--n1",
        "8",
        "--n2",
        "4",
        "--patch",
        "21",
        "--stride",
        "9",
        "--batch",
        "16",
        "--samples",
        "32",
        "--train-dir",
        str(tiny_data),
        "--out",
        str(tmp_path / "r"),
        "--weights-dir",
        str(tmp_path / "w"),
        "-q",
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"exported 5-1-3_x3 to {tmp_path / 'w' / 'srcnn_5-1-3_x3.onnx'}" in result.output
    result = runner.invoke(cli, args)
    assert result.exit_code == 1 and "already holds a run; pass --resume" in result.output
    result = runner.invoke(
        cli, ["train", "--train-dir", str(tmp_path / "none"), "--samples", "16", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 1 and "Error: training folder not found" in result.output
    result = runner.invoke(
        cli, ["train", "--arch", "9x5", "--samples", "16", "--train-dir", str(tiny_data), "--out", str(tmp_path / "r2")]
    )
    assert result.exit_code == 2 and "arch must be three odd sizes like 9-5-5, or fsrcnn, got '9x5'" in result.output


def test_settings_that_cannot_train_fail_before_the_run(tiny_data, tmp_path):
    # 5-1-3 shrinks a sub-image by 2 + 0 + 1 pixels a side: 7 is the smallest that leaves an output
    with pytest.raises(TrainingError, match="^--patch 6 leaves no output for 5-1-3: it needs at least 7$"):
        train(tiny_config(tiny_data, tmp_path / "r", patch=6), progress=False)
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--train-dir",
            str(tiny_data),
            "--samples",
            "16",
            "--out",
            str(tmp_path / "r"),
            "--val-dir",
            str(tmp_path / "no-such-folder"),
        ],
    )
    assert result.exit_code == 1
    assert result.output == f"Error: validation folder not found: {tmp_path / 'no-such-folder'}\n"
    assert not (tmp_path / "r").exists()  # nothing was started


def test_resume_goes_on_when_the_validation_folder_moved(tiny_data, tmp_path):
    val = tmp_path / "val"
    val.mkdir()
    Image.open(tiny_data / "t0.png").save(val / "v.png")
    config = tiny_config(tiny_data, tmp_path / "r", val_dir=str(val))
    train(config, max_steps=4, progress=False)
    (val / "v.png").unlink()
    val.rmdir()
    with pytest.warns(UserWarning, match="validation folder not found: .*; continuing without validation"):
        result = train(config, resume=True, progress=False)
    assert result.finished and result.val_psnr is None
    assert load_checkpoint(tmp_path / "r" / CHECKPOINT)["config"]["val_dir"] == str(val)  # the record is kept


def test_minutes_budget_becomes_a_sample_budget(tiny_data, tmp_path):
    import time

    started = time.monotonic()
    result = train(tiny_config(tiny_data, tmp_path / "m", samples=0, minutes=0.05), progress=False)
    elapsed = time.monotonic() - started
    state = load_checkpoint(tmp_path / "m" / CHECKPOINT)
    assert result.finished and state["total_samples"] == result.samples > 0
    assert elapsed < 20  # a 3-second budget, with room for a slow machine


def test_minutes_budget_follows_a_change_of_speed(tiny_data, tmp_path, monkeypatch):
    # A fake clock: each step takes 0.1 s until step 40, then 0.4 s (another job took the CPU).
    # A budget fixed by the first probe would run ~4x past the 30 s; re-estimating keeps it close.
    from srcnn_cli.train import loop

    clock = {"now": 0.0, "steps": 0}

    def fake_monotonic():
        return clock["now"]

    real_step = loop.torch.optim.Adam.step

    def slow_step(self, *args, **kwargs):
        clock["now"] += 0.1 if clock["steps"] < 40 else 0.4
        clock["steps"] += 1
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(loop.time, "monotonic", fake_monotonic)
    monkeypatch.setattr(loop.torch.optim.Adam, "step", slow_step)
    result = train(tiny_config(tiny_data, tmp_path / "m", samples=0, minutes=0.5), progress=False)
    assert result.finished
    assert 27 <= result.wall_s <= 33, result.wall_s


def test_identity_init_starts_at_bicubic():
    from srcnn_cli.train.model import SRCNN

    for channels in (1, 3):
        model = SRCNN((9, 1, 5), 64, 32, channels)
        model.identity_init()
        x = torch.rand(2, channels, 30, 26) - 0.1  # bicubic overshoots below 0: kept by the x/-x carry
        with torch.no_grad():
            torch.testing.assert_close(model(x, padded=True), x, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="n1 and n2 of at least 6"):
        SRCNN((9, 1, 5), 4, 4, 3).identity_init()


def test_init_from_another_middle_filter_size(tiny_data, tmp_path):
    from torch.nn import functional as F

    from srcnn_cli.errors import TrainingError
    from srcnn_cli.train.loop import build_model

    train(tiny_config(tiny_data, tmp_path / "src", arch="5-3-3"), progress=False)
    source_state = load_checkpoint(tmp_path / "src" / CHECKPOINT)
    source = build_model(TrainConfig(**source_state["config"]))
    source.load_state_dict(source_state["model"])
    init = str(tmp_path / "src" / CHECKPOINT)
    train(tiny_config(tiny_data, tmp_path / "small", init=init), max_steps=0, progress=False)
    small = build_model(tiny_config(tiny_data, tmp_path))  # 5-1-3
    small.load_state_dict(load_checkpoint(tmp_path / "small" / CHECKPOINT)["model"])
    for name in ("conv1", "conv3"):
        torch.testing.assert_close(getattr(small, name).weight, getattr(source, name).weight)
    # the fitted 1 x 1 layer tracks the trained 3 x 3 one better than its centre tap does
    inputs, _, _ = load_subimages([str(tiny_data)], PairSpec(3, 1, 21, 9))
    with torch.no_grad():
        features = F.relu(source.conv1(torch.from_numpy(np.array(inputs))))
        wanted = source.conv2(features)
        fitted = small.conv2(features[:, :, 1:-1, 1:-1])
        centre = F.conv2d(features[:, :, 1:-1, 1:-1], source.conv2.weight[:, :, 1:2, 1:2], source.conv2.bias)
    assert F.mse_loss(fitted, wanted) < 0.5 * F.mse_loss(centre, wanted)

    with pytest.raises(TrainingError, match=r"same f1, f3, n1, n2 and channels \(layer 1"):
        train(tiny_config(tiny_data, tmp_path / "a", n1=6, init=init), progress=False)
    with pytest.raises(TrainingError, match="can shrink the middle filter, not grow it"):
        train(tiny_config(tiny_data, tmp_path / "b", arch="5-5-3", init=init), progress=False)
    with pytest.raises(TrainingError, match="--init checkpoint not found"):
        train(tiny_config(tiny_data, tmp_path / "c", init=str(tmp_path / "none.pt")), progress=False)


def test_init_from_an_onnx_model_or_a_bundled_name(tiny_data, tmp_path, monkeypatch):
    """A shipped model continues with nothing but the package: no checkpoint needed."""
    import hashlib

    from srcnn_cli.models import ModelInfo
    from srcnn_cli.train.export import checkpoint_onnx_bytes, write_manifest

    train(tiny_config(tiny_data, tmp_path / "src"), progress=False)
    source = load_checkpoint(tmp_path / "src" / CHECKPOINT)["model"]
    data, _ = checkpoint_onnx_bytes(load_checkpoint(tmp_path / "src" / CHECKPOINT))
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "m.onnx").write_bytes(data)
    write_manifest(weights, [ModelInfo("5-1-3_x3", "5-1-3", 8, 4, 3, 1, "m.onnx", hashlib.sha256(data).hexdigest())])
    monkeypatch.setenv("SRCNN_WEIGHTS_DIR", str(weights))
    for run, init in (("from_file", str(weights / "m.onnx")), ("from_name", "5-1-3_x3"), ("from_arch", "5-1-3")):
        train(tiny_config(tiny_data, tmp_path / run, init=init), max_steps=0, progress=False)
        started = load_checkpoint(tmp_path / run / CHECKPOINT)["model"]
        for name, tensor in source.items():
            torch.testing.assert_close(started[name], tensor)
    with pytest.raises(TrainingError, match="--init model not found: .*none.onnx"):
        train(tiny_config(tiny_data, tmp_path / "a", init=str(tmp_path / "none.onnx")), progress=False)
    with pytest.raises(TrainingError, match="--init 9-9-9: no bundled model 9-9-9 at x3"):
        train(tiny_config(tiny_data, tmp_path / "b", init="9-9-9"), progress=False)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(TrainingError, match="junk.onnx is not a readable ONNX model"):
        train(tiny_config(tiny_data, tmp_path / "c", init=str(tmp_path / "junk.onnx")), progress=False)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on a GPU machine)")


@needs_cuda
def test_cuda_training_follows_the_cpu_run(tiny_data, tmp_path):
    val = tmp_path / "val"
    val.mkdir()
    Image.open(tiny_data / "t0.png").save(val / "v.png")
    on_cpu = train(tiny_config(tiny_data, tmp_path / "cpu", val_dir=str(val)), progress=False)
    stopped = train(
        tiny_config(tiny_data, tmp_path / "gpu", val_dir=str(val), device="cuda"), max_steps=5, progress=False
    )
    assert not stopped.finished
    on_gpu = train(tiny_config(tiny_data, tmp_path / "gpu", device="cuda"), resume=True, progress=False)
    assert on_gpu.finished and on_gpu.step == on_cpu.step
    # Same batches, same augmentations; only the arithmetic differs (cuDNN, TF32 convolutions).
    assert on_gpu.val_psnr == pytest.approx(on_cpu.val_psnr, abs=0.05)
    a = load_checkpoint(tmp_path / "cpu" / CHECKPOINT)
    b = load_checkpoint(tmp_path / "gpu" / CHECKPOINT)
    assert b["model"]["conv1.weight"].device.type == "cpu"  # loads anywhere
    for name in a["model"]:
        torch.testing.assert_close(a["model"][name], b["model"][name], rtol=0, atol=2e-3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(tiny_data, tmp_path):
    result = CliRunner().invoke(
        cli,
        ["train", "--device", "cuda", "--samples", "16", "--train-dir", str(tiny_data), "--out", str(tmp_path / "r")],
    )
    assert result.exit_code == 1
    assert result.output == "Error: --device cuda was asked for but PyTorch sees no CUDA GPU\n"


_SIGTERM_RUN = """
import os, signal, sys, threading, time
from pathlib import Path
from srcnn_cli.train.loop import CHECKPOINT, load_checkpoint, train
from tests.test_train import tiny_config

out = Path(sys.argv[2])
config = tiny_config(Path(sys.argv[1]), out, samples=16 * 10**6, checkpoint_every_s=1e9)

def terminate_once_running():  # the log is written at the first step, inside the loop
    while not (out / "log.csv").exists():
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=terminate_once_running, daemon=True).start()
stopped = train(config, progress=False)
assert not stopped.finished and 0 < stopped.step < 10**6
assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is put back
assert load_checkpoint(out / CHECKPOINT)["step"] == stopped.step  # saved on the way out, not only on the timer
print("stopped at", stopped.step)
"""


def test_sigterm_stops_like_ctrl_c(tiny_data, tmp_path):
    # in a process of its own, as `srcnn train` runs: OpenVINO, which other tests load into this
    # process, and PyTorch were seen to crash together when a signal arrives in a training step
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _SIGTERM_RUN, str(tiny_data), str(tmp_path / "t")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("stopped at")


def test_resume_may_move_a_run_but_not_change_it(tiny_data, tmp_path):
    from srcnn_cli.errors import TrainingError

    train(tiny_config(tiny_data, tmp_path / "r"), max_steps=4, progress=False)
    with pytest.raises(TrainingError, match="lr cannot change when resuming a run"):
        train(tiny_config(tiny_data, tmp_path / "r"), resume=True, progress=False, where={"lr": 1.0})
    result = CliRunner().invoke(
        cli, ["train", "--out", str(tmp_path / "r"), "--resume", "--threads", "2", "--lr", "0.5", "--no-export", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("finished: 192 samples")  # the run's own budget, not a new one
    config = load_checkpoint(tmp_path / "r" / CHECKPOINT)["config"]
    assert config["threads"] == 2 and config["lr"] == 1e-3  # --threads moves it; --lr is ignored


def test_export_to_an_unwritable_place_is_a_clear_error(tiny_data, tmp_path):
    train(tiny_config(tiny_data, tmp_path / "run"), progress=False)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(
        cli, ["export", str(tmp_path / "run"), "--weights-dir", str(blocker / "w"), "--eval-sets", ""]
    )
    assert result.exit_code == 1
    assert result.output == f"Error: cannot write the model to {blocker / 'w'}: Not a directory\n"


def test_missing_checkpoints_are_named_for_what_was_asked(tmp_path):
    result = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / "none"), "--resume"])
    assert result.exit_code == 1
    assert result.output == f"Error: no checkpoint to resume at {tmp_path / 'none' / CHECKPOINT}\n"
    result = CliRunner().invoke(cli, ["export", str(tmp_path), "--weights-dir", str(tmp_path / "w"), "--eval-sets", ""])
    assert result.exit_code == 1
    assert result.output == f"Error: no checkpoint at {tmp_path / CHECKPOINT}\n"


def test_export_keeps_a_missing_test_set_and_the_colour_measure_out_of_the_numbers(tiny_data, tmp_path):
    from srcnn_cli.train.export import export_run

    train(tiny_config(tiny_data, tmp_path / "rgb", channels=3), progress=False)
    info, path = export_run(
        tmp_path / "rgb", weights_dir=tmp_path / "w", eval_sets=("Set5",), data_dir=str(tmp_path / "no-data")
    )
    assert path.is_file() and info.channels == 3
    assert info.psnr == {} and len(info.psnr_skipped) == 1 and info.psnr_skipped[0].startswith("Set5: ")
    assert info.psnr_measure == PSNR_OVER_YCBCR  # what the numbers would be over, once measured
    saved = load_manifest(tmp_path / "w")  # and the manifest keeps both apart from the numbers
    assert saved[0].psnr == {} and saved[0].psnr_skipped == info.psnr_skipped


def test_the_continue_hint_keeps_what_happens_at_the_end(tiny_data, tmp_path, monkeypatch):
    import srcnn_cli.train.loop as loop

    real_train = loop.train
    monkeypatch.setattr(loop, "train", lambda *args, **kw: real_train(*args, max_steps=3, **kw))
    out, weights = tmp_path / "run dir", tmp_path / "my weights"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--arch",
            "5-1-3",
            "--n1",
            "8",
            "--n2",
            "4",
            "--patch",
            "21",
            "--stride",
            "9",
            "--batch",
            "16",
            "--samples",
            "192",
            "--train-dir",
            str(tiny_data),
            "--out",
            str(out),
            "--threads",
            "1",
            "--no-export",
            "--weights-dir",
            str(weights),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    hint = result.output.splitlines()[-1]
    assert hint == "continue with: " + shlex.join(
        ["srcnn", "train", "--out", str(out), "--resume", "--no-export", "--weights-dir", str(weights)]
    )
    monkeypatch.setattr(loop, "train", real_train)
    result = CliRunner().invoke(cli, shlex.split(hint.removeprefix("continue with: "))[1:] + ["-q"])
    assert result.exit_code == 0 and result.output.startswith("finished: 192 samples"), result.output
    assert not weights.exists()  # --no-export held on the resumed run


def test_reserialise_keeps_the_weights_and_metadata():
    """How the bundled files were written again with the blocked last layer: nothing else moves."""
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    from srcnn_cli.onnxmodel import Layer, srcnn_onnx_bytes
    from srcnn_cli.train.export import reserialise

    rng = np.random.default_rng(0)
    layers = [
        Layer(rng.random((4, 1, 5, 5), dtype=np.float32), rng.random(4, dtype=np.float32)),
        Layer(rng.random((1, 4, 3, 3), dtype=np.float32), rng.random(1, dtype=np.float32)),
    ]
    written = srcnn_onnx_bytes(layers, {"srcnn.arch": "5-3", "srcnn.recipe": "test"})
    again = reserialise(written)
    assert again == written
    model = onnx.load_from_string(again)
    tensors = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for index, layer in enumerate(layers, start=1):
        np.testing.assert_array_equal(tensors[f"conv{index}.weight"], layer.weight)
        np.testing.assert_array_equal(tensors[f"conv{index}.bias"], layer.bias)
    assert {p.key: p.value for p in model.metadata_props}["srcnn.recipe"] == "test"
