"""srcnn compare: the panels, the region it picks, the sheet's layout and captions."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from srcnn_cli.cli import cli
from srcnn_cli.compare import LABEL_HEIGHT, compare, most_detailed_region


def detailed_corner(size=(96, 72)) -> np.ndarray:
    """Flat grey everywhere but a noisy square at x 48-72, y 24-48."""
    image = np.full((size[1], size[0], 3), 120, np.uint8)
    image[24:48, 48:72] = np.random.default_rng(0).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    return image


def test_the_most_detailed_region_is_found():
    luma = detailed_corner()[:, :, 0]
    assert most_detailed_region(luma, 24, 24, stride=4) == (48, 24)


def test_panels_with_a_ground_truth(identity_model):
    sheet = compare(detailed_corner(), scale=3, models=[str(identity_model)], size=24, name="corner")
    assert [p.label for p in sheet.panels] == ["bicubic", str(identity_model), "ground truth"]
    assert sheet.region == (48, 24, 24, 24) and sheet.zoom == 10
    bicubic, model, truth = sheet.panels
    assert model.psnr == pytest.approx(bicubic.psnr, abs=0.05)  # an identity network is bicubic
    assert bicubic.ms is None and model.ms > 0 and truth.psnr is None
    assert all(p.pixels.shape == (24, 24, 3) for p in sheet.panels)
    assert sheet.title == "corner, x3 from the image downscaled: region 48,24 24x24, zoomed x10"


def test_a_low_resolution_input_has_no_scores(identity_model):
    sheet = compare(detailed_corner(), scale=2, models=[str(identity_model)], low_res=True, crop=(0, 0, 40, 30))
    assert [p.label for p in sheet.panels] == ["bicubic", str(identity_model)]
    assert all(p.psnr is None for p in sheet.panels) and sheet.panels[0].pixels.shape == (30, 40, 3)


def test_cli_sheet_layout_and_errors(tmp_path, identity_model):
    Image.fromarray(detailed_corner()).save(tmp_path / "c.png")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "compare",
            str(tmp_path / "c.png"),
            "-m",
            f"{identity_model},{identity_model}",
            "--size",
            "24",
            "--zoom",
            "4",
            "-o",
            str(tmp_path / "sheet.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("bicubic  ") and " dB  SSIM " in lines[0] and lines[1].endswith(" ms")
    assert lines[3] == "ground truth" and lines[-1] == f"wrote {tmp_path / 'sheet.png'}"
    with Image.open(tmp_path / "sheet.png") as sheet:  # four panels of 96 px in a row, a title, captions
        assert sheet.size == (8 + 4 * (96 + 8), 30 + 96 + LABEL_HEIGHT + 8)
    outside = runner.invoke(
        cli,
        [
            "compare",
            str(tmp_path / "c.png"),
            "-m",
            str(identity_model),
            "--crop",
            "90,0,40,40",
            "-o",
            str(tmp_path / "x.png"),
        ],
    )
    assert outside.exit_code == 1 and "--crop 90,0,40,40 is not inside the 96x72 result" in outside.output
    bad = runner.invoke(cli, ["compare", str(tmp_path / "c.png"), "--crop", "1,2,3", "-o", str(tmp_path / "x.png")])
    assert bad.exit_code == 2 and "'1,2,3' is not X,Y,WIDTH,HEIGHT" in bad.output
    missing = runner.invoke(cli, ["compare", str(tmp_path / "none.png"), "-o", str(tmp_path / "x.png")])
    assert missing.exit_code == 1 and "none.png: no such file" in missing.output
