"""A third-party package that only declares entry points is used by `semsum summarize --encoder/--shots`.

The package is the example of docs/architecture.md, installed into a temporary folder as pip lays out an
installed distribution (the module beside a `.dist-info` with METADATA and entry_points.txt), then found by a
fresh `semsum` process through `importlib.metadata`, as any installed plugin would be.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np

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
        [sys.executable, "-m", "semsum", *args, "--shots", "fixed", "--step", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads((out / "scores.json").read_text())
    assert doc["features"] == {"encoder": "colour-grid", "description": "colour-grid", "dim": 12}
    assert doc["shot_detector"] == "fixed" and doc["shot_boundaries"] == list(range(60, doc["n_frames"], 60))
    with np.load(doc["features_cache"]) as z:
        assert z["features"].shape == (len(doc["picks"]), 12) and z["features"].max() <= 1.0
    # Without the plugin installed the names are unknown, and the error lists what is there.
    done = subprocess.run(
        [sys.executable, "-m", "semsum", *args, "-o", str(tmp_path / "o2")], capture_output=True, text=True
    )
    assert done.returncode == 1 and "unknown encoder 'colour-grid' (available: fx, googlenet, videollava" in done.stderr
