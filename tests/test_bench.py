import json

import pytest
from click.testing import CliRunner

from srcnn_cli.bench import bench
from srcnn_cli.cli import cli
from srcnn_cli.onnxmodel import srcnn_onnx_bytes
from srcnn_cli.runtime import multiply_adds_per_pixel

from .conftest import random_layers

JSON_KEYS = {
    "model",
    "scale",
    "runtime",
    "ms_median",
    "ms_best",
    "mpix_per_s",
    "gflops",
    "peak_fraction",
    "end_to_end_ms",
    "end_to_end_mpix_per_s",
    "end_to_end_fraction",
    "peak_rss_mib",
    "set14_psnr",
}


def test_multiply_adds_match_the_papers_parameter_counts():
    def count(arch, c=1):
        return multiply_adds_per_pixel(
            {"srcnn.arch": arch, "srcnn.n1": "64", "srcnn.n2": "32", "srcnn.channels": str(c)}
        )

    assert count("9-1-5") == 8032 and count("9-3-5") == 24416 and count("9-5-5") == 57184
    assert multiply_adds_per_pixel({}) is None


@pytest.fixture
def small_model(tmp_path):
    path = tmp_path / "small.onnx"
    path.write_bytes(srcnn_onnx_bytes(random_layers(), {"srcnn.arch": "9-5-5", "srcnn.n1": "16", "srcnn.n2": "8"}))
    return path


def test_bench_report(small_model, monkeypatch):
    from srcnn_cli import bench as bench_module

    # the fraction must be taken against the peak measured in the same run: a known one here
    monkeypatch.setattr(bench_module, "measure_peak", lambda device, threads: (100.0, "test peak"))
    report = bench([str(small_model)], scale=2, size=(64, 48), repeat=2, data_dir=False)
    assert report.device == "cpu" and report.peak_gflops > 0 and report.size == (64, 48)
    (result,) = report.results
    assert result.ms_best <= result.ms_median and result.end_to_end_ms > 0
    assert result.end_to_end_fraction == pytest.approx(result.ms_median / result.end_to_end_ms)
    assert result.end_to_end_mpix_per_s == pytest.approx(64 * 48 / result.end_to_end_ms / 1e3)
    assert result.peak_rss_mib > 10 and result.runtime in ("onnxruntime", "openvino")
    assert report.cpu
    assert result.gflops == pytest.approx(2 * (81 * 16 + 16 * 8 * 25 + 8 * 25) * 64 * 48 / result.ms_median / 1e6)
    assert (report.peak_gflops, report.peak_source) == (100.0, "test peak")
    assert result.peak_fraction == pytest.approx(result.gflops / 100.0)
    assert result.set14_psnr is None


def test_bench_cli_json(small_model, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["bench", "-m", str(small_model), "-s", "2", "--size", "48x32", "--repeat", "1", "--no-psnr", "--json", "-"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"device", "cpu", "size", "threads", "peak_gflops", "results"} <= set(report)
    assert report["size"] == [48, 32] and set(report["results"][0]) == JSON_KEYS
    bad = runner.invoke(cli, ["bench", "--size", "12by7"])
    assert bad.exit_code == 2 and "is not WIDTHxHEIGHT" in bad.output
    huge = runner.invoke(cli, ["bench", "--size", "100000x100000"])  # 37 GB of input alone: refused at once
    assert huge.exit_code == 2
    assert "Invalid value for '--size': at most 16 megapixels: bench times whole frames" in huge.output
    plot = runner.invoke(
        cli,
        [
            "bench",
            "-m",
            str(small_model),
            "--size",
            "48x32",
            "--repeat",
            "1",
            "--no-psnr",
            "--plot",
            str(tmp_path / "p.png"),
        ],
    )
    assert plot.exit_code == 2 and "Error: --plot draws Set14 PSNR against time: drop --no-psnr" in plot.output
    (tmp_path / "blocker").write_text("a file, not a folder")
    blocked = runner.invoke(
        cli,
        [
            "bench",
            "-m",
            str(small_model),
            "--size",
            "48x32",
            "--repeat",
            "1",
            "--no-psnr",
            "--json",
            str(tmp_path / "blocker" / "b.json"),
        ],
    )
    assert blocked.exit_code == 1 and blocked.output.endswith("blocker is a file, not a folder\n")
    saved = runner.invoke(
        cli,
        [
            "bench",
            "-m",
            str(small_model),
            "-s",
            "2",
            "--size",
            "48x32",
            "--repeat",
            "1",
            "--no-psnr",
            "--json",
            str(tmp_path / "out" / "b.json"),
        ],
    )
    assert saved.exit_code == 0 and json.loads((tmp_path / "out" / "b.json").read_text())["size"] == [48, 32]


def test_the_model_alone_and_the_whole_are_timed_in_turn():
    """A slow moment of a shared machine must fall on both, not on whichever ran during it."""
    from srcnn_cli.bench import alternated

    calls: list[str] = []
    model_times, whole_times = alternated([lambda: calls.append("model"), lambda: calls.append("whole")], 3)
    assert calls == ["model", "whole"] * 4  # a warm-up of each, then three turns
    assert len(model_times) == len(whole_times) == 3 and min(model_times + whole_times) >= 0


def test_plot_without_set14_fails_before_any_timing(tmp_path, monkeypatch):
    """--plot needs Set14: where it is not found, one error names where it was looked for, and no
    model is timed first (it once benchmarked for over a minute, then failed)."""
    import srcnn_cli.bench

    monkeypatch.setenv("SRCNN_DATA", str(tmp_path / "nodata"))
    monkeypatch.setattr(srcnn_cli.bench, "bench_model", lambda *a, **k: pytest.fail("a model was timed"))
    result = CliRunner().invoke(
        cli, ["bench", "-m", "9-5-5", "--data-dir", str(tmp_path / "empty"), "--plot", str(tmp_path / "p.png")]
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: --plot needs Set14 PSNR: dataset Set14 not found (looked in ")
    assert str(tmp_path / "empty" / "Set14") in result.output and not (tmp_path / "p.png").exists()


def test_the_table_says_why_set14_is_missing(small_model, tmp_path):
    result = CliRunner().invoke(
        cli,
        ["bench", "-m", str(small_model), "--size", "48x32", "--repeat", "1", "--data-dir", str(tmp_path / "empty")],
    )
    assert result.exit_code == 0, result.output
    assert "\nSet14 dB is - because dataset Set14 not found (looked in " in result.output
    no_psnr = CliRunner().invoke(
        cli, ["bench", "-m", str(small_model), "--size", "48x32", "--repeat", "1", "--no-psnr"]
    )
    assert no_psnr.exit_code == 0 and "Set14 dB is -" not in no_psnr.output
