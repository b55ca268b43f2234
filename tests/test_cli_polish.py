"""What a new user meets at the command line: versions, errors that name the flag, help, progress, interrupts."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from clitest import error_line, run_cli
from semsum.errors import SemsumError
from semsum.pipeline.cache import read_entry
from semsum.video.synthetic import make_scene_video

FAST = ("--random-googlenet", "--input-size", "32", "--shots", "kts")  # KTS: no second pass over the frames


def test_version():
    result = run_cli("--version")
    assert result.exit_code == 0 and result.output.strip() == "semsum 0.1.0"


def test_errors_name_the_flag_that_fixes_them(tmp_path, shared_media, monkeypatch):
    import torch

    from semsum.nn import googlenet

    clip = shared_media / "bikes.mp4"
    assert "--budget must be in (0, 1)" in error_line(run_cli("summarize", clip, "--budget", "1.5", *FAST))
    assert "--max-unit must be positive" in error_line(run_cli("summarize", clip, "--max-unit", "0", *FAST))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # the hub cache: TORCH_HOME/hub
    monkeypatch.delenv(googlenet.WEIGHTS_ENV, raising=False)

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(SemsumError, match="--googlenet-weights FILE .* --random-googlenet"):
        googlenet.weights_file(None)


@pytest.mark.parametrize(
    ("out", "problem"),
    [("file", "exists and is not a folder"), ("/proc/semsum_out", "cannot write there")],
)
def test_bad_output_folders_are_one_line_and_leave_nothing(tmp_path, shared_media, out, problem):
    target = tmp_path / "taken.txt" if out == "file" else out
    if out == "file":
        target.write_text("mine")
    line = error_line(run_cli("summarize", shared_media / "bikes.mp4", "-o", target, *FAST))
    assert problem in line and str(target) in line
    assert out != "file" or target.read_text() == "mine"


def test_help_renders_examples_and_fits_80_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    for command in (["evaluate", "--help"], ["summarize", "--help"], ["train", "--help"], ["data", "--help"]):
        text = run_cli(*command).output
        assert max(len(line) for line in text.splitlines()) <= 80, command
    evaluate = run_cli("evaluate", "--help").output
    assert "[score per frame, ...]" in evaluate
    assert "--features-key KEY" in run_cli("train", "--help").output
    assert "$SEMSUM_DATA" in run_cli("data", "--help").output


def test_evaluate_reads_summarize_scores_and_states_partial_coverage(tmp_path, shared_data):
    from semsum.data.annotations import load_annotations

    ann = load_annotations("summe", shared_data)["video_1"]
    doc = {"video": f"/videos/{ann.name}.mp4", "frame_scores": np.linspace(0, 1, ann.n_frames).tolist()}
    (tmp_path / "scores.json").write_text(json.dumps(doc))
    result = run_cli("evaluate", tmp_path / "scores.json", "--dataset", "summe", "--data-dir", shared_data, "--json")
    assert result.exit_code == 0, result.output
    assert "a `semsum summarize` scores.json" in result.output
    out = json.loads(result.output[result.output.index("{") :])
    assert (out["videos_evaluated"], out["videos_in_dataset"]) == (1, 25) and list(out["per_video"]) == ["video_1"]
    table = run_cli("evaluate", tmp_path / "scores.json", "--dataset", "summe", "--data-dir", shared_data).output
    assert "mean of 1 of 25 videos" in table and "24 of the dataset's 25 videos have no scores" in table


def _summarize(video, out, cache, *extra):
    env = {**os.environ, "SEMSUM_CACHE": str(cache)}
    cmd = [sys.executable, "-m", "semsum", "summarize", str(video), "-o", str(out), *FAST, "--stride", "1", *extra]
    # Ctrl-C as a terminal sends it, whatever the test runner inherited (a shell's background job ignores SIGINT)
    reset = functools.partial(signal.signal, signal.SIGINT, signal.SIG_DFL)
    return subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=reset)


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupt_keeps_the_features_and_the_rerun_resumes(tmp_path, sig, status):
    """Plain progress lines when stderr is not a terminal; SIGTERM/Ctrl-C save the features computed so far."""
    video = tmp_path / "long.mp4"
    make_scene_video(video, scene_seconds=(6, 6, 6), fps=15, size=(48, 36), audio=False)  # 270 picks at --stride 1
    cache, out = tmp_path / "cache", tmp_path / "out"
    proc = _summarize(video, out, cache, "--batch-size", "8")
    seen = ""
    while "features (googlenet): " not in seen:  # the first plain progress line: some batches are done
        line = proc.stderr.readline()
        assert line, f"no progress line before the end: {seen}"
        seen += line
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    assert "interrupted: work done so far is saved" in err and not out.exists()
    (entry,) = cache.iterdir()
    _, prefix = read_entry(entry)
    saved = len(prefix.picks)
    assert prefix.n_frames is None and 0 < saved < 270  # a prefix: its marker says n_frames null
    start = time.perf_counter()
    rerun = _summarize(video, out, cache)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    doc = json.loads((out / "scores.json").read_text())
    assert len(doc["picks"]) == 270 and doc["features_cache"] == str(entry)
    assert time.perf_counter() - start < 300


def test_printed_commands_are_never_wrapped(tmp_path):
    """A command printed for users to copy stays on one line, however long its paths (no terminal width applies)."""
    config = tmp_path / ("a-folder-with-a-long-name-" * 4) / "experiment.toml"
    config.parent.mkdir()
    result = run_cli("reproduce", "--init", config)
    assert result.exit_code == 0, result.output
    assert f"then `semsum reproduce --config {config}`" in result.output
