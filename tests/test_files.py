"""files.py: what counts as an input image, folder listing, atomic writes and their temporaries."""

import os
import subprocess
import sys

import pytest

from srcnn_cli.files import (
    NAME_MAX,
    PARTIAL_SUFFIX,
    atomic_output,
    input_problem,
    list_images,
    partial_name,
    remove_stale_partials,
    shown,
    write_atomic,
)


def test_input_problem_names_each_kind_of_non_image(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    os.mkfifo(tmp_path / "fifo.png")
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    (tmp_path / "dangling.png").symlink_to(tmp_path / "gone.png")
    (tmp_path / "one.png").symlink_to(tmp_path / "two.png")
    (tmp_path / "two.png").symlink_to(tmp_path / "one.png")
    assert input_problem(tmp_path / "a.png") is None
    assert input_problem(tmp_path / "notes.txt") == "not an image (by its name)"
    assert input_problem(tmp_path / "notes.txt", by_name=False) is None
    assert input_problem(tmp_path / "fifo.png") == "is a FIFO (named pipe), not an image file"
    assert input_problem(tmp_path / "loop.png") == "a symbolic link loop"
    assert input_problem(tmp_path / "one.png") == "a symbolic link loop"
    assert input_problem(tmp_path / "dangling.png") == "a broken symbolic link"
    assert input_problem(tmp_path / ".a.png.0123abcd.srcnn-partial") == "a temporary file of an unfinished write"
    assert input_problem(tmp_path / "missing.png") == "no such file"
    assert input_problem(tmp_path, by_name=False) == "is a folder, not an image file"
    assert (
        input_problem(__import__("pathlib").Path("/dev/zero"), by_name=False)
        == "is a character device, not an image file"
    )


def test_list_images_passes_over_loops_and_temporaries_and_says_why(tmp_path):
    for name in ("b.png", "a.JPG", "c.gif", f".x.png.1{PARTIAL_SUFFIX}", "readme.md"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.tif").write_bytes(b"x")
    (tmp_path / "sub" / "up").symlink_to(tmp_path)  # a folder loop: not followed
    images, passed = list_images(tmp_path)
    assert [p.name for p in images] == ["a.JPG", "b.png", "c.gif"]
    assert {(p.path.name, p.reason) for p in passed} == {
        ("loop.png", "a symbolic link loop"),
        ("readme.md", "not an image (by its name)"),
    }
    images, _ = list_images(tmp_path, recursive=True)
    assert [p.name for p in images] == ["a.JPG", "b.png", "c.gif", "d.tif"]
    images, _ = list_images(tmp_path, recursive=True, skip=tmp_path / "sub")
    assert [p.name for p in images] == ["a.JPG", "b.png", "c.gif"]


def test_shown_quotes_names_that_could_forge_log_lines():
    assert shown("plain name é.png") == "plain name é.png"
    assert shown("evil\nDone: 0 failed.png") == "'evil\\nDone: 0 failed.png'"
    assert "\n" not in shown("a\rb\x1b[2J.png")


def test_temporary_names_are_unique_hidden_and_fit_the_name_limit(tmp_path):
    long_name = "x" * 250 + ".png"
    names = {partial_name(tmp_path / long_name) for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert name.startswith(".") and name.endswith(PARTIAL_SUFFIX) and len(name.encode()) <= NAME_MAX
    write_atomic(tmp_path / long_name, b"data")  # the old pid-stamped name was too long here
    assert sorted(p.name for p in tmp_path.iterdir()) == [long_name]


def test_failed_write_leaves_no_temporary(tmp_path):
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "a.bin") as handle:
        handle.write(b"half")
        raise RuntimeError("disk full, say")
    assert list(tmp_path.iterdir()) == []


def test_stale_temporaries_go_but_a_live_writers_stays(tmp_path):
    abandoned = tmp_path / f".gone.png.0011{PARTIAL_SUFFIX}"
    abandoned.write_bytes(b"half")  # nobody holds it locked: its writer was killed
    # another process (another container, same PID for all we know) is writing right now
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from srcnn_cli.files import atomic_output\n"
            "with atomic_output(Path(sys.argv[1])) as h:\n"
            "    h.write(b'x'); print('writing', flush=True); time.sleep(30)",
            str(tmp_path / "live.png"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        live = [p for p in tmp_path.iterdir() if p.name.startswith(".live.png")]
        assert len(live) == 1
        assert remove_stale_partials(tmp_path) == [abandoned]
        assert live[0].exists()
    finally:
        writer.kill()
        writer.wait()
    assert remove_stale_partials(tmp_path) == live  # killed: now it is abandoned
    assert list(tmp_path.iterdir()) == []
