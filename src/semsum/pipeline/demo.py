"""`semsum demo` (what `make demo` runs): a generated sample video, summarized end to end, no download.

With the GoogLeNet ImageNet weights on disk the demo runs the real pipeline. Without them it says which file
is missing and how to supply it, then runs everything else with a seeded random-initialised GoogLeNet:
decoding, features, KTS shots, the training-free scorer, the knapsack and all three outputs are real;
only the features (and so the importance scores) are not the ImageNet ones.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

from semsum.features.pool5 import build_extractor
from semsum.nn.weights import WEIGHTS_ENV, WEIGHTS_URL, googlenet_weights_available
from semsum.pipeline.scorers import CoverageScorer
from semsum.pipeline.summarize import summarize
from semsum.summary.shots import make_shot_detector
from semsum.video.synthetic import make_scene_video

SCENES = (6.0, 9.0, 12.0, 15.0, 18.0)  # 60 s
FPS = 30.0
SIZE = (320, 240)


def run_demo(out: str | os.PathLike[str], weights: str | os.PathLike[str] | None, console: Console) -> None:
    """Write `out`/sample.mp4 (regenerated, deterministic) and its summary in `out`/summary/, saying what happened."""
    out = Path(out)
    video = out / "sample.mp4"
    lengths = ", ".join(f"{s:g}" for s in SCENES)
    console.print(f"[bold]1. sample video[/] {video}: scenes of {lengths} s, {FPS:g} fps, with a tone per scene")
    cuts = make_scene_video(video, SCENES, FPS, SIZE, audio=True)
    found = googlenet_weights_available(weights)
    if found is not None:
        console.print(f"[bold]2. features[/] GoogLeNet ImageNet weights: {found}")
        extractor = build_extractor(found)
    else:
        expected = weights or os.environ.get(WEIGHTS_ENV) or "torch hub cache (checkpoints/googlenet-1378be20.pth)"
        console.print(
            f"[bold]2. features[/] [yellow]GoogLeNet ImageNet weights not found ({expected}).[/] To use them, download "
            f"{WEIGHTS_URL} and pass --googlenet-weights FILE (or set {WEIGHTS_ENV}). Continuing with a seeded "
            "random-initialised GoogLeNet: shots, selection and outputs are real; importance is only as good as "
            "random features."
        )
        extractor = build_extractor(random_init=True)
    result = summarize(video, out / "summary", CoverageScorer(), extractor, make_shot_detector("kts"))
    table = Table(title="3. KTS shot boundaries (frame) vs the generated cuts")
    table.add_column("true cut")
    table.add_column("nearest KTS boundary")
    boundaries = result.shots[1:, 0]
    for c in cuts:
        near = int(boundaries[abs(boundaries - c).argmin()]) if len(boundaries) else None
        table.add_row(str(c), "-" if near is None else f"{near} ({near - c:+d} frames)")
    console.print(table)
    console.print(
        f"[bold]4. summary[/] scorer: {result.scorer}\n"
        f"   kept {len(result.selected)} of {len(result.units)} units: {result.summary_seconds:.1f} s of "
        f"{result.video.n_frames / result.video.info.fps:.1f} s{' with audio' if result.summary_has_audio else ''}\n"
        f"   wrote {result.summary_path}, {result.scores_path}, {result.timeline_path}"
    )
