"""Commands on users' videos: `semsum summarize`, `app`, `dataset build`, `demo`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from semsum.cli.base import DataDir, DatasetName, Device, app, console, dataset_app, failures_exit_2
from semsum.cli.declared import Declaration, declared_command, values
from semsum.cli.stages import (
    EXECUTOR,
    FEATURE_STAGES,
    RAY,
    SAMPLING,
    SCORING_STAGES,
    Encoder,
    ScorerName,
    Shots,
    executor,
    stage_config,
)
from semsum.errors import SemsumError

if TYPE_CHECKING:
    from semsum.pipeline.batch import SummaryWork


class _Summarize(declared_command(SCORING_STAGES, SAMPLING, EXECUTOR, RAY)):
    """`summarize`, its input checked before its stages' options are made (that imports the stages, and torch with
    them) when the input is the first word, as in `semsum summarize VIDEO ...`: bad input is refused at once, and
    so is a `--run`/`--mapper` on the Hub that cannot be had (offline and not in the cache)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and "--help" not in args:
            from semsum.video.probe import check_input  # PyAV only

            check_input(Path(args[0]), "--recursive" in args)
            _fetch_hub_paths(args)
        return super().parse_args(ctx, args)


def _fetch_hub_paths(args: list[str]) -> None:
    """Download (or find in the cache) every `hf://` value of `--run` and `--mapper` before any stage loads."""
    from semsum.data.hub import local_path  # huggingface_hub only

    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in ("--run", "--mapper"):
            value = value if eq else (args[i + 1] if i + 1 < len(args) else "")
            if value.startswith("hf:"):
                local_path(value)


@app.command("summarize", cls=_Summarize)
def summarize_cmd(
    ctx: typer.Context,
    video: Annotated[Path, typer.Argument(help="Video file (mp4, avi, webm, mkv, ...: what FFmpeg reads), or folder.")],
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="Output folder (default: ./<stem>_summary, ./<dir>_summaries).")
    ] = None,
    encoder: Encoder = "googlenet",
    shots: Shots = None,
    scorer: ScorerName = None,
    device: Device = "auto",
    budget: Annotated[float, typer.Option("--budget", help="Summary length as a fraction of the video.")] = 0.15,
    max_unit: Annotated[
        float,
        typer.Option(
            "--max-unit", help="Longest moment in seconds: longer shots are split where their content changes."
        ),
    ] = 4.0,
    recursive: Annotated[bool, typer.Option("--recursive", help="With a folder: its subfolders' videos too.")] = False,
    export: Annotated[
        str | None,
        typer.Option(
            "--export",
            help="Also write the moments kept, comma-separated: otio, edl, fcpxml (editor timelines), vtt (chapters).",
        ),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option("--query", help="A request to focus on: importance is rated for it (zero-shot, or an MLLM run)."),
    ] = None,
) -> None:
    """Summarize a video: summary.mp4, scores.json and timeline.png in the output folder.

    Given a folder, every video in it gets such a folder in the output folder, at its relative path; a video that
    fails is named and skipped (exit status 2, OUT/report.json), and a re-run skips the finished ones."""
    from semsum.pipeline.batch import SummaryWork
    from semsum.summary.export import parse_formats
    from semsum.video.probe import check_input

    check_input(video, recursive)  # before any model loads (and before torch, see _Summarize)
    extra = {"max_unit": max_unit, "export": parse_formats(export), "query": query}  # checked before the models too
    stages = stage_config(ctx, SCORING_STAGES, encoder, shots or "auto", device, scorer)
    if video.is_dir():
        out = out if out is not None else Path(f"{video.resolve().name}_summaries")
        _summarize_folder(ctx, video, out, SummaryWork(stages, budget, **extra), recursive)
        return
    if recursive or executor(ctx).name != "local":
        raise SemsumError(f"{video}: --recursive and --executor are for a folder of videos")
    _summarize_file(
        video, out if out is not None else Path(f"{video.stem}_summary"), SummaryWork(stages, budget, **extra)
    )


def _summarize_file(video: Path, out: Path, work: SummaryWork) -> None:
    """`semsum summarize VIDEO`: its summary in `out`, and what it holds on stdout."""
    from semsum.pipeline import summarize
    from semsum.summary.export import FILES

    chosen = work.stages.build_scorer()
    frame_encoder, detector = work.stages.build()
    extra = {"max_unit": work.max_unit, "export": work.export, "query": work.query}
    r = summarize(video, out, chosen, frame_encoder, detector, work.stages.sampling, work.budget, **extra)
    for warning in r.warnings:
        typer.echo(f"warning: {warning}", err=True)
    console.print(
        f"scorer: {chosen.name}\nfeatures: {r.video.encoder_description}\n"
        f"{len(r.shots)} shots ({r.shot_detector}); kept {len(r.selected)} of {len(r.units)} selection units: "
        f"{r.summary_seconds:.1f} s of {r.video.n_frames / r.video.info.fps:.1f} s"
        f"{' with audio' if r.summary_has_audio else ''}\n"
        f"wrote {r.summary_path}, {r.scores_path}, {r.timeline_path}"
        + "".join(f", {r.out_dir / FILES[f]}" for f in r.exports)
    )


def _summarize_folder(ctx: typer.Context, videos: Path, out: Path, work: SummaryWork, recursive: bool) -> None:
    """`semsum summarize DIR`: every video of the folder into its own folder in `out` (`semsum.pipeline.batch`)."""
    from semsum.pipeline.batch import summarize_folder

    def warn(line: str) -> None:
        typer.echo(f"warning: {line}", err=True)

    with failures_exit_2():
        r = summarize_folder(videos, out, work, recursive, executor(ctx), True, warn)
    console.print(
        f"wrote {len(r.written)} summaries in {out} ({len(r.computed)} computed, "
        f"{len(r.written) - len(r.computed)} finished before); report: {r.report}"
    )


@app.command("app", cls=declared_command(SCORING_STAGES, SAMPLING))
def app_cmd(
    ctx: typer.Context,
    encoder: Encoder = "googlenet",
    shots: Shots = None,
    device: Device = "auto",
    host: Annotated[str, typer.Option("--host", help="Address to serve on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 7860,
    share: Annotated[bool, typer.Option("--share", help="Also serve through a public gradio.live link.")] = False,
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", help="Largest upload accepted.")] = 500.0,
    max_minutes: Annotated[float, typer.Option("--max-minutes", help="Longest video accepted.")] = 30.0,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Summaries computed at once; others queue.")] = 1,
    example_dir: Annotated[
        Path | None, typer.Option("--example-dir", help="Where the example video is made (default: a cache folder).")
    ] = None,
) -> None:
    """A web page (Gradio) that summarizes an uploaded video; its API endpoint is /summarize.

    The page offers every shot detector that loads and the scorers the options allow (a run with --run, coverage,
    zero-shot with --mllm-model); the options go to every one that takes them."""
    try:
        from semsum.app import Limits, serve
    except ModuleNotFoundError as e:
        raise SemsumError(f"semsum app needs the {e.name} package: pip install 'semsum[app]'") from None
    stages = stage_config(ctx, SCORING_STAGES, encoder, shots or "auto", device)
    serve(stages, host, port, share, Limits(max_upload_mb, max_minutes), concurrency, example_dir)


@dataset_app.command("build", cls=declared_command(FEATURE_STAGES, SAMPLING, EXECUTOR, RAY))
def dataset_build(
    ctx: typer.Context,
    videos: Annotated[Path, typer.Option("--videos", help="Folder of video files.")],
    out: Annotated[Path, typer.Option("--out", help="eccv16-schema HDF5 file to write.")],
    encoder: Encoder = "googlenet",
    shots: Shots = None,
    device: Device = "auto",
    annotations: Annotated[
        DatasetName | None,
        typer.Option(
            "--annotations", help="Add gtscore/user_summary from SumMe or TVSum (videos matched by file stem)."
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Features, picks, n_frames and shots (change_points) per video (resumable; atomic), plus annotations.

    A video that fails is named on stderr and in OUT's .report.json, the others are written, and the exit status
    is 2."""
    from semsum.pipeline.build import build_dataset

    stages = stage_config(ctx, FEATURE_STAGES, encoder, shots or "kts", device)
    stages.check()  # before any video is read
    with failures_exit_2():
        ds = build_dataset(
            videos,
            out,
            annotations=annotations.value if annotations else None,
            data_dir=data_dir,
            executor=executor(ctx),
            stages=stages,
        )
    console.print(f"wrote {out}: {len(ds)} videos ({', '.join(ds.keys()[:5])}{', ...' if len(ds) > 5 else ''})")


_WEIGHTS = Declaration.of("semsum.features.googlenet:GoogLeNetOptions", only=("googlenet_weights",))


@app.command("demo", cls=declared_command(_WEIGHTS))
def demo_cmd(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder for the sample video and its summary.")] = Path("demo_out"),
) -> None:
    """Generate a 60 s sample video (5 scenes, with sound) and summarize it end to end."""
    from semsum.pipeline.demo import run_demo

    run_demo(out, values(ctx, _WEIGHTS)["googlenet_weights"], console)
