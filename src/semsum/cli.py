"""The `semsum` command line: a thin layer over the package's API.

Every command turns a SemsumError into one line on stderr and exit status 1.
"""

from __future__ import annotations

import json
from enum import Enum
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


# ---------------------------------------------------------------- evaluation
class DatasetName(str, Enum):
    summe = "summe"
    tvsum = "tvsum"


class BaselineKind(str, Enum):
    human = "human"
    random = "random"


class Protocol(str, Enum):
    otani = "otani"
    csta = "csta"


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
    table.add_row("mean", "", f"{result['kendall_tau']:.3f}", f"{result['spearman_rho']:.3f}", *f, style="bold")
    console.print(table)


@app.command("baseline")
def baseline(
    kind: Annotated[BaselineKind, typer.Argument(help="human: leave-one-out agreement; random: uniform scores.")],
    dataset: Annotated[DatasetName, typer.Option("--dataset", help="Benchmark to score.")],
    data_dir: DataDir = None,
    trials: Annotated[int, typer.Option(help="Random baseline: seeded trials (mean and std reported).")] = 100,
    seed: Annotated[int, typer.Option(help="Random baseline: first seed.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Reference rows of every table (Otani et al. protocol): human agreement or chance."""
    from semsum.data.annotations import load_annotations
    from semsum.evaluation import baselines

    annotations = load_annotations(dataset.value, data_dir)
    if kind is BaselineKind.human:
        result = {"dataset": dataset.value, "baseline": "human", **baselines.human(annotations).to_dict()}
        _print_result(f"Human (leave-one-out), {dataset.value}", result, as_json)
        return
    if trials < 1:
        raise SemsumError(f"--trials must be at least 1, got {trials}")
    result = {"dataset": dataset.value, "baseline": "random", **baselines.random_trials(annotations, trials, seed)}
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        console.print(
            f"Random, {dataset.value}, {trials} trials: Kendall τ {result['kendall_tau']:+.4f} "
            f"± {result['kendall_tau_std']:.4f}, Spearman ρ {result['spearman_rho']:+.4f} "
            f"± {result['spearman_rho_std']:.4f}"
        )


def _read_scores(path: Path) -> dict[str, list[float]]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SemsumError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SemsumError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or not data:
        raise SemsumError(f"{path}: expected an object mapping video keys or names to lists of frame scores")
    for key, value in data.items():
        if not isinstance(value, list) or not all(isinstance(x, (int, float)) for x in value):
            raise SemsumError(f"{path}: {key}: expected a list of numbers")
    return data


@app.command("evaluate")
def evaluate_cmd(
    scores: Annotated[Path, typer.Argument(help="JSON: {video_N or video name: [score per frame, ...]}.")],
    dataset: Annotated[DatasetName, typer.Option("--dataset", help="Benchmark the scores belong to.")],
    protocol: Annotated[Protocol, typer.Option(help="otani (default) or csta (as the published CSTA code).")] = (
        Protocol.otani
    ),
    h5: Annotated[
        Path | None, typer.Option(help="eccv16 file of the dataset: adds the F-score; needed by csta on SumMe.")
    ] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Kendall τ and Spearman ρ of frame-level scores against human annotations (and F1 with --h5)."""
    import numpy as np

    from semsum.data.annotations import load_annotations
    from semsum.data.h5 import load_dataset
    from semsum.evaluation.protocols import evaluate

    frame_scores = {k: np.asarray(v, dtype=np.float64) for k, v in _read_scores(scores).items()}
    annotations = load_annotations(dataset.value, data_dir)
    ds = load_dataset(h5, require=("change_points", "user_summary")) if h5 else None
    result = evaluate(frame_scores, annotations, protocol.value, ds, source=str(scores))
    _print_result(
        f"{scores.name} on {dataset.value} ({protocol.value} protocol)",
        {"dataset": dataset.value, **result.to_dict()},
        as_json,
    )


# ---------------------------------------------------------------- align
align_app = _typer("F(x): map GoogLeNet features into the MLLM embedding space (train, apply).")
app.add_typer(align_app, name="align")


@align_app.command("train")
def align_train(
    h5: Annotated[Path, typer.Option("--h5", help="eccv16-schema file holding both feature keys.")],
    out: Annotated[Path, typer.Option("--out", help="Mapper checkpoint to write (.pt).")],
    mode: Annotated[
        str, typer.Option(help="regression | adversarial | two-stage | conditional | ridge | regression+adversarial")
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
        typer.Option(help="Generator learning rate while adversarial (default: 2e-5 after a warm start, else 2e-4)."),
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
        mode="regression" if mode == "ridge" else mode,
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
        h5, out, config, source, target, splits, fold, val_fraction, log_dir, ridge=mode == "ridge", progress=True
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
