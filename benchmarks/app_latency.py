"""How much the web page adds: press-to-result time of `semsum app` in headless Chromium against the CLI's time
for the same clip (a generated 1-minute 720p video by default), and the pipeline alone in-process.

    PYTHONPATH=src python benchmarks/app_latency.py [--clip FILE] [--work DIR] [--repeat 2]

Both run the random-init GoogLeNet at the default 224 px (the same compute as the ImageNet weights, which cannot be
downloaded here) with the default (automatic) sampling on the CPU. Needs Debian's chromium.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from apptest import app_server, browser_page, summarize_in_page

MODEL = ["--random-googlenet", "--device", "cpu"]
CACHE_ENV = "SEMSUM_CACHE"  # summarize's features cache: every timed run starts with an empty one


def make_clip(work: Path) -> Path:
    """Five 12-second scenes with a tone each, 1280x720 at 30 fps (made once, then reused)."""
    from semsum.video.synthetic import make_scene_video

    clip = work / "scenes_720p_60s.mp4"
    if not clip.is_file():
        make_scene_video(clip, (12, 12, 12, 12, 12), fps=30, size=(1280, 720))
    return clip


def time_cli(clip: Path, out: Path, cache: Path, options: list[str]) -> float:
    """Wall seconds of `semsum summarize` as a user runs it (start-up and model load included), cache empty."""
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "semsum", "summarize", str(clip), "-o", str(out), *options],
        check=True, capture_output=True, env={**os.environ, CACHE_ENV: str(cache)},
    )  # fmt: skip
    return time.monotonic() - start


def time_pipeline(clip: Path, out: Path, cache: Path, shots: str) -> float:
    """Seconds of `semsum.pipeline.summarize` alone, stages loaded and cache empty (what a request costs)."""
    from semsum.pipeline import make_scorer, summarize
    from semsum.pipeline.sampling import SamplingConfig
    from semsum.pipeline.stages import StageConfig

    os.environ[CACHE_ENV] = str(cache)
    encoder, detector = StageConfig(shots=shots, device="cpu", options={"random_googlenet": True}).build()
    start = time.monotonic()
    summarize(clip, out, make_scorer("coverage"), encoder, detector, SamplingConfig(stride=None), show_progress=False)
    return time.monotonic() - start


def time_page(clip: Path, work: Path, options: list[str]) -> tuple[float, float, float]:
    """Seconds from pressing Summarize to the playable summary on a fresh server: the first press, the server's
    own time for it (its log line), then a second press at 20 % (features cached by the first)."""
    with app_server(work, *options, "--example-dir", str(work)) as server, browser_page(server.url, []) as page:
        first = summarize_in_page(page, clip)
        page.locator("#budget input[type=number]").fill("20")
        page.locator("#budget input[type=number]").press("Enter")
        again = summarize_in_page(page)
        served = [float(t) for t in re.findall(r" in ([0-9.]+) s$", server.log.read_text(), re.MULTILINE)]
        return first, served[0], again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clip", type=Path, help="video to summarize (default: a generated 1-minute 720p clip)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/semsum_app_latency"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--shots", default="auto", help="shot detector of all three (summarize's default: auto)")
    args = parser.parse_args()
    options = [*MODEL, "--shots", args.shots]
    args.work.mkdir(parents=True, exist_ok=True)
    clip = args.clip or make_clip(args.work)
    rows: dict[str, list[float]] = {"page, first press": [], "server's part of it": [],
                                    "page, again at 20 % (cached)": [], "CLI": [], "pipeline alone": []}  # fmt: skip
    for i in range(args.repeat):
        run = Path(tempfile.mkdtemp(prefix=f"run{i}_", dir=args.work))
        first, served, again = time_page(clip, run, options)
        rows["page, first press"].append(first)
        rows["server's part of it"].append(served)
        rows["page, again at 20 % (cached)"].append(again)
        rows["CLI"].append(time_cli(clip, run / "cli", run / "cli_cache", options))
        rows["pipeline alone"].append(time_pipeline(clip, run / "pipeline", run / "pipeline_cache", args.shots))
    print(
        f"clip: {clip} ({clip.stat().st_size / 2**20:.1f} MB), shots: {args.shots}; "
        f"load average after: {os.getloadavg()[0]:.1f}"
    )
    for what, times in rows.items():
        print(f"{what:30s} " + "  ".join(f"{t:6.1f} s" for t in times))


if __name__ == "__main__":
    main()
