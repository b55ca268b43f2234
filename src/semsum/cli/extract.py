"""Features for whole datasets: `semsum extract mllm` (the `videollava` encoder's options, declared once with
it) and `semsum features captions`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from semsum.cli.base import DataDir, DatasetName, Device, console, extract_app, failures_exit_2, features_app
from semsum.cli.declared import Declaration, declared_command, values
from semsum.cli.stages import EXECUTOR, RAY, executor
from semsum.registry import ENCODERS, find

VIDEOLLAVA = Declaration.registered(
    lambda: [find(ENCODERS, "videollava")], renamed={"--model": "mllm_model", "--batch-size": "windows_per_batch"}
)
_STRIDE = Declaration.of(
    "semsum.pipeline.mllm_job:MllmJob",
    only=("stride",),
    help={"stride": "Loose videos: sample every STRIDE-th frame."},
    renamed={"--step": "stride"},
)


@extract_app.command("mllm", cls=declared_command(VIDEOLLAVA, _STRIDE, EXECUTOR, RAY))
def extract_mllm(
    ctx: typer.Context,
    videos: Annotated[
        list[Path] | None, typer.Argument(metavar="VIDEO", help="Loose video files (instead of --h5/--videos).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Output HDF5, in the input's schema (atomic).")] = ...,
    h5: Annotated[
        Path | None, typer.Option("--h5", help="Input eccv16 dataset (every key is copied) or Mr.HiSum file.")
    ] = None,
    videos_dir: Annotated[Path | None, typer.Option("--videos", help="Folder with the dataset's videos.")] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="JSON {key: file} or CSV key,file (default: video_name); for a Mr.HiSum file, its metadata.csv "
            "(video_id -> {youtube_id}.mp4 in --videos; one window per second).",
        ),
    ] = None,
    device: Device = "auto",
    replace_features: Annotated[
        bool, typer.Option("--replace-features", help="Write the embeddings as `features` instead of features_mllm.")
    ] = False,
    store_dtype: Annotated[str, typer.Option("--store-dtype", help="float32 or float16.")] = "float32",
    scores_out: Annotated[
        Path | None, typer.Option("--scores-out", help="Also write the zero-shot frame scores for `semsum evaluate`.")
    ] = None,
) -> None:
    """MLLM semantic embeddings (paper Eq. 1) per sampled frame, plus zero-shot scores; resumable per video.

    A video that fails is named on stderr and in OUT's .report.json, the others are written, and the exit status
    is 2."""
    from semsum.pipeline import extract
    from semsum.pipeline.mllm_job import MllmJob, run_mllm_job

    options = values(ctx, VIDEOLLAVA) | {"device": device}
    job = MllmJob(out, videos or (), h5, videos_dir, mapping, values(ctx, _STRIDE)["stride"], options, executor(ctx))
    with failures_exit_2():
        dataset = run_mllm_job(job, typer.echo, replace_features=replace_features, store_dtype=store_dtype)
    console.print(f"wrote {out}: {len(dataset)} videos, {sum(v.n_steps for v in dataset)} windows")
    if scores_out is not None:
        from semsum.atomic import write_json

        write_json(scores_out, extract.zero_shot_frame_scores(dataset))
        console.print(f"wrote {scores_out}: zero-shot frame scores (evaluate with `semsum evaluate {scores_out}`)")


@features_app.command("captions")
def features_captions(
    captions: Annotated[Path, typer.Option("--captions", help="Dense captions JSON keyed by video_N.")],
    dataset: Annotated[DatasetName, typer.Option("--dataset", help="Benchmark whose annotations to attach.")],
    out: Annotated[Path, typer.Option("--out", help="Output eccv16-schema HDF5.")],
    text_model: Annotated[
        str, typer.Option("--text-model", help="sentence-transformers model id or local folder.")
    ] = "sentence-transformers/all-MiniLM-L6-v2",
    device: Device = "cpu",
    data_dir: DataDir = None,
) -> None:
    """Caption embeddings per sampled step, with the benchmark's gtscore and user summaries."""
    from semsum.device import resolve_device
    from semsum.features.captions import write_caption_features

    ds = write_caption_features(captions, dataset.value, out, text_model, data_dir, str(resolve_device(device)))
    console.print(f"wrote {len(ds)} videos ({sum(v.n_steps for v in ds)} steps) to {out}")
