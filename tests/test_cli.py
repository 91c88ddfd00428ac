import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from srcnn_cli import __version__
from srcnn_cli.cli import cli
from srcnn_cli.models import PSNR_OVER_YCBCR


@pytest.fixture
def runner():
    return CliRunner()


def make_images(folder: Path, names, size=(24, 18)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(folder / name)
    return folder


def test_version(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output == f"srcnn, version {__version__}\n"


def test_single_file_default_name(runner, tmp_path, identity_model):
    make_images(tmp_path, ["photo.png"])
    result = runner.invoke(cli, ["upscale", str(tmp_path / "photo.png"), "-s", "2", "-m", str(identity_model)])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "photo_x2.png") as out:
        assert out.size == (48, 36)
    assert "1 upscaled, 0 skipped, 0 failed" in result.output
    # running again skips the existing output; --overwrite redoes it
    again = runner.invoke(cli, ["upscale", str(tmp_path / "photo.png"), "-s", "2", "-m", str(identity_model)])
    assert again.exit_code == 0 and "output exists (use --overwrite)" in again.output
    forced = runner.invoke(
        cli, ["upscale", str(tmp_path / "photo.png"), "-s", "2", "-m", str(identity_model), "--overwrite"]
    )
    assert forced.exit_code == 0 and "1 upscaled" in forced.output


def test_explicit_output_and_format(runner, tmp_path, identity_model):
    make_images(tmp_path, ["in.png"])
    result = runner.invoke(
        cli,
        [
            "upscale",
            str(tmp_path / "in.png"),
            "-m",
            str(identity_model),
            "-o",
            str(tmp_path / "out.jpg"),
            "--quality",
            "80",
        ],
    )
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.format == "JPEG" and out.size == (72, 54)
    result = runner.invoke(cli, ["upscale", str(tmp_path / "in.png"), "-m", str(identity_model), "-f", "webp", "-q"])
    assert result.exit_code == 0 and result.output == ""
    assert (tmp_path / "in_x3.webp").exists()


def test_folder_needs_output_folder(runner, tmp_path, identity_model):
    make_images(tmp_path / "in", ["a.png"])
    result = runner.invoke(cli, ["upscale", str(tmp_path / "in"), "-m", str(identity_model)])
    assert result.exit_code == 2
    assert "Error: a folder input needs an output folder: add -o OUT_DIR" in result.output


def test_folder_recursive_mirrors_tree(runner, tmp_path, identity_model):
    source = make_images(tmp_path / "in", ["a.png", "b.jpg"])
    make_images(source / "sub dir", ["c ü.png"])
    (source / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    result = runner.invoke(
        cli, ["upscale", str(source), "-o", str(out), "-r", "-s", "2", "-m", str(identity_model), "--suffix", "_big"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "a_big.png",
        "b_big.jpg",
        "sub dir/c ü_big.png",
    ]
    assert f"skipped {source / 'notes.txt'}: not an image" in result.output
    assert "3 upscaled, 1 skipped, 0 failed" in result.output


def test_output_folder_inside_the_input_tree_is_not_an_input(runner, tmp_path, identity_model):
    source = make_images(tmp_path / "in", ["a.png"])
    make_images(source / "sub", ["b.png"])
    args = ["upscale", str(source), "-o", str(source / "big"), "-r", "-s", "2", "-m", str(identity_model)]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0 and "2 upscaled, 0 skipped, 0 failed" in first.output
    rerun = runner.invoke(cli, args)  # used to upscale big/a_x2.png into big/big/a_x2_x2.png
    assert rerun.exit_code == 0 and rerun.output == (
        f"skipped {source / 'a.png'}: output exists (use --overwrite)\n"
        f"skipped {source / 'sub' / 'b.png'}: output exists (use --overwrite)\n"
        "0 upscaled, 2 skipped, 0 failed: nothing to upscale (every input was skipped; --overwrite redoes "
        "existing outputs)\n"
    )
    assert sorted(str(p.relative_to(source)) for p in source.rglob("*.png")) == [
        "a.png",
        "big/a_x2.png",
        "big/sub/b_x2.png",
        "sub/b.png",
    ]


def test_glob_inputs(runner, tmp_path, identity_model):
    make_images(tmp_path, ["a.png", "b.png", "c.bmp"])
    out = tmp_path / "out"
    result = runner.invoke(cli, ["upscale", str(tmp_path / "*.png"), "-o", str(out), "-m", str(identity_model)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a_x3.png", "b_x3.png"]


def test_bad_files_fail_one_by_one(runner, tmp_path, identity_model):
    folder = make_images(tmp_path / "in", ["good.png"])
    (folder / "empty.png").write_bytes(b"")
    (folder / "fake.jpg").write_text("this is text")
    data = (folder / "good.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    make_images(folder, ["huge.png"], size=(300, 300))
    out = tmp_path / "out"
    result = runner.invoke(
        cli, ["upscale", str(folder), "-o", str(out), "-m", str(identity_model), "--max-pixels", "10000"]
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"Error: {folder / 'empty.png'}: empty file (0 bytes)" in lines
    assert (
        f"Error: {folder / 'fake.jpg'}: not an image in a format srcnn reads (PNG, JPEG, TIFF, WebP, BMP or GIF)"
    ) in lines
    assert f"Error: {folder / 'truncated.png'}: truncated PNG (the IDAT chunk runs past the end of the file)" in lines
    assert (
        f"Error: {folder / 'huge.png'}: 300x300 is 90,000 pixels, over the limit of 10,000 (raise it with --max-pixels)"
        in lines
    )
    assert "1 upscaled, 0 skipped, 4 failed" in lines
    assert "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["good_x3.png"]


def test_missing_input_is_reported_and_others_go_on(runner, tmp_path, identity_model):
    make_images(tmp_path, ["a.png"])
    result = runner.invoke(
        cli,
        [
            "upscale",
            str(tmp_path / "a.png"),
            str(tmp_path / "nope.png"),
            "-o",
            str(tmp_path / "out"),
            "-m",
            str(identity_model),
        ],
    )
    assert result.exit_code == 1
    assert f"Error: {tmp_path / 'nope.png'}: no such file or folder" in result.output
    assert "1 upscaled, 0 skipped, 1 failed" in result.output


def test_one_missing_input_with_an_output_file_says_it_is_missing(runner, tmp_path, identity_model):
    # it used to be the usage error "several inputs need -o to be a folder"
    out = str(tmp_path / "out.png")
    result = runner.invoke(cli, ["upscale", str(tmp_path / "nope.png"), "-o", out, "-m", str(identity_model)])
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'nope.png'}: no such file or folder\n0 upscaled, 0 skipped, 1 failed\n"
    result = runner.invoke(cli, ["upscale", str(tmp_path / "*.png"), "-o", out, "-m", str(identity_model)])
    assert result.exit_code == 1 and f"Error: {tmp_path / '*.png'}: no files match this pattern\n" in result.output


def test_a_file_named_twice_is_upscaled_once(runner, tmp_path, identity_model):
    make_images(tmp_path, ["a.png", "b.png"])
    result = runner.invoke(
        cli,
        [
            "upscale",
            str(tmp_path / "a.png"),
            str(tmp_path / "a.png"),
            "-o",
            str(tmp_path / "one.png"),
            "-s",
            "2",
            "-m",
            str(identity_model),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.endswith("1 upscaled, 0 skipped, 0 failed\n") and (tmp_path / "one.png").exists()
    result = runner.invoke(
        cli,
        [
            "upscale",
            str(tmp_path / "*.png"),
            str(tmp_path / "a*"),
            "-o",
            str(tmp_path / "out"),
            "-s",
            "2",
            "-m",
            str(identity_model),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_x2.png", "b_x2.png", "one_x2.png"]


def test_pipes_standard_input_to_standard_output(runner, tmp_path, identity_model):
    make_images(tmp_path, ["a.png"])
    png = (tmp_path / "a.png").read_bytes()
    model = ["-s", "2", "-m", str(identity_model)]
    result = runner.invoke(cli, ["upscale", "-", *model], input=png)  # no -o after -: standard output
    assert result.exit_code == 0, result.stderr
    assert re.fullmatch(r"<stdin> -> <stdout> \(\d+\.\d s\)\n", result.stderr)
    piped = Image.open(io.BytesIO(result.stdout_bytes))
    assert piped.format == "PNG" and piped.size == (48, 36)
    # the same pixels as the file route
    assert (
        runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "b.png"), *model]).exit_code == 0
    )
    assert np.array_equal(np.asarray(piped), np.asarray(Image.open(tmp_path / "b.png")))
    # a file to standard output in another format; standard input to a file
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-o", "-", "-f", "jpg", "-q", *model])
    assert (
        result.exit_code == 0 and result.stderr == "" and Image.open(io.BytesIO(result.stdout_bytes)).format == "JPEG"
    )
    result = runner.invoke(cli, ["upscale", "-", "-o", str(tmp_path / "c.tif"), *model], input=png)
    assert result.exit_code == 0 and Image.open(tmp_path / "c.tif").size == (48, 36)
    result = runner.invoke(cli, ["upscale", "-", "-o", str(tmp_path / "c.tif"), *model], input=png)
    assert result.exit_code == 0 and result.stderr == "skipped <stdin>: output exists (use --overwrite)\n"


def test_pipe_errors(runner, tmp_path, identity_model):
    make_images(tmp_path, ["a.png"])
    model = ["-s", "2", "-m", str(identity_model)]
    result = runner.invoke(cli, ["upscale", "-", *model], input=b"")
    assert result.exit_code == 1 and result.stderr == "Error: <stdin>: empty file (0 bytes)\n"
    result = runner.invoke(cli, ["upscale", "-", *model], input=b"GIF89a broken")
    assert result.exit_code == 1 and result.stderr.startswith("Error: <stdin>: ") and result.stdout_bytes == b""
    result = runner.invoke(cli, ["upscale", "-", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), *model])
    assert result.exit_code == 2
    assert "standard input (-) and standard output (-o -) take exactly one image" in result.stderr
    result = runner.invoke(cli, ["upscale", str(tmp_path), "-o", "-", *model])
    assert result.exit_code == 2 and "-o - (standard output) takes one image file, not a folder" in result.stderr
    result = runner.invoke(cli, ["upscale", str(tmp_path / "none.png"), "-o", "-", *model])
    assert result.exit_code == 1 and result.stderr == f"Error: {tmp_path / 'none.png'}: no such file\n"
    assert not (tmp_path / "-").exists()  # -o - used to make a folder called "-"
    png = (tmp_path / "a.png").read_bytes()
    result = runner.invoke(cli, ["upscale", "-", "-o", str(tmp_path / "a.png" / "b.png"), *model], input=png)
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: cannot write {tmp_path / 'a.png' / 'b.png'}: {tmp_path / 'a.png'} is a file, not a folder\n"
    )
    result = runner.invoke(cli, ["upscale", "-", "-o", str(tmp_path), *model], input=png)
    assert result.exit_code == 2 and f"Invalid value for --output: {tmp_path} is a folder" in result.stderr
    result = runner.invoke(cli, ["upscale", "-", "-o", str(tmp_path / "new" / "b.png"), *model], input=png)
    assert result.exit_code == 0 and (tmp_path / "new" / "b.png").exists()


def test_a_format_that_contradicts_the_output_name(runner, tmp_path, identity_model):
    make_images(tmp_path, ["a.png"])
    result = runner.invoke(
        cli, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "b.png"), "-f", "jpg", "-m", str(identity_model)]
    )
    assert result.exit_code == 2 and "-f jpg does not match b.png: drop -f or name the file b.jpg" in result.output
    assert not (tmp_path / "b.png").exists()
    for name, fmt in (("b.jpeg", "jpg"), ("b.TIF", "tiff"), ("b.out", "png")):  # the same format, or a free name
        result = runner.invoke(
            cli,
            [
                "upscale",
                str(tmp_path / "a.png"),
                "-o",
                str(tmp_path / name),
                "-f",
                fmt,
                "-s",
                "2",
                "-m",
                str(identity_model),
                "-q",
            ],
        )
        assert result.exit_code == 0, result.output
        assert Image.open(tmp_path / name).format == {"jpg": "JPEG", "tiff": "TIFF", "png": "PNG"}[fmt]


def test_a_suffix_cannot_move_the_output(runner, tmp_path, identity_model):
    make_images(tmp_path, ["a.png"])
    result = runner.invoke(
        cli,
        [
            "upscale",
            str(tmp_path / "a.png"),
            "-o",
            str(tmp_path / "out"),
            "--suffix",
            "/../../x",
            "-m",
            str(identity_model),
        ],
    )
    assert result.exit_code == 2
    assert "--suffix '/../../x' cannot hold a path separator: it ends a file name" in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "x.png").exists()


def test_input_is_never_overwritten(runner, tmp_path, identity_model):
    make_images(tmp_path, ["a.png"])
    before = (tmp_path / "a.png").read_bytes()
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "--suffix", "", "-m", str(identity_model)])
    assert result.exit_code == 2 and "would overwrite its input" in result.output
    result = runner.invoke(
        cli, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "a.png"), "-m", str(identity_model)]
    )
    assert result.exit_code == 2
    assert (tmp_path / "a.png").read_bytes() == before


def test_alpha_into_jpeg_is_an_error(runner, tmp_path, identity_model):
    Image.fromarray(np.zeros((10, 10, 4), np.uint8)).save(tmp_path / "t.png")
    result = runner.invoke(cli, ["upscale", str(tmp_path / "t.png"), "-m", str(identity_model), "-f", "jpg"])
    assert result.exit_code == 1
    assert "JPEG cannot store transparency: write PNG, WEBP or TIFF instead (-f png)" in result.output
    assert not (tmp_path / "t_x3.jpg").exists()


def test_model_errors(runner, tmp_path, identity_model, bundled_weights):
    make_images(tmp_path, ["a.png"])
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-m", str(tmp_path / "none.onnx")])
    assert result.exit_code == 1 and f"Error: model file not found: {tmp_path / 'none.onnx'}" in result.output
    (tmp_path / "bad.onnx").write_bytes(b"garbage")
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-m", str(tmp_path / "bad.onnx")])
    assert result.exit_code == 1 and f"Error: cannot load {tmp_path / 'bad.onnx'}" in result.output
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-m", "9-1-5"])  # a usage error, before any work
    assert result.exit_code == 2 and "Error: no bundled model 9-1-5 at x3 (y); available: 9-5-5_x2" in result.output
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-m", ""])
    assert result.exit_code == 2
    assert result.output.endswith("Error: an empty model name ('') names no model: leave -m out for the default\n")
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-m", str(tmp_path)])  # exists, not a file
    assert (
        result.exit_code == 1
        and result.output == f"Error: {tmp_path} is not a model file (a folder, a device or a pipe)\n"
    )
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "--device", "tpu"])
    assert result.exit_code == 2 and "Error: Invalid value for '--device': unknown device 'tpu'" in result.output
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-s", "1"])
    assert result.exit_code == 2 and "a scale is a factor above 1" in result.output
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-s", "5"])  # x4, x2, then bicubic
    assert result.exit_code == 0 and Image.open(tmp_path / "a_x5.png").size == (120, 90)


def test_models_listing(runner, bundled_weights):
    result = runner.invoke(cli, ["models", "--json"])
    assert result.exit_code == 0
    entries = json.loads(result.output)
    assert [e["name"] for e in entries] == ["9-5-5_x2", "9-5-5_x3", "9-5-5_x4"]
    for entry in entries:
        assert {"name", "arch", "n1", "n2", "scale", "channels", "path", "sha256", "psnr"} <= set(entry)
        assert Path(entry["path"]).is_absolute() and Path(entry["path"]).is_file()
    table = runner.invoke(cli, ["models"])
    assert table.exit_code == 0 and "Table 5" not in table.output
    lines = table.output.splitlines()
    assert lines[2] == "9-5-5_x3               bundled  9-5-5       x3   1 bicubic      yes    30.00"
    assert max(len(line) for line in lines) <= 80  # paths only with -v or --json
    verbose = runner.invoke(cli, ["models", "-v"]).output.splitlines()
    assert verbose[4] == f"  {bundled_weights.resolve() / '9-5-5_x3.onnx'}"


def test_user_models_are_listed_and_used_beside_the_bundled(runner, bundled_weights, tmp_path, monkeypatch):
    import hashlib

    user = tmp_path / "mine"
    user.mkdir()
    data = (bundled_weights / "9-5-5_x3.onnx").read_bytes()
    (user / "sharp.onnx").write_bytes(data)
    entry = {
        "name": "sharp",
        "arch": "9-5-5",
        "n1": 8,
        "n2": 4,
        "scale": 3,
        "channels": 1,
        "file": "sharp.onnx",
        "sha256": hashlib.sha256(data).hexdigest(),
        "default": True,
        "psnr": {"Set5": 31.0},
    }
    (user / "manifest.json").write_text(json.dumps({"format": 2, "models": [entry]}))
    monkeypatch.setenv("SRCNN_MODELS", str(user))
    lines = runner.invoke(cli, ["models"]).output.splitlines()
    assert lines[-3] == "sharp                  user     9-5-5       x3   1 bicubic      yes    31.00"
    from srcnn_cli.models import all_models, find_bundled, resolve_model

    assert find_bundled(None, 3, 1, all_models()).name == "9-5-5_x3"  # defaults stay bundled
    assert resolve_model("sharp", 3).info.origin == "user"
    make_images(tmp_path / "in", ["a.png"])
    result = runner.invoke(cli, ["upscale", str(tmp_path / "in" / "a.png"), "-m", "sharp"])
    assert result.exit_code == 0, result.output


def test_models_listing_marks_the_colour_measure(runner):
    # the real bundled zoo: its RGB model's PSNR is over Y, Cb and Cr, and says so
    table = runner.invoke(cli, ["models"])
    rgb_line = next(line for line in table.output.splitlines() if line.startswith("9-1-5_x3_rgb"))
    y_line = next(line for line in table.output.splitlines() if line.startswith("9-5-5_x3 "))
    assert table.exit_code == 0 and rgb_line.endswith("*") and "*" not in y_line
    assert table.output.rstrip().endswith(
        "* PSNR over Y, Cb and Cr together, as the paper's Table 5 (the others: Y only)"
    )


def test_models_listing_footnote_only_with_a_star(runner, bundled_weights):
    # a colour model scored without Set5 shows "-" in the Set5 column: no star, so no footnote
    manifest = json.loads((bundled_weights / "manifest.json").read_text())
    colour = dict(
        manifest["models"][1],
        name="9-1-5_x3_rgb",
        channels=3,
        default=False,
        psnr={"Set14": 33.0},
        psnr_measure=PSNR_OVER_YCBCR,
    )
    manifest["models"].append(colour)
    (bundled_weights / "manifest.json").write_text(json.dumps(manifest))
    table = runner.invoke(cli, ["models"])
    rgb_line = next(line for line in table.output.splitlines() if line.startswith("9-1-5_x3_rgb"))
    assert table.exit_code == 0 and rgb_line.endswith("       -")
    assert "*" not in table.output and "Table 5" not in table.output
    colour["psnr"] = {"Set5": 36.5, "Set14": 33.0}
    (bundled_weights / "manifest.json").write_text(json.dumps(manifest))
    table = runner.invoke(cli, ["models"])
    assert table.exit_code == 0 and "36.50*" in table.output and "Table 5" in table.output


def test_python_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "srcnn_cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"srcnn, version {__version__}"


def test_kill_minus_nine_leaves_no_half_written_output(tmp_path, identity_model):
    """A batch killed at any moment leaves only complete outputs; a rerun finishes the rest."""
    source = make_images(tmp_path / "in", [f"img{i:02d}.png" for i in range(24)], size=(600, 480))
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "srcnn_cli",
        "upscale",
        str(source),
        "-o",
        str(out),
        "-m",
        str(identity_model),
        "-q",
    ]
    process = subprocess.Popen(command)
    deadline = time.monotonic() + 120
    while not (out.exists() and len([p for p in out.iterdir() if p.suffix == ".png"]) >= 3):
        assert process.poll() is None, "the batch ended before it could be killed: the test proves nothing"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    for path in out.iterdir():
        if path.suffix == ".png":
            with Image.open(path) as image:
                image.load()  # a complete, decodable file
                assert image.size == (1800, 1440)
    assert len([p for p in out.iterdir() if p.suffix == ".png"]) < 24  # killed mid-batch
    rerun = subprocess.run(command, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"img{i:02d}_x3.png" for i in range(24)]


def test_conversion_warnings_are_shown(runner, tmp_path, identity_model):
    Image.fromarray(np.full((10, 12, 3), 90, np.uint8)).convert("CMYK").save(tmp_path / "c.jpg")
    result = runner.invoke(cli, ["upscale", str(tmp_path / "c.jpg"), "-m", str(identity_model)])
    assert result.exit_code == 0
    assert f"Warning: {tmp_path / 'c.jpg'}: converted CMYK to RGB" in result.output
    with Image.open(tmp_path / "c_x3.jpg") as out:
        assert out.mode == "RGB" and out.size == (36, 30)


def test_the_next_files_network_starts_while_the_file_before_is_written(tmp_path, monkeypatch):
    """The last band's encoding and the file's closing overlap the next file's network; one
    network at a time, the results in the jobs' order, a failed file frees the network too."""
    import threading

    from srcnn_cli.batch import BatchOptions, Job, run_batch
    from srcnn_cli.pipeline import Stream

    for name in "abc":
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / f"{name}.png")
    started = {name: threading.Event() for name in "abc"}
    calls, networks_done, done_at_each_start = [], [], []

    def stream(pixels, on_tile=None):
        name = "abc"[len(calls)]
        calls.append(name)
        done_at_each_start.append(len(networks_done))
        started[name].set()

        def bands():  # the network's work: done when its last band is handed on
            networks_done.append(name)
            if name == "b":
                raise RuntimeError("network failed")
            yield np.zeros((8, 8, 3), np.uint8)

        return Stream((8, 8, 3), np.uint8, bands())

    overlapped = []

    def write(target, image, **kwargs):
        list(image.bands)
        following = {"a_x2.png": "b"}.get(target.name)
        if following:  # the next network must start before this file is done
            overlapped.append(started[following].wait(timeout=5))
        return []

    monkeypatch.setattr("srcnn_cli.batch.write_image", write)
    jobs = [Job(tmp_path / f"{n}.png", tmp_path / f"{n}_x2.png") for n in "abc"]
    results = run_batch(jobs, stream, BatchOptions())
    assert [(r.source.name, r.status) for r in results] == [("a.png", "done"), ("b.png", "failed"), ("c.png", "done")]
    assert "network failed" in results[1].message
    assert overlapped == [True] and calls == ["a", "b", "c"]
    assert done_at_each_start == [0, 1, 2]  # each network starts once the one before is done


def test_each_named_model_and_channel_choice_has_its_own_default_name(runner, tmp_path, monkeypatch):
    """The README's examples (the default, then -m 9-1-5, then --channels rgb) all wrote
    photo_x3.png, and the later ones were skipped with exit 0: the model asked for never ran.
    Each names itself now, and every one of those outputs is known as srcnn's own."""
    import hashlib

    from srcnn_cli.onnxmodel import identity_layers, srcnn_onnx_bytes

    folder = tmp_path / "weights"
    folder.mkdir()
    entries = []
    for name, arch, channels, default in (
        ("9-5-5_x3", "9-5-5", 1, True),
        ("9-1-5_x3", "9-1-5", 1, False),
        ("9-1-5_x3_rgb", "9-1-5", 3, False),
    ):
        data = srcnn_onnx_bytes(identity_layers(n1=8, n2=8, channels=channels))
        (folder / f"{name}.onnx").write_bytes(data)
        entries.append(
            {
                "name": name,
                "arch": arch,
                "n1": 8,
                "n2": 8,
                "scale": 3,
                "channels": channels,
                "file": f"{name}.onnx",
                "sha256": hashlib.sha256(data).hexdigest(),
                "default": default,
            }
        )
    (folder / "manifest.json").write_text(json.dumps({"format": 3, "models": entries}))
    monkeypatch.setenv("SRCNN_WEIGHTS_DIR", str(folder))
    source = make_images(tmp_path / "in", ["photo.png"])
    for extra in ([], ["-m", "9-1-5"], ["--channels", "rgb"], ["-m", "9-5-5"]):
        result = runner.invoke(cli, ["upscale", str(source / "photo.png"), *extra])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in source.iterdir()) == [
        "photo.png",
        "photo_x3.png",
        "photo_x3_9-1-5.png",
        "photo_x3_rgb.png",
    ]
    again = runner.invoke(cli, ["upscale", str(source), "-o", str(source), "-m", "9-1-5"])
    assert again.exit_code == 0
    assert "skipped " + str(source / "photo_x3_rgb.png") + ": an output of srcnn for" in again.output
    assert "skipped " + str(source / "photo_x3.png") + ": an output of srcnn for" in again.output
    assert again.output.endswith(
        "0 upscaled, 4 skipped, 0 failed: nothing to upscale (every input was skipped; "
        "--overwrite redoes existing outputs)\n"
    )


def test_a_user_model_carries_its_scale(runner, tmp_path, monkeypatch, identity_model):
    """After training at x2 and the export, `-m mine` ran x2 twice and shrank the result to the
    default x3; a user model now sets its scale as 9-5-5_x4 does, and -s still wins."""
    import hashlib

    user = tmp_path / "mine"
    user.mkdir()
    data = identity_model.read_bytes()
    (user / "mine.onnx").write_bytes(data)
    entry = {
        "name": "mine",
        "arch": "9-5-5",
        "n1": 8,
        "n2": 4,
        "scale": 2,
        "channels": 1,
        "file": "mine.onnx",
        "sha256": hashlib.sha256(data).hexdigest(),
        "default": False,
    }
    (user / "manifest.json").write_text(json.dumps({"format": 3, "models": [entry]}))
    monkeypatch.setenv("SRCNN_MODELS", str(user))
    make_images(tmp_path / "in", ["b.png"], size=(24, 18))
    result = runner.invoke(cli, ["upscale", str(tmp_path / "in" / "b.png"), "-m", "mine"])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "in" / "b_x2_mine.png").size == (48, 36)
    result = runner.invoke(cli, ["upscale", str(tmp_path / "in" / "b.png"), "-m", "mine", "-s", "4"])
    assert result.exit_code == 0 and Image.open(tmp_path / "in" / "b_x4_mine.png").size == (96, 72)


def test_library_errors_speak_python_and_the_command_line_speaks_options(tmp_path, identity_rgb_model):
    """The Python API said `--device` to a caller who had passed device=; each side now names
    what its user typed."""
    from srcnn_cli.cli import in_option_terms
    from srcnn_cli.errors import ModelError
    from srcnn_cli.pipeline import Upscaler

    with pytest.raises(ModelError, match="takes 3 channels, but channels='y' needs a 1-channel model"):
        Upscaler(str(identity_rgb_model), channels="y")
    assert in_option_terms("device='cuda:1' cannot start CUDA; use device='cpu'") == (
        "--device cuda:1 cannot start CUDA; use --device cpu"
    )
    assert in_option_terms("give model_scale=, or an integer scale=") == "give --model-scale, or an integer -s"
    make_images(tmp_path, ["a.png"])
    result = CliRunner().invoke(
        cli, ["upscale", str(tmp_path / "a.png"), "-m", str(identity_rgb_model), "--channels", "y"]
    )
    assert result.exit_code == 1 and "but --channels y needs a 1-channel model" in result.output
