"""`semsum.video.probe`: bad inputs refused before torch loads, truncated files caught by one seek, folders scanned."""

from __future__ import annotations

import json
import subprocess
import sys

import av
import numpy as np
import pytest

from clitest import run_cli
from semsum.errors import SemsumError
from semsum.video.probe import check_video, find_videos


def test_the_real_clips_declare_what_they_hold(shared_media):
    """Every real clip declares a duration (the WebM for the whole file, the others per stream too), and its
    packets reach it."""
    clips = find_videos(shared_media)
    assert len(clips) == 6
    for clip in clips:
        checked = check_video(clip)
        assert checked.declared is not None and checked.reach is not None, clip
        assert abs(checked.reach - checked.declared) < 0.1 and checked.missing is None and checked.warning is None


def test_a_truncated_webm_names_its_missing_span(shared_media, tmp_path):
    """The WebM cut to 30 % of its bytes keeps its header's 30 s but holds 9.6 s: the warning names the span."""
    data = (shared_media / "big_buck_bunny_0_30.webm").read_bytes()
    cut = tmp_path / "cut.webm"
    cut.write_bytes(data[: int(len(data) * 0.3)])
    checked = check_video(cut)
    assert checked.declared == pytest.approx(30.0, abs=0.01) and checked.reach == pytest.approx(9.6, abs=0.2)
    start, end = checked.missing
    assert start == checked.reach and end == checked.declared
    assert checked.warning.startswith(f"{cut}: the container declares 30.0 s but its data stops at 9.6 s")


def test_summarize_names_the_missing_span_on_stderr_and_in_scores_json(shared_media, tmp_path):
    data = (shared_media / "big_buck_bunny_0_30.webm").read_bytes()
    cut = tmp_path / "cut.webm"
    cut.write_bytes(data[: int(len(data) * 0.3)])
    out = tmp_path / "out"
    result = run_cli("summarize", cut, "-o", out, "--random-googlenet", "--input-size", "32", "--shots", "kts")
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "scores.json").read_text())
    warning = check_video(cut).warning
    assert doc["warnings"][0] == warning and f"warning: {warning}" in result.stderr.splitlines()
    assert doc["duration"] == pytest.approx(9.6, abs=0.2)


def test_a_file_that_declares_no_duration_is_not_checked(tmp_path):
    """A WebM written as a stream (no seeking back to fill in its duration) declares none: nothing to contradict."""
    path = tmp_path / "live.webm"

    class Stream:  # a write-only, unseekable sink, as a live recorder's
        def __init__(self, f):
            self.write = f.write

    with path.open("wb") as f, av.open(Stream(f), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(20):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 10, np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    checked = check_video(path)
    assert checked.declared is None and checked.reach is None and checked.warning is None


def test_unusable_inputs_are_one_line_errors(tmp_path, broken_videos):
    cases = [
        (broken_videos["missing"], "no such file"),
        (broken_videos["text"], "not a readable video file"),
        (broken_videos["audio_only"], "has no video stream"),
        (tmp_path, "is a folder, not a video file"),
    ]
    for path, problem in cases:
        with pytest.raises(SemsumError, match=problem) as e:
            check_video(path)
        assert str(e.value).startswith(f"{path}: ") and "\n" not in str(e.value)


def test_find_videos_in_a_folder_and_its_subfolders(tmp_path):
    for name in ("b.mp4", "a.webm", "sub/c.AVI", "sub/deeper/d.mkv", "notes.txt", "docs/e.srt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder.mp4").mkdir()  # a folder with a video's name is no video
    assert [p.name for p in find_videos(tmp_path)] == ["a.webm", "b.mp4"]
    found = [p.relative_to(tmp_path).as_posix() for p in find_videos(tmp_path, recursive=True)]
    assert found == ["a.webm", "b.mp4", "sub/c.AVI", "sub/deeper/d.mkv"]
    with pytest.raises(SemsumError, match="no video files"):
        find_videos(tmp_path / "docs", recursive=True)
    with pytest.raises(SemsumError, match="no such folder"):
        find_videos(tmp_path / "nowhere")


BAD_INPUT_RUN = """
import json, sys
from typer.testing import CliRunner
from semsum.cli import app
result = CliRunner().invoke(app, ["summarize", sys.argv[1], "--random-googlenet"])
print(json.dumps({"code": result.exit_code, "output": result.output, "torch": "torch" in sys.modules}))
"""


def test_summarize_refuses_bad_input_before_importing_torch(tmp_path, broken_videos):
    """A missing path, a text file named .mp4 and an empty folder: one line, exit 1, and torch never imported
    (its import alone takes longer than the 1.5 s allowed)."""
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    cases = [(broken_videos["missing"], "no such file"), (broken_videos["text"], "not a readable"), (empty, "no video")]
    for path, problem in cases:
        run = subprocess.run([sys.executable, "-c", BAD_INPUT_RUN, str(path)], capture_output=True, text=True)
        result = json.loads(run.stdout)
        assert result["code"] == 1 and not result["torch"], result
        (line,) = result["output"].strip().splitlines()
        assert line.startswith(f"error: {path}: ") and problem in line
