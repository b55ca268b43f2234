"""Where `semsum summarize` spends its time: a first run and a re-run with another budget, under cProfile.

For each video: a plain PyAV decode of every frame (the yardstick of issue 26), then `semsum summarize VIDEO
--random-googlenet` (the ImageNet network does the same work) on a fresh features cache, then the same with
`--budget 0.2` on the cache it left; each run in its own process under cProfile. Stages from the profile's
cumulative times (main thread): imports and CLI = total - summarize() - building the encoder (which the CLI does
first); GoogLeNet = the encoder's calls on the video (not those that build the random network's offset); decode and
sampling = the sampling stage - GoogLeNet; TransNetV2 = its network's windows, its decode = its call - the windows,
its load; KTS; scores; writing summary.mp4; reports (scores.json, timeline.png).

    python benchmarks/profile_summarize.py VIDEO... [--runtime auto|torch] [--work /tmp/semsum_profile]
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from write_speed import plain_decode

# (stage, substring of the profiled function's "file:line(name)" key); the first match counts.
STAGES = [
    ("summarize", "pipeline/summarize.py", "(summarize)"),
    ("sampling", "pipeline/summarize.py", "(_sample)"),
    ("googlenet", "features/pool5.py", "(__call__)"),
    ("googlenet_load", "features/pool5.py", "(build_extractor)"),
    ("transnetv2_load", "summary/transnetv2.py", "(__init__)"),
    ("shots", "pipeline/summarize.py", "(cached_shots)"),
    ("transnetv2", "summary/transnetv2.py", "(__call__)"),
    ("transnetv2_net", "summary/transnetv2.py", "(_window_probs)"),
    ("kts", "summary/kts.py", "(kts)"),
    ("scores", "pipeline/summarize.py", "(score_video)"),
    ("write_summary", "pipeline/summarize.py", "(_write_summary)"),
    ("reports", "pipeline/summarize.py", "(_write_reports)"),
]


def stage_seconds(profile: Path) -> dict[str, float]:
    """Cumulative seconds of each of `STAGES` in a cProfile file, and derived stages."""
    stats = pstats.Stats(str(profile)).stats  # {(file, line, name): (cc, nc, tt, ct, callers)}
    out = {}
    for stage, where, name in STAGES:
        found = [v for (f, _, n), v in stats.items() if f.replace(os.sep, "/").endswith(where) and f"({n})" == name]
        best = max(found, key=lambda v: v[3], default=None)
        if best is None:
            out[stage] = 0.0
            continue
        out[stage] = round(best[3], 2)
    # build_extractor's call of the extractor (through torch's inference_mode wrapper) computes the random network's
    # offset: part of building it, not of the video
    wrappers = [v for (_, _, n), v in stats.items() if n == "decorate_context"]
    offset = sum(c[3] for v in wrappers for (_, _, by), c in v[4].items() if by == "build_extractor")
    out["googlenet"] = round(out["googlenet"] - offset, 2)
    out["decode_sampling"] = round(out["sampling"] - out["googlenet"], 2)
    out["transnetv2_decode"] = round(out["transnetv2"] - out["transnetv2_net"] - out["transnetv2_load"], 2)
    return out


def profiled_run(video: Path, work: Path, tag: str, extra: list[str], env: dict[str, str]) -> dict:
    """One `semsum summarize` process under cProfile: wall seconds and the stages."""
    profile = work / f"{tag}.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "semsum", "summarize", str(video)]
    cmd += ["-o", str(work / tag), "--random-googlenet", *extra]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    stages = stage_seconds(profile)
    imports = wall - stages["summarize"] - stages["googlenet_load"]
    return {"wall_s": round(wall, 2), "imports_cli_s": round(imports, 2), **stages}


def report(profiles: list[Path]) -> None:
    """The stages of profiles already written (`--report first.prof ...`)."""
    for profile in profiles:
        print(json.dumps({"profile": str(profile), **stage_seconds(profile)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", type=Path, nargs="+")
    parser.add_argument("--runtime", default="auto", help="--runtime of summarize (auto: ONNX Runtime on a CPU)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/semsum_profile"))
    parser.add_argument("--report", action="store_true", help="the arguments are .prof files: print their stages")
    args = parser.parse_args()
    if args.report:
        return report(args.videos)
    rows = []
    for video in args.videos:
        work = args.work / video.stem
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        env = {**os.environ, "SEMSUM_CACHE": str(work / "cache")}
        runtime = ["--runtime", args.runtime]
        row = {"video": video.name, "load_before": os.getloadavg()[0], "plain_decode_s": round(plain_decode(video), 2)}
        row["first"] = profiled_run(video, work, "first", runtime, env)
        row["rerun"] = profiled_run(video, work, "rerun", [*runtime, "--budget", "0.2"], env)
        for run in ("first", "rerun"):
            row[f"{run}_over_decode"] = round(row[run]["wall_s"] / row["plain_decode_s"], 1)
        rows.append(row)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
