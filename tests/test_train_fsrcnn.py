"""FSRCNN in training: low-resolution sub-images, the network's parameter groups, resume,
export to the low-resolution contract and back (--init), on tiny synthetic data."""

import numpy as np
import pytest
from click.testing import CliRunner

from srcnn_cli.errors import TrainingError
from srcnn_cli.models import canonical_arch, fsrcnn_dims
from srcnn_cli.train.config import TrainConfig

torch = pytest.importorskip("torch", reason="training needs PyTorch (the [train] extra)")

from srcnn_cli.cli import cli  # noqa: E402
from srcnn_cli.train.data import PairSpec, load_subimages  # noqa: E402
from srcnn_cli.train.loop import CHECKPOINT, build_model, build_optimizer, load_checkpoint, train  # noqa: E402


def tiny_config(data, out, **changes) -> TrainConfig:
    settings = dict(
        arch="fsrcnn-8-4-1",
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
        last_layer_lr_ratio=0.1,
    )
    settings.update(changes)
    return TrainConfig(**settings)


@pytest.mark.parametrize(
    "arch, dims, name",
    [
        ("fsrcnn", (56, 12, 4), "fsrcnn"),
        ("FSRCNN-s", (32, 5, 1), "fsrcnn-s"),
        ("fsrcnn-56-12-4", (56, 12, 4), "fsrcnn"),
        ("fsrcnn-8-4-0", (8, 4, 0), "fsrcnn-8-4-0"),
        ("9-5-5", None, "9-5-5"),
    ],
)
def test_arch_names(arch, dims, name):
    assert fsrcnn_dims(arch) == dims and canonical_arch(arch) == name


@pytest.mark.parametrize("arch", ["fsrcnn-56-12", "fsrcnn-0-12-4", "fsrcnn-a-b-c"])
def test_malformed_fsrcnn_names_are_refused(arch):
    with pytest.raises(ValueError, match="an FSRCNN arch is fsrcnn, fsrcnn-s or fsrcnn-D-S-M"):
        TrainConfig(arch=arch).check_arch()


def test_low_resolution_sub_images_sit_under_their_targets(tiny_data):
    inputs, targets, _ = load_subimages([str(tiny_data)], PairSpec(3, 1, 21, 9, "lowres"))
    assert inputs.shape[1:] == (1, 7, 7) and targets.shape[1:] == (1, 21, 21) and len(inputs) == len(targets)
    # the input is the bicubic shrink of its target (to the bicubic's reach across the patch edge)
    from srcnn_cli.resize import imresize

    shrunk = imresize(targets[0, 0].astype(np.float64), 1 / 3)
    assert np.abs(shrunk[2:-2, 2:-2] - inputs[0, 0, 2:-2, 2:-2]).max() < 1e-6
    more, _, _ = load_subimages([str(tiny_data)], PairSpec(3, 1, 21, 9, "lowres", downscale_augment=True))
    assert len(more) > len(inputs)


def test_the_network_owns_its_rates():
    config = TrainConfig(arch="fsrcnn-8-4-1", last_layer_lr_ratio=0.1, lr=1e-3)
    model = build_model(config)
    groups = build_optimizer(config, model).param_groups
    assert [g["lr"] for g in groups] == [1e-3, 1e-4]
    assert sum(p.numel() for g in groups for p in g["params"]) == sum(p.numel() for p in model.parameters())
    assert build_optimizer(
        TrainConfig(arch="fsrcnn", recipe="paper"), build_model(TrainConfig(arch="fsrcnn"))
    ).param_groups[1]["lr"] == pytest.approx(1e-4)


def test_train_resume_export_and_init(tiny_data, tmp_path):
    from srcnn_cli.runtime import Session
    from srcnn_cli.train.export import export_run

    straight = train(tiny_config(tiny_data, tmp_path / "a"), progress=False)
    stopped = train(tiny_config(tiny_data, tmp_path / "b"), max_steps=5, progress=False)
    resumed = train(tiny_config(tiny_data, tmp_path / "b"), resume=True, progress=False)
    assert straight.finished and not stopped.finished and resumed.finished and resumed.step == 12
    a, b = (load_checkpoint(tmp_path / run / CHECKPOINT)["model"] for run in ("a", "b"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-7)

    info, path = export_run(str(tmp_path / "a"), weights_dir=str(tmp_path / "w"), eval_sets=())
    assert (info.name, info.file, info.contract, info.arch, info.default) == (
        "fsrcnn-8-4-1_x3",
        "fsrcnn-8-4-1_x3.onnx",
        "lowres",
        "fsrcnn-8-4-1",
        False,
    )
    model = build_model(tiny_config(tiny_data, tmp_path / "a"))
    model.load_state_dict(a)
    x = np.random.default_rng(0).random((1, 1, 13, 19), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    session = Session(path.read_bytes(), device="cpu")
    np.testing.assert_allclose(session.run(x[0])[None], expected, atol=1e-5)

    # --init from the exported file at another scale: every weight carried over (the
    # deconvolution's too: its taps serve any stride)
    x2 = train(
        tiny_config(tiny_data, tmp_path / "x2", scale=2, patch=20, init=str(path), samples=16),
        max_steps=0,
        progress=False,
    )
    assert not x2.finished
    started = load_checkpoint(tmp_path / "x2" / CHECKPOINT)["model"]
    for name in a:
        torch.testing.assert_close(started[name], a[name], rtol=0, atol=0)


def test_init_across_networks_is_refused_before_the_data(tiny_data, tmp_path):
    train(tiny_config(tiny_data, tmp_path / "f"), progress=False)
    srcnn = tiny_config(tiny_data, tmp_path / "s", arch="5-1-3", n1=8, n2=4, init=str(tmp_path / "f" / CHECKPOINT))
    with pytest.raises(TrainingError, match="--init fsrcnn-8-4-1 cannot start a 5-1-3 run: another network"):
        train(srcnn, progress=False)
    wider = tiny_config(tiny_data, tmp_path / "w", arch="fsrcnn-16-4-1", init=str(tmp_path / "f" / CHECKPOINT))
    with pytest.raises(TrainingError, match="has other widths than fsrcnn-16-4-1"):
        train(wider, progress=False)
    assert not (tmp_path / "s" / "log.csv").exists() and not (tmp_path / "w" / "log.csv").exists()


def test_cli_train_says_what_arch_it_takes(tiny_data, tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--arch",
            "fsrcnn-1-2",
            "--train-dir",
            str(tiny_data),
            "--samples",
            "16",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 2 and "an FSRCNN arch is fsrcnn, fsrcnn-s or fsrcnn-D-S-M" in result.output
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--arch",
            "fsrcnn-8-4-1",
            "--train-dir",
            str(tiny_data),
            "--samples",
            "32",
            "--batch",
            "16",
            "--patch",
            "21",
            "--out",
            str(tmp_path / "r"),
            "--no-export",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert load_checkpoint(tmp_path / "r" / CHECKPOINT)["config"]["last_layer_lr_ratio"] == 0.1
