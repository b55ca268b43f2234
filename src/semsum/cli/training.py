"""Training and using summarizers: `semsum train`, `train-stream`, `predict`, `reproduce`.

The settings of `train` and `train-stream` are generated from their config dataclasses (`TrainConfig`,
`StreamConfig`: one default each), the model's own options from its declaration in `semsum.models`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from semsum.cli.base import DataDir, Device, RunOut, app, choices, console
from semsum.cli.declared import Declaration, declared_command, values
from semsum.errors import SemsumError

_MODEL = "Summarizer by name: csta, vasnet, pgl-sum, or one registered in semsum.models.MODELS."
_DETERMINISTIC = {"deterministic": "--deterministic/--fast"}
_SHARED_HELP = {
    "model": _MODEL,
    "seed": "Random seed.",
    "deterministic": "Deterministic kernels.",
}
_TRAIN = Declaration.of(
    "semsum.training.trainer:TrainConfig",
    skip=("feature_keys", "device", "model_kwargs", "lr_grid"),  # lr_grid: Python API, reproduce's [train.NAME]
    flags=_DETERMINISTIC,
    help=_SHARED_HELP
    | {
        "epochs": "Epochs per fold (official CSTA: 100).",
        "lr": "Adam learning rate (the paper's 1e-3 is for CSTA; VASNet needs 1e-4).",
        "weight_decay": "Adam weight decay.",
        "batch_size": "Videos per optimiser step.",
        "select": "Model selection: last epoch (default), val (best on a validation split carved from the training "
        "folds) or inner-cv (the epoch count chosen by cross-validation inside the training folds, then a refit on "
        "all of them), all leakage-free; test-best is the published CSTA protocol, which selects on the test fold.",
        "val_fraction": "Share of training videos held out for --select val.",
        "normalize": "Min-max gtscore per video.",
        "standardize": "Standardise the input features by their mean and std on each fold's training videos "
        "(kept in the saved model).",
        "dropout": "The model's dropout rate (default: the model's own).",
        "val_every": "With --select val: also check the validation videos every N training videos (0: epoch ends).",
        "refit": "With --select val: retrain on all training videos for the chosen passes, and keep that model.",
        "inner_folds": "With --select inner-cv: the groups each fold's training videos are split into.",
        "refit_by": "How long a refit (--refit, --select inner-cv) trains on all training videos: the chosen number of "
        "passes over the data (default) or of optimiser updates (steps).",
        "project": "Learned linear projection of the input to this many dimensions in front of the model.",
        "input_dropout": "Dropout on the model's input features (training only).",
        "loss": "Training loss per video: mse (the paper's), pearson (1 - correlation with the target) or rank"
        " (pairwise logistic on the order).",
    },
)
_STREAM = Declaration.of(
    "semsum.training.stream:StreamConfig",
    skip=("device", "model_kwargs"),
    flags=_DETERMINISTIC,
    help=_SHARED_HELP
    | {
        "features_key": "Feature dataset of each video.",
        "epochs": "Epochs (official Mr.HiSum: 200).",
        "lr": "Adam learning rate (official: 5e-5).",
        "weight_decay": "Adam weight decay (official: 1e-4).",
        "batch_size": "Videos per optimiser step (official: 256).",
        "pass_frames": "Padded steps per forward pass: bounds memory, not the result.",
        "workers": "Reader processes (0: read in this process).",
        "prefetch": "Batches each reader prepares ahead.",
        "float16": "Pass features as float16 from the readers.",
        "normalize": "Min-max gtscore per video (official: no).",
        "select": "Validation criterion of the saved model and scores.json: map50, map15, f1, last.",
    },
)


def _summarizers() -> list:
    from semsum.models import summarizers

    return summarizers()


_MODEL_OPTIONS = Declaration.registered(_summarizers)
AnnotationSource = choices("AnnotationSource", "auto", "h5", "summe", "tvsum")


def _settings(ctx: typer.Context, declaration: Declaration) -> dict:
    """The settings of `declaration`, and the chosen model's options as `model_kwargs`."""
    from semsum.models import model_kwargs

    settings = values(ctx, declaration)
    return settings | {"model_kwargs": model_kwargs(settings["model"], values(ctx, _MODEL_OPTIONS))}


@app.command("train", cls=declared_command(_TRAIN, _MODEL_OPTIONS))
def train_cmd(
    ctx: typer.Context,
    h5: Annotated[Path, typer.Option("--h5", help="eccv16-schema HDF5 with features and gtscore.")],
    splits: Annotated[Path, typer.Option("--splits", help="Split file of any family (CSTA txt, JSON, YAML).")],
    out: RunOut,
    features_key: Annotated[
        list[str] | None,
        typer.Option("--features-key", metavar="KEY", help="Feature key; repeat to concatenate several."),
    ] = None,
    device: Device = "auto",
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

    keys = tuple(features_key or ["features"])
    cfg = TrainConfig(**_settings(ctx, _TRAIN), feature_keys=keys, device=device)
    results = train(h5, splits, out, cfg, annotations=annotations.value, data_dir=data_dir)
    console.print((out / "results.md").read_text())
    if results["annotations"]["note"]:
        typer.echo(f"warning: {results['annotations']['note']}", err=True)


@app.command("train-stream", cls=declared_command(_STREAM, _MODEL_OPTIONS))
def train_stream_cmd(
    ctx: typer.Context,
    h5: Annotated[Path, typer.Option("--h5", help="Mr.HiSum-schema HDF5 (mr_hisum.h5 with features).")],
    out: RunOut,
    split: Annotated[Path, typer.Option("--split", help="Split JSON with train_keys, val_keys, test_keys.")],
    device: Device = "auto",
) -> None:
    """Train on a Mr.HiSum-schema file, streaming features in padded batches; selects on val, reports test metrics."""
    from semsum.training.stream import StreamConfig, train_stream

    train_stream(h5, split, out, StreamConfig(**_settings(ctx, _STREAM), device=device))
    console.print((out / "results.md").read_text())


@app.command("predict")
def predict_cmd(
    run: Annotated[
        Path,
        typer.Option("--run", help="Run folder written by `semsum train` or `train-stream`, or hf://OWNER/NAME[@REV]."),
    ],
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
    from semsum.data.hub import local_path

    run = local_path(run)  # an hf:// run missing offline fails here, before the heavy imports below
    from semsum.atomic import write_json
    from semsum.data.benchmarks import NAMES
    from semsum.pipeline.predict import predict_file

    predicted = predict_file(run, h5, fold)
    write_json(out, predicted.scores)
    wrote = f"wrote {len(predicted.scores)} videos to {out}"
    if predicted.dataset == "mrhisum":
        console.print(f"{wrote}: semsum evaluate {out} --dataset mrhisum --h5 {h5}", highlight=False)
    elif predicted.dataset is None:
        console.print(f"{wrote}\n{h5.name}: {predicted.how}; no benchmark annotations to evaluate against")
    else:
        found = f"{NAMES[predicted.dataset]} ({predicted.how})"
        console.print(f"{wrote}\n{h5.name}: {found}: semsum evaluate {out} --dataset {predicted.dataset}")


@app.command("reproduce")
def reproduce_cmd(
    config: Annotated[Path | None, typer.Option("--config", help="Experiment file (TOML; see --init).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder: every stage's results and the report.")] = Path(
        "reproduce_out"
    ),
    only: Annotated[
        list[str] | None,
        typer.Option("--only", metavar="STAGE", help="Run only: extract, align, control, baseline, train, report."),
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
