"""The `semsum` command line: a thin layer over the package's API.

Every command turns a SemsumError into one line on stderr and exit status 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from semsum.errors import SemsumError


class _Group(TyperGroup):
    """Report SemsumError as `error: <message>` (one line) and exit 1, for every subcommand."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SemsumError as e:
            typer.echo(f"error: {e}", err=True)
            ctx.exit(1)


def _typer(help: str) -> typer.Typer:
    return typer.Typer(
        cls=_Group, help=help, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False
    )


app = _typer("Video summarization with semantic embeddings from multimodal LLMs.")
console = Console()

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Benchmark data folder (default: $SEMSUM_DATA, else a user cache folder)."),
]

# ---------------------------------------------------------------- data
data_app = _typer("Benchmark data: what is present and where to get the rest.")
app.add_typer(data_app, name="data")


@data_app.command("check")
def data_check(data_dir: DataDir = None) -> None:
    """Verify the annotations and eccv16 HDF5 files (sha256) and say where to get what is missing."""
    from semsum.data import paths

    root = paths.data_dir(data_dir)
    results = paths.check(root)
    table = Table(title=f"semsum data in {root}")
    for col in ("file", "status", "detail", "get it from"):
        table.add_column(col)
    for r in results:
        style = {"ok": "green", "missing": "yellow" if not r.resource.required else "red"}.get(r.status, "red")
        table.add_row(
            r.resource.relpath, f"[{style}]{r.status}[/]", r.detail, "" if r.status == "ok" else r.resource.source
        )
    console.print(table)
    bad = [r for r in results if r.status == "bad hash" or (r.status == "missing" and r.resource.required)]
    if bad:
        raise SemsumError(
            f"{root}: {len(bad)} required file(s) missing or corrupt: " + ", ".join(r.resource.relpath for r in bad)
        )


# ---------------------------------------------------------------- training
from enum import Enum  # noqa: E402  (kept in this section for easy merges)


class ModelName(str, Enum):
    csta = "csta"
    vasnet = "vasnet"


class Selection(str, Enum):
    last = "last"
    val = "val"
    test_best = "test-best"


class AnnotationSource(str, Enum):
    auto = "auto"
    h5 = "h5"
    summe = "summe"
    tvsum = "tvsum"


@app.command("train")
def train_cmd(
    h5: Annotated[Path, typer.Option("--h5", help="eccv16-schema HDF5 with features and gtscore.")],
    splits: Annotated[Path, typer.Option("--splits", help="Split file of any family (CSTA txt, JSON, YAML).")],
    out: Annotated[Path, typer.Option("--out", help="Run directory (re-running it resumes).")],
    model: Annotated[ModelName, typer.Option("--model", help="Summarizer.")] = ModelName.csta,
    features_key: Annotated[
        list[str] | None, typer.Option("--features-key", help="Feature key; repeat to concatenate several.")
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs per fold (official CSTA: 100).")] = 100,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 1e-3,
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
        typer.Option("--annotations", help="Evaluate against: the file's dataset attribute (auto), h5, summe, tvsum."),
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
    cfg = TrainConfig(
        model=model.value,
        feature_keys=tuple(features_key or ["features"]),
        epochs=epochs,
        lr=lr,
        weight_decay=weight_decay,
        batch_size=batch_size,
        seed=seed,
        select=select.value,
        val_fraction=val_fraction,
        normalize=normalize,
        deterministic=deterministic,
        device=device,
        model_kwargs=model_kwargs,
    )
    train(h5, splits, out, cfg, annotations=annotations.value, data_dir=data_dir)
    console.print((out / "results.md").read_text())


@app.command("predict")
def predict_cmd(
    run: Annotated[Path, typer.Option("--run", help="Run directory written by `semsum train`.")],
    h5: Annotated[Path, typer.Option("--h5", help="eccv16-schema HDF5 with the run's feature keys.")],
    out: Annotated[Path, typer.Option("--out", help="JSON {video key: [score per frame]} for `semsum evaluate`.")],
    fold: Annotated[int | None, typer.Option("--fold", help="Use this fold's model for every video.")] = None,
) -> None:
    """Frame-level scores from a trained run: out-of-fold for the training videos, fold mean for others."""
    from semsum.atomic import write_json
    from semsum.data.h5 import load_dataset
    from semsum.summary.keyshots import frame_scores
    from semsum.training import load_run

    trained = load_run(run, fold=fold)
    ds = load_dataset(h5, require=("n_frames", "picks", *trained.feature_keys))
    scores = {}
    for v in ds:
        steps = trained.predict_video(v.key, v.feature_matrix(trained.feature_keys, str(h5)))
        scores[v.key] = frame_scores(steps, v.picks, v.n_frames).tolist()
    write_json(out, scores)
    console.print(f"wrote {len(scores)} videos to {out}")


features_app = _typer("Feature extraction into eccv16-schema HDF5 files.")
app.add_typer(features_app, name="features")


@features_app.command("captions")
def features_captions(
    captions: Annotated[Path, typer.Option("--captions", help="Dense captions JSON keyed by video_N.")],
    dataset: Annotated[AnnotationSource, typer.Option("--dataset", help="summe or tvsum (annotations to attach).")],
    out: Annotated[Path, typer.Option("--out", help="Output eccv16-schema HDF5.")],
    text_model: Annotated[
        str, typer.Option("--text-model", help="sentence-transformers model id or local folder.")
    ] = "sentence-transformers/all-MiniLM-L6-v2",
    device: Annotated[str, typer.Option("--device", help="cpu or cuda.")] = "cpu",
    data_dir: DataDir = None,
) -> None:
    """Caption embeddings per sampled step, with the benchmark's gtscore and user summaries."""
    from semsum.features.captions import write_caption_features

    if dataset.value not in ("summe", "tvsum"):
        raise SemsumError(f"--dataset must be summe or tvsum, not {dataset.value}")
    ds = write_caption_features(captions, dataset.value, out, text_model, data_dir, device)
    console.print(f"wrote {len(ds)} videos ({sum(v.n_steps for v in ds)} steps) to {out}")
