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
    depth: Annotated[int, typer.Option(help="Residual blocks.")] = 2,
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
