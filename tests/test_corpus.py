"""The generated corpus of hostile and unusual inputs (tests/corpus.py), upscaled in one batch:
every file gets the outcome the corpus names for it, and nothing else is printed."""

import numpy as np
from click.testing import CliRunner

from srcnn_cli.batch import output_name
from srcnn_cli.cli import cli
from srcnn_cli.files import shown
from srcnn_cli.imageio import read_image

from .corpus import build_corpus


def test_every_corpus_file_gets_its_outcome(tmp_path, identity_model):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    cases = build_corpus(corpus)
    result = CliRunner().invoke(cli, ["upscale", str(corpus), "-o", str(out), "-s", "2", "-m", str(identity_model)])
    lines = result.output.splitlines()
    expected_lines = 1  # the summary
    for case in cases:
        path = corpus / case.name
        if case.outcome == "error":
            assert f"Error: {shown(path)}: {case.message}" in lines, case
        elif case.outcome == "skipped":
            assert f"skipped {shown(path)}: {case.message}" in lines, case
        else:
            target = out / output_name(path, "_x2", None)
            assert any(line.startswith(f"{shown(path)} -> {shown(target)} (") for line in lines), case
            decoded = read_image(target)
            assert decoded.mode == case.mode, case
            assert decoded.pixels.dtype == (np.uint16 if case.bits == 16 else np.uint8), case
            assert decoded.pixels.shape[:2] == (2 * case.size[1], 2 * case.size[0]), case
            expected_lines += len([line for line in lines if line.startswith(f"Warning: {shown(path)}: ")])
    counts = {outcome: sum(c.outcome == outcome for c in cases) for outcome in ("upscaled", "skipped", "error")}
    assert lines[-1] == f"{counts['upscaled']} upscaled, {counts['skipped']} skipped, {counts['error']} failed"
    assert len(lines) == expected_lines + len(cases)  # one line a file, its warnings, and the summary
    assert result.exit_code == 1 and "Traceback" not in result.output
