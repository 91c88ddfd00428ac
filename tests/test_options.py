"""One set of flags: shared options mean the same in every subcommand, the aliases from other
upscalers work, a model's name sets its scale, and every help screen ends with examples."""

import json

import click
import pytest
from click.testing import CliRunner
from PIL import Image

from srcnn_cli.cli import cli

COMMANDS = ["upscale", "eval", "bench", "train", "export", "models", "convert-mat"]


@pytest.fixture
def runner():
    return CliRunner()


def params(command: str) -> dict[str, click.Parameter]:
    return {p.name: p for p in cli.commands[command].params}


def test_shared_options_have_one_meaning_everywhere():
    for name in ("scales", "device", "gpu", "threads", "quiet", "model"):
        found = {c: params(c)[name] for c in COMMANDS if name in params(c)}
        assert len(found) >= 3, name
        first = next(iter(found.values()))
        for command, param in found.items():
            assert param.opts == first.opts, (name, command)
            assert param.callback is first.callback, (name, command)  # one parser
            if name != "model":  # bench takes a list of models, hence its own default
                assert param.default == first.default, (name, command)
            if name not in ("model", "scales"):  # lists are said where a command takes one
                assert param.help == first.help, (name, command)
    assert params("upscale")["device"].default == "auto" and params("eval")["scales"].default == "3"
    assert params("upscale")["tile"].opts == ["-t", "--tile"]


def test_every_help_ends_with_examples(runner):
    for command in ["upscale", "eval", "bench", "train", "compare", "models", "export", "convert-mat"]:
        result = runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0
        tail = result.output.rstrip().split("Examples:")[-1].splitlines()
        assert len(tail) >= 3 and all(line.strip().startswith(("srcnn", "cat ")) for line in tail[1:]), command
    assert "_SRCNN_COMPLETE=bash_source srcnn" in runner.invoke(cli, ["--help"]).output


def test_input_option_and_tile_alias(runner, tmp_path, identity_model):
    Image.new("RGB", (20, 16), (10, 20, 30)).save(tmp_path / "a.png")
    result = runner.invoke(
        cli,
        [
            "upscale",
            "-i",
            str(tmp_path / "a.png"),
            "-o",
            str(tmp_path / "b.png"),
            "-t",
            "16",
            "-m",
            str(identity_model),
        ],
    )
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "b.png").size == (60, 48)
    result = runner.invoke(cli, ["upscale", "-m", str(identity_model)])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "Error: name an input: a file, a folder, a glob, or - for standard input"


def test_gpu_alias_means_cuda_n(runner, tmp_path, identity_model):
    Image.new("RGB", (20, 16)).save(tmp_path / "a.png")
    both = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-g", "1", "--device", "cpu"])
    assert both.exit_code == 2 and "-g 1 and --device cpu contradict each other: give one" in both.output
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("a CUDA build is installed: -g 7 would find out whether GPU 7 exists")
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-g", "7", "-m", str(identity_model)])
    assert result.exit_code == 1 and result.output.startswith("Error: --device cuda:7 asked for CUDA")


def test_a_model_name_sets_its_scale(runner, tmp_path, bundled_weights):
    Image.new("RGB", (20, 16), (10, 20, 30)).save(tmp_path / "a.png")
    result = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-m", "9-5-5_x4"])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "a_x4.png").size == (80, 64) and "trained for" not in result.output
    clash = runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-m", "9-5-5_x4", "-s", "3"])
    assert clash.exit_code == 2
    assert clash.output.splitlines()[-1] == (
        "Error: -m 9-5-5_x4 is an x4 model, but -s asks for x3: drop -s, or name the model without _x4"
    )
    assert (
        runner.invoke(cli, ["upscale", str(tmp_path / "a.png"), "-m", "9-5-5_x4", "-s", "4", "--overwrite"]).exit_code
        == 0
    )


def test_eval_takes_a_list_of_scales_and_upscale_one(runner, tmp_path, identity_model):
    folder = tmp_path / "set"
    folder.mkdir()
    Image.new("RGB", (40, 40), (90, 20, 30)).save(folder / "a.png")
    result = runner.invoke(cli, ["eval", str(folder), "-s", "2,4", "-m", str(identity_model), "--json", "-"])
    assert result.exit_code == 0, result.output
    assert [r["scale"] for r in json.loads(result.output)["results"]] == [2, 4]
    one = runner.invoke(cli, ["upscale", str(folder / "a.png"), "-s", "2,4"])
    assert one.exit_code == 2 and "this command takes one scale" in one.output
    bad = runner.invoke(cli, ["eval", str(folder), "-s", "5"])
    assert bad.exit_code == 2 and "scales must be among 2, 3, 4" in bad.output
