"""Start-up (issue 26): `semsum summarize --help`, and a re-run on a warm cache, load no model library; a first run
whose networks' ONNX exports are cached loads no torch.

Declaring summarize's options reads every registered implementation's declaration, and a re-run whose features
and shots are all cached needs no network: neither may import torch (seconds on a laptop) or the other heavy
libraries. Each command runs in a fresh interpreter, which then names the heavy modules it ended up holding.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from clitest import run_cli

# h5py too (about 50 ms): a summary reads no HDF5 file.
HEAVY = ("torch", "transformers", "scipy", "sklearn", "onnxruntime", "matplotlib", "h5py")
# `semsum ARGS`, then the heavy modules it imported as the last line of stderr (JSON), whatever its exit status.
SEMSUM = f"""
import json, sys
from semsum.cli import app
try:
    app(sys.argv[1:], prog_name="semsum")
finally:
    print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr)
"""
TINY = ("--random-googlenet", "--input-size", "64", "--shots", "kts")  # the default scorer: coverage


def semsum_loading(*args: object) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`semsum ARGS` in a fresh interpreter: the finished process and the heavy modules it imported."""
    done = subprocess.run([sys.executable, "-c", SEMSUM, *map(str, args)], capture_output=True, text=True, timeout=300)
    return done, json.loads(done.stderr.strip().splitlines()[-1])


def test_summarize_help_imports_no_model_library():
    done, heavy = semsum_loading("summarize", "--help")
    assert done.returncode == 0 and "--random-googlenet" in done.stdout and "--threshold" in done.stdout, done.stderr
    assert heavy == []


def test_a_rerun_on_a_warm_cache_loads_no_model(shared_media, tmp_path):
    video = shared_media / "bikes.mp4"
    first = run_cli("summarize", video, "-o", tmp_path / "first", *TINY)
    assert first.exit_code == 0, first.output
    done, heavy = semsum_loading("summarize", video, "-o", tmp_path / "again", *TINY, "--budget", "0.2")
    assert done.returncode == 0, done.stderr
    assert heavy == []
    doc = json.loads((tmp_path / "again" / "scores.json").read_text())
    before = json.loads((tmp_path / "first" / "scores.json").read_text())
    assert doc["features_cache"] == before["features_cache"] and doc["budget"] == 0.2
    assert doc["step_scores"] != [] and (tmp_path / "again" / "summary.mp4").stat().st_size > 0


def test_a_folder_rerun_loads_no_model(shared_media, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(shared_media / "bikes.mp4", videos)
    out: Path = tmp_path / "out"
    first = run_cli("summarize", videos, "-o", out, *TINY)
    assert first.exit_code == 0, first.output
    done, heavy = semsum_loading("summarize", videos, "-o", out, *TINY)
    assert done.returncode == 0, done.stderr
    assert heavy == []
    report = json.loads((out / "report.json").read_text())
    assert report["skipped"] == report["written"] == ["bikes"] and report["computed"] == []


def test_a_first_run_with_cached_exports_imports_no_torch(shared_media, tmp_path, monkeypatch):
    """GoogLeNet and TransNetV2 exported (in this process, torch imported): a first run on new features runs both
    in ONNX Runtime without importing torch, and gives the same features, shots and scores."""
    video = shared_media / "bikes.mp4"  # 10 s, one cut: TransNetV2 finds it
    args = ("--random-googlenet", "--input-size", "64", "--shots", "transnetv2")
    first = run_cli("summarize", video, "-o", tmp_path / "first", *args)
    assert first.exit_code == 0, first.output
    monkeypatch.setenv("SEMSUM_CACHE", str(tmp_path / "features"))  # nothing cached but the exports
    done, heavy = semsum_loading("summarize", video, "-o", tmp_path / "again", *args)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    assert "torch" not in heavy and "onnxruntime" in heavy
    doc, before = (json.loads((tmp_path / run / "scores.json").read_text()) for run in ("again", "first"))
    assert doc["features_cache"] != before["features_cache"]  # computed anew, not read
    for key in ("step_scores", "shot_boundaries", "units", "selected_units"):
        assert doc[key] == before[key], key
    assert len(doc["shot_boundaries"]) >= 1
    features = [np.load(Path(d["features_cache"]) / "features.npy") for d in (doc, before)]
    np.testing.assert_array_equal(*features)
