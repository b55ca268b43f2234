"""The `semsum` command line: a thin layer over the package's API.

Every command turns a SemsumError into one line on stderr and exit status 1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import json
import signal
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from semsum import __version__
from semsum.errors import SemsumError, Terminated

if TYPE_CHECKING:
    from semsum.pipeline.executors import Executor
    from semsum.pipeline.stages import StageConfig


class _Group(TyperGroup):
    """For every subcommand: SemsumError as `error: <message>` (one line) and exit 1; Ctrl-C and SIGTERM, after
    the work done so far is saved (jobs save it as they unwind), as one line and exit 130 or 143."""

    def invoke(self, ctx):
        signal.signal(signal.SIGTERM, _terminated)
        try:
            return super().invoke(ctx)
        except SemsumError as e:
            typer.echo(f"error: {e}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt as e:
            typer.echo("interrupted: work done so far is saved; run the same command again to continue", err=True)
            ctx.exit(143 if isinstance(e, Terminated) else 130)


def _terminated(signum: int, frame: object) -> None:
    raise Terminated()


def _typer(help: str) -> typer.Typer:
    return typer.Typer(
        cls=_Group,
        help=help,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode=None,
    )


app = _typer("Video summarization with semantic embeddings from multimodal LLMs.")
data_app = _typer(
    "Benchmark data: what is present and where to get the rest. The data folder is --data-dir, else $SEMSUM_DATA, "
    "else a user cache folder (`semsum data check` prints which); `make` sets $SEMSUM_DATA to ../shared/data."
)
dataset_app = _typer("Build eccv16-schema HDF5 files from raw videos.")
features_app = _typer("Feature extraction into eccv16-schema HDF5 files.")
extract_app = _typer("Compute features for a dataset file or for loose videos.")
align_app = _typer("F(x): map GoogLeNet features into the MLLM embedding space (train, apply).")
app.add_typer(data_app, name="data")
app.add_typer(dataset_app, name="dataset")
app.add_typer(features_app, name="features")
app.add_typer(extract_app, name="extract")
app.add_typer(align_app, name="align")
console = Console()


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"semsum {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Video summarization with semantic embeddings from multimodal LLMs."""


DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Benchmark data folder (default: $SEMSUM_DATA, else a user cache folder)."),
]

# ---------------------------------------------------------------- data


@data_app.command("check")
def data_check(data_dir: DataDir = None) -> None:
    """Verify the annotations and eccv16 HDF5 files (sha256) and say where to get what is missing."""
    from semsum.data import paths

    root = paths.data_dir(data_dir)
    results = paths.check(root)
    console.print(f"semsum data in {root} (set with --data-dir or ${paths.ENV_VAR})")
    for r in results:
        style = {"ok": "green", "missing": "red" if r.resource.required else "yellow"}.get(r.status, "red")
        need = "" if r.resource.required else " (optional)"
        console.print(f"[{style}]{r.status:8}[/] {r.resource.relpath}{need}  {r.detail}".rstrip(), highlight=False)
        if r.status != "ok":
            console.print(f"         {r.resource.what}: get it from {r.resource.source}", highlight=False)
    bad = [r for r in results if r.status == "bad hash" or (r.status == "missing" and r.resource.required)]
    if bad:
        raise SemsumError(
            f"{root}: {len(bad)} required file(s) missing or corrupt: " + ", ".join(r.resource.relpath for r in bad)
        )


@data_app.command("splits")
def data_splits(
    split_file: Annotated[Path, typer.Argument(help="Split file of any family: JSON, DSNet YAML or CSTA text.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Sizes of each split and whether the test sets are disjoint (a true k-fold) or overlap."""
    from semsum.data.splits import describe, load_splits

    info = describe(load_splits(split_file))
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    kind = "disjoint test sets (k-fold)" if info["test_sets_disjoint"] else "overlapping test sets (random splits)"
    console.print(
        f"{split_file.name}: {info['n_splits']} splits over {info['videos']} videos, {kind}; "
        f"{info['videos_tested']} videos ever tested; "
        f"train sizes {info['train_sizes']}, test sizes {info['test_sizes']}",
        highlight=False,
    )


import_app = _typer("Import third-party feature releases as eccv16-schema HDF5 files.")
data_app.add_typer(import_app, name="import")


@import_app.command("umt-tvsum")
def import_umt_tvsum_cmd(
    out: Annotated[Path, typer.Option("--out", help="eccv16-schema HDF5 to write (video_1..video_50).")],
    source: Annotated[
        Path | None,
        typer.Option("--source", help="UMT feature file (default: extra/umt-tvsum/ in the data folder)."),
    ] = None,
    shots: Annotated[str, typer.Option("--shots", help="Shots: uniform:K (K clips of 2 s) or kts:M.")] = "uniform:2",
    data_dir: DataDir = None,
) -> None:
    """Real I3D RGB+flow, audio and title features of the 50 TVSum videos with the official annotations."""
    from semsum.features.umt import import_umt_tvsum

    ds = import_umt_tvsum(out, source, data_dir, shots=shots, note=lambda line: typer.echo(f"note: {line}", err=True))
    console.print(f"wrote {out}: {len(ds)} TVSum videos, 2 s steps, shots {shots}", highlight=False)


# ---------------------------------------------------------------- evaluation
def _choices(name: str, *values: str) -> type[StrEnum]:
    """An enum of CLI choices (typer lists them in --help and rejects others); `test-best` becomes `test_best`."""
    return StrEnum(name, {v.replace("-", "_"): v for v in values})


DatasetName = _choices("DatasetName", "summe", "tvsum")
EvalDatasetName = _choices("EvalDatasetName", "summe", "tvsum", "mrhisum")
BaselineKind = _choices("BaselineKind", "human", "random", "ridge")
Protocol = _choices("Protocol", "otani", "csta")


JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]


def _print_result(title: str, result: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    table = Table(title=title)
    has_f = result.get("f_score") is not None
    for col in ("key", "video", "Kendall τ", "Spearman ρ", *(("F1",) if has_f else ())):
        table.add_column(col, justify="left" if col in ("key", "video") else "right")
    for key, v in result.get("per_video", {}).items():
        f = (f"{v['f_score']:.3f}",) if has_f else ()
        table.add_row(key, v["name"], f"{v['kendall_tau']:.3f}", f"{v['spearman_rho']:.3f}", *f)
    f = (f"{result['f_score']:.3f}",) if has_f else ()
    n, total = result.get("videos_evaluated"), result.get("videos_in_dataset")
    partial = f" of {n} of {total} videos" if n is not None and total is not None and n < total else ""
    table.add_row(
        "mean" + partial, "", f"{result['kendall_tau']:.3f}", f"{result['spearman_rho']:.3f}", *f, style="bold"
    )
    console.print(table)
    if partial:
        typer.echo(f"note: {total - n} of the dataset's {total} videos have no scores; the mean is over {n}", err=True)


@app.command("baseline")
def baseline(
    kind: Annotated[
        BaselineKind,
        typer.Argument(help="human: leave-one-out agreement; random: uniform scores; ridge: linear probe on --h5."),
    ],
    dataset: Annotated[DatasetName | None, typer.Option("--dataset", help="Benchmark (human, random).")] = None,
    data_dir: DataDir = None,
    trials: Annotated[int, typer.Option(help="Random baseline: seeded trials (mean and std reported).")] = 100,
    seed: Annotated[int, typer.Option(help="Random baseline: first seed.")] = 0,
    h5: Annotated[
        Path | None, typer.Option("--h5", help="Ridge: eccv16-schema HDF5 with features and gtscore.")
    ] = None,
    splits: Annotated[Path | None, typer.Option("--splits", help="Ridge: split file of any family.")] = None,
    features_key: Annotated[
        list[str] | None,
        typer.Option("--features-key", metavar="KEY", help="Ridge: feature key; repeat to concatenate several."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Reference rows of every table (Otani et al. protocol): human agreement, chance, or a ridge linear probe
    (alpha chosen inside each training fold; the table of `semsum train`)."""
    if kind is BaselineKind.ridge:
        return _baseline_ridge(h5, splits, features_key, data_dir, as_json)
    if dataset is None:
        raise SemsumError(f"baseline {kind.value}: give --dataset summe or tvsum")
    from semsum.data.annotations import load_annotations
    from semsum.evaluation import baselines

    annotations = load_annotations(dataset.value, data_dir)
    if kind is BaselineKind.human:
        result = {"dataset": dataset.value, "baseline": "human", **baselines.human(annotations).to_dict()}
        _print_result(f"Human (leave-one-out), {dataset.value}", result, as_json)
        return
    if trials < 1:
        raise SemsumError(f"--trials must be at least 1, got {trials}")
    from semsum.progress import progress_bars

    with progress_bars() as bar:
        task = bar.add_task("random trials", total=trials)
        trial_results = baselines.random_trials(annotations, trials, seed, lambda i: bar.update(task, completed=i))
    result = {"dataset": dataset.value, "baseline": "random", **trial_results}
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        console.print(
            f"Random, {dataset.value}, {trials} trials: Kendall τ {result['kendall_tau']:+.4f} "
            f"± {result['kendall_tau_std']:.4f}, Spearman ρ {result['spearman_rho']:+.4f} "
            f"± {result['spearman_rho_std']:.4f}"
        )


def _baseline_ridge(
    h5: Path | None, splits: Path | None, features_key: list[str] | None, data_dir: Path | None, as_json: bool
) -> None:
    from semsum.training.ridge import ridge_baseline
    from semsum.training.run import results_markdown

    if h5 is None or splits is None:
        raise SemsumError("baseline ridge: give --h5 FILE and --splits FILE")
    results = ridge_baseline(h5, splits, tuple(features_key or ["features"]), data_dir=data_dir)
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        console.print(results_markdown(results))


def _read_scores(path: Path) -> dict[str, list[float]]:
    """Frame scores by video key or name: `{video: [score per frame, ...]}` (predict, extract mllm), or the
    scores.json of `semsum summarize` (one video, named by its file's stem), saying on stderr which it read."""
    from semsum.atomic import read_json

    data = read_json(path)
    if isinstance(data, dict) and isinstance(data.get("frame_scores"), list) and isinstance(data.get("video"), str):
        name = Path(data["video"]).stem
        typer.echo(f"{path}: a `semsum summarize` scores.json; evaluating its frame_scores as video {name!r}", err=True)
        data = {name: data["frame_scores"]}
    if not isinstance(data, dict) or not data:
        raise SemsumError(f"{path}: expected an object mapping video keys or names to lists of frame scores")
    for key, value in data.items():
        if not isinstance(value, list) or not all(isinstance(x, (int, float)) for x in value):
            raise SemsumError(f"{path}: {key}: expected a list of numbers")
    return data


def _evaluate_mrhisum(scores: Path, h5: Path | None, as_json: bool) -> None:
    """Mr.HiSum's official F1 (percent), mAP@50 and mAP@15 of per-second scores against the labels in `h5`."""
    from semsum.data.mrhisum import MrHiSumFile
    from semsum.evaluation.mrhisum import evaluate

    if h5 is None:
        raise SemsumError(f"{scores}: --dataset mrhisum needs --h5 FILE (mr_hisum.h5, for its labels)")
    data = _read_scores(scores)
    with MrHiSumFile(h5) as f:
        videos = {k: f.read(k, features=False) for k in data if k in f}
    result = evaluate(data, videos, str(scores)).to_dict(per_video=as_json)
    if as_json:
        typer.echo(json.dumps({"dataset": "mrhisum", **result}, indent=2))
        return
    table = Table(title=f"Mr.HiSum: {result['n_videos']} videos")
    for col in ("F1 (%)", "mAP@50", "mAP@15"):
        table.add_column(col, justify="right")
    table.add_row(f"{result['f1']:.2f}", f"{result['map50']:.4f}", f"{result['map15']:.4f}")
    console.print(table)


@app.command("evaluate")
def evaluate_cmd(
    scores: Annotated[Path, typer.Argument(help="JSON: {video_N or video name: [score per frame, ...]}.")],
    dataset: Annotated[EvalDatasetName, typer.Option("--dataset", help="Benchmark the scores belong to.")],
    protocol: Annotated[Protocol, typer.Option(help="otani (default) or csta (as the published CSTA code).")] = (
        Protocol.otani
    ),
    h5: Annotated[
        Path | None, typer.Option(help="eccv16 file of the dataset: adds the F-score; needed by csta on SumMe.")
    ] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Kendall τ and Spearman ρ of frame-level scores against human annotations (and F1 with --h5).

    Mr.HiSum (`--dataset mrhisum --h5 mr_hisum.h5`): per-second scores; F1, mAP@50 and mAP@15 as the official code.
    """
    if dataset.value == "mrhisum":
        return _evaluate_mrhisum(scores, h5, as_json)
    import numpy as np

    from semsum.data.annotations import load_annotations
    from semsum.data.benchmarks import NAMES, recognise
    from semsum.data.h5 import load_dataset
    from semsum.evaluation.protocols import evaluate

    frame_scores = {k: np.asarray(v, dtype=np.float64) for k, v in _read_scores(scores).items()}
    annotations = load_annotations(dataset.value, data_dir)
    ds = load_dataset(h5, require=("change_points", "user_summary")) if h5 else None
    found = recognise(ds) if ds is not None else None
    if found is not None and found.dataset not in (None, dataset.value):
        raise SemsumError(f"{h5}: holds {NAMES[found.dataset]} ({found.how}), not {dataset.value}")
    result = evaluate(frame_scores, annotations, protocol.value, ds, source=str(scores))
    coverage = {"videos_evaluated": len(result.per_video), "videos_in_dataset": len(annotations)}
    _print_result(
        f"{scores.name} on {dataset.value} ({result.protocol} protocol; annotations: {result.annotations})",
        {"dataset": dataset.value, **coverage, **result.to_dict()},
        as_json,
    )


# ---------------------------------------------------------------- video

GoogLeNetWeights = Annotated[
    Path | None,
    typer.Option(
        "--googlenet-weights",
        help="torchvision GoogLeNet ImageNet weights (googlenet-1378be20.pth); default: $SEMSUM_GOOGLENET_WEIGHTS, "
        "torch's hub cache, else download.",
    ),
]
RandomGoogLeNet = Annotated[
    bool,
    typer.Option("--random-googlenet", help="Use a seeded random-initialised GoogLeNet (tests, demos; no weights)."),
]
InputSize = Annotated[int, typer.Option("--input-size", help="GoogLeNet input size (eccv16: 224).")]
Step = Annotated[
    int | None,
    typer.Option(
        "--step", help="Sample every STEP-th frame (default: 15, the benchmarks'; summarize: finer for short videos)."
    ),
]
Fps = Annotated[float | None, typer.Option("--fps", help="Sample at this rate (timestamps) instead of --step.")]
Device = Annotated[str, typer.Option("--device", help="auto (GPU when present), cpu, cuda, cuda:N.")]
BatchSize = Annotated[int, typer.Option("--batch-size", help="Frames per decoded and encoded batch.")]
MaxSegment = Annotated[
    int, typer.Option("--max-segment", help="KTS bound on shot length in sampled steps (0: unbounded, O(n^2) memory).")
]


Encoder = Annotated[
    str,
    typer.Option(
        "--encoder",
        help="Frame encoder by name: googlenet (pool5), videollava (Video-LLaVA windows, --mllm-model), "
        "fx (F(x) of GoogLeNet, --mapper), or a plugin's.",
    ),
]
ShotsOption = Annotated[
    str | None,
    typer.Option(
        "--shots",
        help="Shot detector by name: auto (summarize's default: transnetv2 on a GPU or up to 2,000 frames, else kts), "
        "kts (dataset build's default), transnetv2, or a plugin's.",
    ),
]
MapperOption = Annotated[
    Path | None,
    typer.Option("--mapper", help="F(x) mapper from `semsum align train` (--encoder fx, --features mapped)."),
]
MllmModel = Annotated[
    str | None,
    typer.Option(
        "--mllm-model", help="Video-LLaVA id or folder (default 7B-hf) for --encoder videollava, zero-shot, runs."
    ),
]
# The options of the stages every video job runs (see _stage_options): name, type, default.
_STAGE_OPTIONS = (
    ("encoder", Encoder, "googlenet"),
    ("shots", ShotsOption, None),
    ("step", Step, None),
    ("fps", Fps, None),
    ("batch_size", BatchSize, 32),
    ("googlenet_weights", GoogLeNetWeights, None),
    ("random_googlenet", RandomGoogLeNet, False),
    ("input_size", InputSize, 224),
    ("device", Device, "auto"),
    ("max_segment", MaxSegment, 120),
    ("mapper", MapperOption, None),
    ("mllm_model", MllmModel, None),
)


def _evaluated(annotation: Any, namespace: dict[str, Any]) -> Any:
    """A string annotation (this module's, `from __future__ import annotations`) as the object typer needs; one
    naming a type known only to type checkers (another option group's argument) stays a string."""
    try:
        return eval(annotation, namespace) if isinstance(annotation, str) else annotation
    except NameError:
        return annotation


def _option_group(name: str, options: tuple[tuple[str, Any, Any], ...], make: Callable[..., Any]):
    """A decorator giving a command the CLI `options` (name, type, default) of one concern; the command receives
    `make(**their values)` as its argument `name` instead of the loose values (one list serves every command)."""

    def decorate(command):
        own = [
            p.replace(annotation=_evaluated(p.annotation, command.__globals__))
            for p in inspect.signature(command).parameters.values()
            if p.name != name
        ]
        extra = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a) for n, a, d in options]

        @functools.wraps(command)
        def run(**kwargs):
            values = {option: kwargs.pop(option) for option, _, _ in options}
            return command(**{name: make(**values)}, **kwargs)

        run.__signature__ = inspect.Signature([*own, *extra])
        run.__annotations__ = {p.name: p.annotation for p in run.__signature__.parameters.values()}
        return run

    return decorate


def _stage_config(step: int | None, fps: float | None, batch_size: int, **options: Any):
    from semsum.pipeline.sampling import SamplingConfig
    from semsum.pipeline.stages import StageConfig

    return StageConfig(sampling=SamplingConfig(step, fps, batch_size), **options)


# The stages a video job runs, as one `stages` argument (a `semsum.pipeline.stages.StageConfig`).
_stage_options = _option_group("stages", _STAGE_OPTIONS, _stage_config)


RunDir = Annotated[
    Path | None,
    typer.Option(
        "--run", help="A run trained with `semsum train` (on features, features_mllm and/or features_mapped)."
    ),
]
RunFeatures = Annotated[
    str,
    typer.Option(
        "--features",
        help="How a run's features_mllm input is made: mllm (Video-LLaVA) or mapped (F(x) of GoogLeNet, --mapper).",
    ),
]


@app.command("summarize")
@_stage_options
def summarize_cmd(
    stages: StageConfig,
    video: Annotated[Path, typer.Argument(help="Video file (anything FFmpeg reads: mp4, avi, webm, mkv, ...).")],
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="Output folder (default: ./<video stem>_summary).")
    ] = None,
    run: RunDir = None,
    features: RunFeatures = "mllm",
    scorer: Annotated[
        str,
        typer.Option("--scorer", help="Scorer without --run: coverage or zero-shot (Video-LLaVA); both training-free."),
    ] = "coverage",
    budget: Annotated[float, typer.Option("--budget", help="Summary length as a fraction of the video.")] = 0.15,
    max_unit: Annotated[
        float,
        typer.Option(
            "--max-unit", help="Longest moment in seconds: longer shots are split where their content changes."
        ),
    ] = 4.0,
) -> None:
    """Summarize a video: summary.mp4, scores.json and timeline.png in the output folder."""
    from semsum.pipeline import make_scorer, summarize

    out = out if out is not None else Path(f"{video.stem}_summary")
    device = stages.device
    chosen = make_scorer(
        scorer,
        run,
        device="cpu" if device == "auto" else device,
        mllm_model=stages.mllm_model,
        mllm_device=device,
        features=features,
        mapper=stages.mapper,
    )
    frame_encoder, detector = stages.build(default_shots="auto")
    r = summarize(video, out, chosen, frame_encoder, detector, stages.sampling, budget, max_unit=max_unit)
    for warning in r.warnings:
        typer.echo(f"warning: {warning}", err=True)
    console.print(
        f"scorer: {chosen.name}\nfeatures: {r.video.encoder_description}\n"
        f"{len(r.shots)} shots ({r.shot_detector}); kept {len(r.selected)} of {len(r.units)} selection units: "
        f"{r.summary_seconds:.1f} s of {r.video.n_frames / r.video.info.fps:.1f} s"
        f"{' with audio' if r.summary_has_audio else ''}\n"
        f"wrote {r.summary_path}, {r.scores_path}, {r.timeline_path}",
        soft_wrap=True,  # paths and the summary line stay whole, however narrow the terminal
    )


@app.command("app")
@_stage_options
def app_cmd(
    stages: StageConfig,
    host: Annotated[str, typer.Option("--host", help="Address to serve on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 7860,
    share: Annotated[bool, typer.Option("--share", help="Also serve through a public gradio.live link.")] = False,
    run: RunDir = None,
    features: RunFeatures = "mllm",
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", help="Largest upload accepted.")] = 500.0,
    max_minutes: Annotated[float, typer.Option("--max-minutes", help="Longest video accepted.")] = 30.0,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Summaries computed at once; others queue.")] = 1,
    example_dir: Annotated[
        Path | None, typer.Option("--example-dir", help="Where the example video is made (default: a cache folder).")
    ] = None,
) -> None:
    """A web page (Gradio) that summarizes an uploaded video; its API endpoint is /summarize."""
    try:
        from semsum.app import Limits, serve
    except ModuleNotFoundError as e:
        raise SemsumError(f"semsum app needs the {e.name} package: pip install 'semsum[app]'") from None
    serve(stages, run, features, host, port, share, Limits(max_upload_mb, max_minutes), concurrency, example_dir)


ExecutorName = Annotated[
    str,
    typer.Option("--executor", help="Where the videos are processed: local (this process) or ray (docs/scale.md)."),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="Ray cluster to run on (default: $RAY_ADDRESS, else a local instance for the run). --executor ray.",
    ),
]
Actors = Annotated[int, typer.Option("--actors", help="Ray actors, each holding one copy of the model.")]
GpusPerActor = Annotated[float, typer.Option("--gpus-per-actor", help="GPUs each Ray actor reserves (0: CPU).")]
CpusPerActor = Annotated[float, typer.Option("--cpus-per-actor", help="CPUs each Ray actor reserves (decoding).")]


def _executor(executor: str, ray_address: str | None, actors: int, gpus_per_actor: float, cpus_per_actor: float):
    """The executor named by --executor, with its options."""
    from semsum.pipeline.executors import LocalExecutor, RayExecutor

    if executor == "local":
        return LocalExecutor()
    if executor == "ray":
        return RayExecutor(
            address=ray_address, actors=actors, gpus_per_actor=gpus_per_actor, cpus_per_actor=cpus_per_actor
        )
    raise SemsumError(f"--executor {executor!r}: expected local or ray")


# Where a job's videos are processed, as one `run_on` argument (an executor).
_executor_options = _option_group(
    "run_on",
    (
        ("executor", ExecutorName, "local"),
        ("ray_address", RayAddress, None),
        ("actors", Actors, 1),
        ("gpus_per_actor", GpusPerActor, 0.0),
        ("cpus_per_actor", CpusPerActor, 1.0),
    ),
    _executor,
)


@contextlib.contextmanager
def _failures_exit_2():
    """Videos that failed (the others written): one `error: FILE: problem` line each on stderr, exit status 2."""
    from semsum.pipeline.executors import VideosFailed

    try:
        yield
    except VideosFailed as e:
        for failure in e.failures:
            typer.echo(f"error: {failure.line}", err=True)
        written = len(e.dataset) if e.dataset is not None else 0
        typer.echo(f"{len(e.failures)} video(s) failed, {written} written; report: {e.report}", err=True)
        raise typer.Exit(2) from None


@dataset_app.command("build")
@_stage_options
@_executor_options
def dataset_build(
    stages: StageConfig,
    videos: Annotated[Path, typer.Option("--videos", help="Folder of video files.")],
    out: Annotated[Path, typer.Option("--out", help="eccv16-schema HDF5 file to write.")],
    annotations: Annotated[
        DatasetName | None,
        typer.Option(
            "--annotations", help="Add gtscore/user_summary from SumMe or TVSum (videos matched by file stem)."
        ),
    ] = None,
    data_dir: DataDir = None,
    run_on: Executor | None = None,
) -> None:
    """Features, picks, n_frames and shots (change_points) per video (resumable; atomic), plus annotations.

    A video that fails is named on stderr and in OUT's .report.json, the others are written, and the exit status
    is 2."""
    from semsum.pipeline.build import build_dataset

    with _failures_exit_2():
        ds = build_dataset(
            videos,
            out,
            annotations=annotations.value if annotations else None,
            data_dir=data_dir,
            executor=run_on,
            stages=stages,
        )
    console.print(f"wrote {out}: {len(ds)} videos ({', '.join(ds.keys()[:5])}{', ...' if len(ds) > 5 else ''})")


@app.command("demo")
def demo_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for the sample video and its summary.")] = Path("demo_out"),
    googlenet_weights: GoogLeNetWeights = None,
) -> None:
    """Generate a 60 s sample video (5 scenes, with sound) and summarize it end to end."""
    from semsum.pipeline.demo import run_demo

    run_demo(out, googlenet_weights, console)


# ---------------------------------------------------------------- training
def _settings(cls: type, args: dict, **overrides: object) -> object:
    """A settings dataclass from a command's arguments of the same names (choices by value), plus `overrides`."""
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v.value if isinstance(v, StrEnum) else v for k, v in args.items() if k in names}
    return cls(**{**values, **overrides})


ModelName = _choices("ModelName", "csta", "vasnet", "pgl-sum")
StreamSelection = _choices("StreamSelection", "map50", "map15", "f1", "last")
Selection = _choices("Selection", "last", "val", "test-best")
AnnotationSource = _choices("AnnotationSource", "auto", "h5", "summe", "tvsum")


RunOut = Annotated[Path, typer.Option("--out", help="Run directory (re-running it resumes).")]


@app.command("train")
def train_cmd(
    h5: Annotated[Path, typer.Option("--h5", help="eccv16-schema HDF5 with features and gtscore.")],
    splits: Annotated[Path, typer.Option("--splits", help="Split file of any family (CSTA txt, JSON, YAML).")],
    out: RunOut,
    model: Annotated[ModelName, typer.Option("--model", help="Summarizer.")] = ModelName.csta,
    features_key: Annotated[
        list[str] | None,
        typer.Option("--features-key", metavar="KEY", help="Feature key; repeat to concatenate several."),
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs per fold (official CSTA: 100).")] = 100,
    lr: Annotated[
        float, typer.Option("--lr", help="Adam learning rate (the paper's 1e-3 is for CSTA; VASNet needs 1e-4).")
    ] = 1e-3,
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="Adam weight decay.")] = 1e-7,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Videos per optimiser step.")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 123456,
    select: Annotated[
        Selection,
        typer.Option(
            "--select",
            help="Model selection: last epoch (default) or best on a validation split carved from the training "
            "folds, both leakage-free; test-best is the published CSTA protocol, which selects on the test fold.",
        ),
    ] = Selection.last,
    val_fraction: Annotated[
        float, typer.Option("--val-fraction", help="Share of training videos held out for --select val.")
    ] = 0.2,
    normalize: Annotated[bool, typer.Option("--normalize/--no-normalize", help="Min-max gtscore per video.")] = True,
    deterministic: Annotated[bool, typer.Option("--deterministic/--fast", help="Deterministic kernels.")] = True,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:1 ...")] = "auto",
    cnn_weights: Annotated[
        str, typer.Option("--cnn-weights", help="CSTA's attention CNN: auto (ImageNet if on disk), imagenet, random.")
    ] = "auto",
    googlenet_weights: Annotated[
        Path | None, typer.Option("--googlenet-weights", help="torchvision GoogLeNet weights file for CSTA's CNN.")
    ] = None,
    annotations: Annotated[
        AnnotationSource,
        typer.Option(
            "--annotations",
            help="Evaluate against: auto (SumMe/TVSum recognised by sha256 or frame counts, else the file's "
            "user_summary), h5, summe, tvsum.",
        ),
    ] = AnnotationSource.auto,
    data_dir: DataDir = None,
) -> None:
    """Train a summarizer with k-fold cross-validation; writes checkpoints, TensorBoard logs and results."""
    from semsum.training import TrainConfig, train

    model_kwargs: dict = {}
    if model is ModelName.csta:
        model_kwargs = {"cnn_weights": cnn_weights}
        if googlenet_weights is not None:
            model_kwargs["googlenet_weights"] = str(googlenet_weights)
    cfg = _settings(TrainConfig, locals(), feature_keys=tuple(features_key or ["features"]), model_kwargs=model_kwargs)
    results = train(h5, splits, out, cfg, annotations=annotations.value, data_dir=data_dir)
    console.print((out / "results.md").read_text())
    if results["annotations"]["note"]:
        typer.echo(f"warning: {results['annotations']['note']}", err=True)


@app.command("reproduce")
def reproduce_cmd(
    config: Annotated[Path | None, typer.Option("--config", help="Experiment file (TOML; see --init).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder: every stage's results and the report.")] = Path(
        "reproduce_out"
    ),
    only: Annotated[
        list[str] | None, typer.Option("--only", metavar="STAGE", help="Run only: extract, align, train, report.")
    ] = None,
    init: Annotated[Path | None, typer.Option("--init", help="Write a commented template config to this file.")] = None,
) -> None:
    """The paper's Tables 1 and 2 from raw data in one resumable command (report in OUT/report.md)."""
    from semsum.pipeline.reproduce import reproduce, write_template

    if init is not None:
        write_template(init)
        console.print(f"wrote {init}: edit the paths, then `semsum reproduce --config {init}`", highlight=False)
        return
    if config is None:
        raise SemsumError("reproduce: give --config FILE.toml (or --init FILE.toml for a template)")
    report, ran = reproduce(config, out, only)
    console.print(f"{len(ran)} stages computed, the rest reused; {report['status']}", highlight=False)
    if not only or "report" in only:
        console.print(f"wrote {out / 'report.md'} and {out / 'report.json'}", highlight=False)


@app.command("train-stream")
def train_stream_cmd(
    h5: Annotated[Path, typer.Option("--h5", help="Mr.HiSum-schema HDF5 (mr_hisum.h5 with features).")],
    out: RunOut,
    split: Annotated[Path, typer.Option("--split", help="Split JSON with train_keys, val_keys, test_keys.")],
    model: Annotated[ModelName, typer.Option("--model", help="Summarizer.")] = ModelName.pgl_sum,
    features_key: Annotated[str, typer.Option("--features-key", help="Feature dataset of each video.")] = "features",
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs (official Mr.HiSum: 200).")] = 200,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate (official: 5e-5).")] = 5e-5,
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="Adam weight decay (official: 1e-4).")] = 1e-4,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Videos per optimiser step (official: 256).")] = 256,
    pass_frames: Annotated[
        int, typer.Option("--pass-frames", help="Padded steps per forward pass: bounds memory, not the result.")
    ] = 2048,
    workers: Annotated[int, typer.Option("--workers", help="Reader processes (0: read in this process).")] = 2,
    prefetch: Annotated[int, typer.Option("--prefetch", help="Batches each reader prepares ahead.")] = 2,
    float16: Annotated[bool, typer.Option("--float16", help="Pass features as float16 from the readers.")] = False,
    normalize: Annotated[
        bool, typer.Option("--normalize/--no-normalize", help="Min-max gtscore per video (official: no).")
    ] = False,
    select: Annotated[
        StreamSelection, typer.Option("--select", help="Validation criterion of model.pt and scores.json.")
    ] = StreamSelection.map50,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    deterministic: Annotated[bool, typer.Option("--deterministic/--fast", help="Deterministic kernels.")] = True,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:1 ...")] = "auto",
    cnn_weights: Annotated[
        str, typer.Option("--cnn-weights", help="CSTA's attention CNN: auto (ImageNet if on disk), imagenet, random.")
    ] = "auto",
) -> None:
    """Train on a Mr.HiSum-schema file, streaming features in padded batches; selects on val, reports test metrics."""
    from semsum.training.stream import StreamConfig, train_stream

    cfg = _settings(
        StreamConfig, locals(), model_kwargs={"cnn_weights": cnn_weights} if model is ModelName.csta else {}
    )
    train_stream(h5, split, out, cfg)
    console.print((out / "results.md").read_text())


@app.command("predict")
def predict_cmd(
    run: Annotated[Path, typer.Option("--run", help="Run directory written by `semsum train` or `train-stream`.")],
    h5: Annotated[
        Path,
        typer.Option(
            "--h5", help="eccv16-schema HDF5 with the run's feature keys, or a Mr.HiSum-schema file (per second)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="JSON {video key: [score per frame]} for `semsum evaluate`.")],
    fold: Annotated[int | None, typer.Option("--fold", help="Use this fold's model for every video.")] = None,
) -> None:
    """Frame-level scores from a trained run: out-of-fold for the training videos, fold mean for others."""
    from semsum.atomic import write_json
    from semsum.data.benchmarks import NAMES, recognise
    from semsum.data.h5 import load_dataset
    from semsum.data.mrhisum import is_mrhisum_file
    from semsum.summary.keyshots import frame_scores
    from semsum.training import load_run
    from semsum.training.stream import predict_mrhisum

    trained = load_run(run, fold=fold)
    if is_mrhisum_file(h5):
        scores = {k: v.tolist() for k, v in predict_mrhisum(trained, h5).items()}
        write_json(out, scores)
        console.print(f"wrote {len(scores)} videos to {out}: semsum evaluate {out} --dataset mrhisum --h5 {h5}")
        return
    ds = load_dataset(h5, require=("n_frames", "picks", *trained.feature_keys))
    scores = {}
    for v in ds:
        steps = trained.predict_video(v.key, v.feature_matrix(trained.feature_keys, str(h5)))
        scores[v.key] = frame_scores(steps, v.picks, v.n_frames).tolist()
    write_json(out, scores)
    console.print(f"wrote {len(scores)} videos to {out}", highlight=False)
    found = recognise(ds)
    if found.dataset is None:
        console.print(f"{h5.name}: {found.how}; no benchmark annotations to evaluate against", highlight=False)
    else:
        console.print(
            f"{h5.name}: {NAMES[found.dataset]} ({found.how}): semsum evaluate {out} --dataset {found.dataset}",
            highlight=False,
        )


@features_app.command("captions")
def features_captions(
    captions: Annotated[Path, typer.Option("--captions", help="Dense captions JSON keyed by video_N.")],
    dataset: Annotated[DatasetName, typer.Option("--dataset", help="Benchmark whose annotations to attach.")],
    out: Annotated[Path, typer.Option("--out", help="Output eccv16-schema HDF5.")],
    text_model: Annotated[
        str, typer.Option("--text-model", help="sentence-transformers model id or local folder.")
    ] = "sentence-transformers/all-MiniLM-L6-v2",
    device: Annotated[str, typer.Option("--device", help="cpu or cuda.")] = "cpu",
    data_dir: DataDir = None,
) -> None:
    """Caption embeddings per sampled step, with the benchmark's gtscore and user summaries."""
    from semsum.features.captions import write_caption_features

    ds = write_caption_features(captions, dataset.value, out, text_model, data_dir, device)
    console.print(f"wrote {len(ds)} videos ({sum(v.n_steps for v in ds)} steps) to {out}")


# ---------------------------------------------------------------- extract


@extract_app.command("mllm")
@_executor_options
def extract_mllm(
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
    model: Annotated[
        str, typer.Option("--model", help="Hugging Face id or local folder of a Video-LLaVA (-hf) model.")
    ] = "LanguageBind/Video-LLaVA-7B-hf",
    revision: Annotated[str | None, typer.Option("--revision", help="Model revision (hub only).")] = None,
    prompt: Annotated[str, typer.Option("--prompt", help="importance, summarize, or a prompt file.")] = "importance",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per forward pass.")] = 4,
    vision_cache: Annotated[
        bool, typer.Option("--vision-cache/--no-vision-cache", help="Encode each frame once for its 8 windows.")
    ] = True,
    padding: Annotated[str, typer.Option("--padding", help="Window edges: edge (repeat) or reflect.")] = "edge",
    step: Annotated[int, typer.Option("--step", help="Loose videos: sample every STEP-th frame.")] = 15,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N.")] = "auto",
    dtype: Annotated[str, typer.Option("--dtype", help="auto (bf16/fp16 on GPU), float32, bfloat16.")] = "auto",
    attn: Annotated[str, typer.Option("--attn", help="auto (flash_attention_2 if installed, else sdpa).")] = "auto",
    quantize: Annotated[str | None, typer.Option("--quantize", help="8bit or 4bit (CUDA + bitsandbytes).")] = None,
    replace_features: Annotated[
        bool, typer.Option("--replace-features", help="Write the embeddings as `features` instead of features_mllm.")
    ] = False,
    store_dtype: Annotated[str, typer.Option("--store-dtype", help="float32 or float16.")] = "float32",
    scores_out: Annotated[
        Path | None, typer.Option("--scores-out", help="Also write the zero-shot frame scores for `semsum evaluate`.")
    ] = None,
    run_on: Executor | None = None,
) -> None:
    """MLLM semantic embeddings (paper Eq. 1) per sampled frame, plus zero-shot scores; resumable per video.

    A video that fails is named on stderr and in OUT's .report.json, the others are written, and the exit status
    is 2."""
    from semsum.data.mrhisum import is_mrhisum_file
    from semsum.features import mllm
    from semsum.pipeline import extract

    if bool(videos) == (h5 is not None):
        raise SemsumError("extract mllm: give either VIDEO files or --h5 DATASET.h5 with --videos DIR")
    if h5 is not None and videos_dir is None:
        raise SemsumError(f"{h5}: --videos DIR is needed to find the dataset's videos")
    model_options = {
        "model": model,
        "prompt": prompt,
        "revision": revision,
        "device": device,
        "dtype": dtype,
        "attn": attn,
        "quantize": quantize,
        "batch_size": batch_size,
        "vision_cache": vision_cache,
        "padding": padding,
    }
    # In process the model loads here, once (its errors come first); on Ray each actor loads its own.
    embedder = mllm.MLLMEmbedder.from_pretrained(**model_options) if run_on.name == "local" else None
    options = {"replace_features": replace_features, "store_dtype": store_dtype, "progress": True}
    options |= {"executor": run_on, "model_options": model_options}
    with _failures_exit_2():
        if h5 is not None and is_mrhisum_file(h5):
            if mapping is None:
                raise SemsumError(f"{h5}: a Mr.HiSum file needs --mapping metadata.csv (video_id -> youtube_id)")
            paths, missing = extract.resolve_mrhisum(h5, videos_dir, mapping)
            if missing:
                total = len(paths) + len(missing)
                typer.echo(f"{h5}: {len(missing)} of {total} videos have no file in {videos_dir}: skipped")
            dataset = extract.extract_mrhisum(embedder, h5, paths, out, **options)
        elif h5 is not None:
            dataset = extract.extract_dataset(embedder, h5, videos_dir, out, mapping, **options)
        else:
            dataset = extract.extract_videos(embedder, videos, out, step, **options)
    console.print(f"wrote {out}: {len(dataset)} videos, {sum(v.n_steps for v in dataset)} windows")
    if scores_out is not None:
        from semsum.atomic import write_json

        write_json(scores_out, extract.zero_shot_frame_scores(dataset))
        console.print(f"wrote {scores_out}: zero-shot frame scores (evaluate with `semsum evaluate {scores_out}`)")


# ---------------------------------------------------------------- align


@align_app.command("train")
def align_train(
    h5: Annotated[Path, typer.Option("--h5", help="eccv16-schema file holding both feature keys.")],
    out: Annotated[Path, typer.Option("--out", help="Mapper checkpoint to write (.pt).")],
    mode: Annotated[
        str,
        typer.Option(
            help="regression | adversarial | two-stage | conditional | ridge | regression+adversarial | auto "
            "(ridge or regression, whichever has the higher held-out cosine)"
        ),
    ] = "regression",
    source: Annotated[str, typer.Option(help="Input feature key.")] = "features",
    target: Annotated[str, typer.Option(help="Target feature key.")] = "features_mllm",
    splits: Annotated[Path | None, typer.Option(help="Split file: train only on one fold's training videos.")] = None,
    fold: Annotated[int | None, typer.Option(help="Split index (with --splits; default 0).")] = None,
    epochs: Annotated[int, typer.Option()] = 20,
    depth: Annotated[int, typer.Option(help="Residual blocks.")] = 1,
    width: Annotated[int, typer.Option(help="Hidden width.")] = 1024,
    dropout: Annotated[float, typer.Option()] = 0.0,
    weight_decay: Annotated[float, typer.Option()] = 1e-4,
    lr: Annotated[float, typer.Option(help="Regression learning rate.")] = 3e-3,
    lr_g: Annotated[
        float | None,
        typer.Option(help="Generator learning rate while adversarial (default: 5e-6 after a warm start, else 2e-4)."),
    ] = None,
    lr_d: Annotated[float, typer.Option(help="Discriminator learning rate.")] = 2e-4,
    adv_weight: Annotated[float, typer.Option(help="Weight of Eq. 3 in regression+adversarial.")] = 0.1,
    warmup_epochs: Annotated[
        int | None,
        typer.Option(help="Regression epochs before adversarial ones (default: two-stage/conditional 10, else 0)."),
    ] = None,
    gp: Annotated[str, typer.Option(help="Gradient penalty: none | wgan-gp | r1.")] = "none",
    gp_weight: Annotated[float, typer.Option()] = 10.0,
    feature_matching: Annotated[float, typer.Option(help="Weight of the feature-matching loss.")] = 0.0,
    spectral_norm: Annotated[bool, typer.Option(help="Spectral normalisation in the discriminator.")] = False,
    cycle_weight: Annotated[float, typer.Option(help="vec2vec cycle-consistency weight (adds G(y)).")] = 0.0,
    vsp_weight: Annotated[float, typer.Option(help="vec2vec vector-space-preservation weight.")] = 0.0,
    val_fraction: Annotated[float, typer.Option(help="Training videos held out to watch cosine.")] = 0.1,
    seed: Annotated[int, typer.Option()] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda.")] = "auto",
    log_dir: Annotated[Path | None, typer.Option(help="TensorBoard log folder.")] = None,
) -> None:
    """Learn F(x) from the aligned pairs (same video, same pick) of SOURCE and TARGET features.

    Rerunning a killed command with the same options resumes it from OUT.state.
    """
    from semsum.align.commands import train_from_h5
    from semsum.align.train import TrainConfig

    config = TrainConfig(
        mode="regression" if mode in ("ridge", "auto") else mode,
        depth=depth,
        width=width,
        dropout=dropout,
        epochs=epochs,
        lr=lr,
        weight_decay=weight_decay,
        lr_g=lr_g,
        lr_d=lr_d,
        adv_weight=adv_weight,
        warmup_epochs=warmup_epochs,
        gp=gp,
        gp_weight=gp_weight,
        feature_matching=feature_matching,
        spectral_norm=spectral_norm,
        cycle_weight=cycle_weight,
        vsp_weight=vsp_weight,
        seed=seed,
        device=device,
    )
    report = train_from_h5(
        h5,
        out,
        config,
        source,
        target,
        splits,
        fold,
        val_fraction,
        log_dir,
        ridge=mode == "ridge",
        progress=True,
        auto=mode == "auto",
    )
    console.print(report)


@align_app.command("apply")
def align_apply(
    mapper: Annotated[Path, typer.Option("--mapper", help="Checkpoint from `semsum align train`.")],
    h5: Annotated[Path, typer.Option("--h5", help="eccv16-schema input file.")],
    out: Annotated[Path, typer.Option("--out", help="Copy of the input with `features_mapped` added.")],
    source: Annotated[str | None, typer.Option(help="Input key (default: the mapper's).")] = None,
) -> None:
    """Copy H5 to OUT and add `features_mapped` = F(source) [n_steps, out_dim] to every video."""
    from semsum.align.commands import apply_to_h5

    apply_to_h5(mapper, h5, out, source)
    console.print(f"wrote {out}")
