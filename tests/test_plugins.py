"""A third-party package that only declares entry points is used by `semsum summarize --encoder/--shots`.

The package is the example of docs/architecture.md, installed into a temporary folder as pip lays out an
installed distribution (the module beside a `.dist-info` with METADATA and entry_points.txt), then found by a
fresh `semsum` process through `importlib.metadata`, as any installed plugin would be.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from semsum.pipeline.cache import read_entry
from semsum.registry import SHOT_DETECTORS, Implementation, help_of

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def install_example(target: Path) -> None:
    """Write the plugin of docs/architecture.md into `target` as an installed distribution."""
    text = DOC.read_text()
    module = re.search(r"```python\n# semsum_plugin_example.py\n(.*?)```", text, re.S).group(1)
    table = tomllib.loads(re.search(r"```toml\n# pyproject.toml of the plugin package\n(.*?)```", text, re.S).group(1))
    (target / "semsum_plugin_example.py").write_text(module)
    info = target / "semsum_plugin_example-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: semsum-plugin-example\nVersion: 0.1\n")
    groups = table["project"]["entry-points"]
    lines = [f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in groups.items()]
    (info / "entry_points.txt").write_text("\n".join(lines))


def test_a_plugin_package_is_used_by_summarize(tmp_path, shared_media):
    site = tmp_path / "site"
    site.mkdir()
    install_example(site)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    args = ["summarize", str(shared_media / "bikes.mp4"), "-o", str(out), "--encoder", "colour-grid"]
    done = subprocess.run(
        [sys.executable, "-m", "semsum", *args, "--shots", "fixed", "--stride", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads((out / "scores.json").read_text())
    assert doc["features"] == {"encoder": "colour-grid", "description": "colour-grid", "dim": 12}
    assert doc["shot_detector"] == "fixed" and doc["shot_boundaries"] == list(range(60, doc["n_frames"], 60))
    _, cached = read_entry(doc["features_cache"])
    assert cached.features.shape == (len(doc["picks"]), 12) and cached.features.max() <= 1.0
    # Without the plugin installed the names are unknown, and the error lists what is there.
    done = subprocess.run(
        [sys.executable, "-m", "semsum", *args, "-o", str(tmp_path / "o2")], capture_output=True, text=True
    )
    assert done.returncode == 1 and "unknown encoder 'colour-grid' (available: fx, googlenet, videollava" in done.stderr


DECLARED = """
from dataclasses import dataclass

import numpy as np

from semsum.registry import declares, option


@dataclass(frozen=True)
class EveryOptions:
    length: int = option(60, "Frames per shot.")


class EveryShots:  # a shot every `options.length` frames, with its options declared as semsum's own are
    name = "every"

    def __init__(self, options):
        self.options = options

    def __call__(self, video):
        starts = np.arange(0, video.n_frames, self.options.length)
        return np.stack([starts, np.append(starts[1:], video.n_frames) - 1], axis=1)


@declares(EveryOptions)
def make_every(options, device="cpu"):
    return EveryShots(options)


@dataclass(frozen=True)
class LateOptions:
    weight: float = option(2.0, "How much later frames count.")


class LateScorer:  # later sampled frames score higher, by `options.weight`
    name = "late"

    def __init__(self, options):
        self.options = options

    def __call__(self, video, units):
        return self.options.weight * np.arange(video.n_steps, dtype=float)


@declares(LateOptions)
def make_late(options, device="cpu"):
    return LateScorer(options)
"""


def install_declared(target: Path) -> None:
    """A plugin whose shot detector declares its option as a dataclass, installed as `install_example` does."""
    (target / "semsum_plugin_declared.py").write_text(DECLARED)
    info = target / "semsum_plugin_declared-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: semsum-plugin-declared\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[semsum.shot_detectors]\nevery = semsum_plugin_declared:make_every\n\n"
        "[semsum.scorers]\nlate = semsum_plugin_declared:make_late\n"
    )


def test_a_plugins_declared_option_reaches_summarize_and_the_app(tmp_path, shared_media, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    install_example(site)
    install_declared(site)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}

    def semsum(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "semsum", *args], env=env, capture_output=True, text=True)

    clip, out = str(shared_media / "bikes.mp4"), tmp_path / "out"
    fast = ["--encoder", "colour-grid", "--stride", "5"]
    done = semsum("summarize", clip, "-o", str(out), *fast, "--shots", "every", "--every-length", "50")
    assert done.returncode == 0, done.stderr
    doc = json.loads((out / "scores.json").read_text())
    assert doc["shot_detector"] == "every" and doc["shot_boundaries"] == [50, 100, 150, 200]
    # The plain factory's keyword parameter is an option too, namespaced by its implementation.
    done = semsum("summarize", clip, "-o", str(tmp_path / "o2"), *fast, "--shots", "fixed", "--fixed-length", "100")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "o2" / "scores.json").read_text())["shot_boundaries"] == [100, 200]
    done = semsum("summarize", clip, "-o", str(tmp_path / "o3"), *fast, "--shots", "kts", "--every-length", "50")
    assert done.returncode == 1 and not (tmp_path / "o3").exists()
    assert done.stderr == "error: shot detector kts takes no option --every-length (its options: --max-segment)\n"
    assert "--every-length" in semsum("app", "--help").stdout
    # The app builds every detector with the options it takes: the plugin's gets its own.
    monkeypatch.syspath_prepend(str(site))
    from semsum.app import load_models
    from semsum.pipeline.stages import StageConfig

    stages = StageConfig("colour-grid", "every", device="cpu", options={"every_length": 50, "fixed_length": 30})
    models = load_models(stages)
    assert next(iter(models.detectors)) == "every" and models.detectors["every"].options.length == 50
    assert models.detectors["fixed"].length == 30 and models.detectors["kts"].options.max_segment == 120


def test_the_app_offers_a_plugins_scorer_and_scores_a_request_with_it(tmp_path, shared_media, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    install_example(site)
    install_declared(site)
    monkeypatch.syspath_prepend(str(site))
    from semsum.app import Limits, SummarizeJob, build_app, load_models
    from semsum.pipeline.sampling import SamplingConfig
    from semsum.pipeline.stages import StageConfig

    stages = StageConfig("colour-grid", "every", device="cpu", sampling=SamplingConfig(stride=5))
    models = load_models(StageConfig(**{**vars(stages), "options": {"late_weight": 3.0}}))
    assert list(models.scorers) == ["coverage", "late"] and models.scorers["late"].options.weight == 3.0
    page = build_app(models, Limits(), tmp_path / "cache")
    (choices,) = [b.choices for b in page.blocks.values() if getattr(b, "label", None) == "scorer"]
    assert [value for _, value in choices] == ["coverage", "late"]
    kept = tmp_path / "kept"  # where the page's files go (Gradio's cache); the request's own folder is removed
    kept.mkdir()
    job = SummarizeJob(models, Limits(), lambda path: shutil.copy(path, kept), tmp_path / "cache")
    summary, _, _, files, status = job(str(shared_media / "bikes.mp4"), 20, "late", "every", "", lambda *a, **k: None)
    doc = json.loads(Path(files[1]).read_text())
    assert "scorer late" in status and doc["scorer"] == "late" and Path(summary).is_file()
    assert doc["step_scores"] == sorted(doc["step_scores"])  # later frames score higher: the plugin scored it
    assert doc["units"][-1]["selected"]


def test_an_undocumented_plugin_option_shows_its_default_once():
    """A plain factory's parameter has no help: its help is its type, and the face shows the default (once)."""

    def make_detector(device="cpu", length=60):
        raise AssertionError("not built")

    (field,) = Implementation.of(SHOT_DETECTORS, "fixed", make_detector, own=False).dests().values()
    assert help_of(field) == "int" and field.default == 60
