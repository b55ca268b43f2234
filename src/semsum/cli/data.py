"""Benchmark data, baselines and evaluation: `semsum data ...`, `semsum baseline`, `semsum evaluate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from semsum.cli.base import DataDir, DatasetName, JsonFlag, app, choices, console, data_app, make_typer
from semsum.errors import SemsumError


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


import_app = make_typer("Import third-party feature releases as eccv16-schema HDF5 files.")
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


EvalDatasetName = choices("EvalDatasetName", "summe", "tvsum", "mrhisum")
BaselineKind = choices("BaselineKind", "human", "random", "ridge")
Protocol = choices("Protocol", "otani", "csta")


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
    h5: Annotated[Path | None, typer.Option("--h5", help="Ridge: eccv16-schema HDF5 with features, gtscore.")] = None,
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
    _baseline_random(annotations, dataset.value, trials, seed, as_json)


def _baseline_random(annotations: dict, dataset: str, trials: int, seed: int, as_json: bool) -> None:
    from semsum.evaluation import baselines
    from semsum.progress import progress_bars

    if trials < 1:
        raise SemsumError(f"--trials must be at least 1, got {trials}")
    with progress_bars() as bar:
        task = bar.add_task("random trials", total=trials)
        trial_results = baselines.random_trials(annotations, trials, seed, lambda i: bar.update(task, completed=i))
    result = {"dataset": dataset, "baseline": "random", **trial_results}
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        console.print(
            f"Random, {dataset}, {trials} trials: Kendall τ {result['kendall_tau']:+.4f} "
            f"± {result['kendall_tau_std']:.4f}, Spearman ρ {result['spearman_rho']:+.4f} "
            f"± {result['spearman_rho_std']:.4f}"
        )


def _baseline_ridge(
    h5: Path | None, splits: Path | None, features_key: list[str] | None, data_dir: Path | None, as_json: bool
) -> None:
    from semsum.training.results import run_markdown
    from semsum.training.ridge import ridge_baseline

    if h5 is None or splits is None:
        raise SemsumError("baseline ridge: give --h5 FILE and --splits FILE")
    results = ridge_baseline(h5, splits, tuple(features_key or ["features"]), data_dir=data_dir)
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        console.print(run_markdown(results))


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
