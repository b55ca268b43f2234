"""F(x): `semsum align train` (its settings generated from `semsum.align.train.TrainConfig`) and `align apply`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from semsum.cli.base import Device, align_app, console
from semsum.cli.declared import Declaration, declared_command, values

_SETTINGS = Declaration.of(
    "semsum.align.train:TrainConfig",
    skip=("mode", "device", "batch_size", "cos_weight", "d_width", "d_depth"),
    help={
        "epochs": "Training epochs.",
        "depth": "Residual blocks.",
        "width": "Hidden width.",
        "dropout": "Dropout.",
        "weight_decay": "Weight decay.",
        "lr": "Regression learning rate.",
        "lr_g": "Generator learning rate while adversarial (default: 5e-6 after a warm start, else 2e-4).",
        "lr_d": "Discriminator learning rate.",
        "adv_weight": "Weight of Eq. 3 in regression+adversarial.",
        "warmup_epochs": "Regression epochs before adversarial ones (default: two-stage/conditional 10, else 0).",
        "gp": "Gradient penalty: none | wgan-gp | r1.",
        "gp_weight": "Gradient penalty weight.",
        "feature_matching": "Weight of the feature-matching loss.",
        "spectral_norm": "Spectral normalisation in the discriminator.",
        "cycle_weight": "vec2vec cycle-consistency weight (adds G(y)).",
        "vsp_weight": "vec2vec vector-space-preservation weight.",
        "seed": "Random seed.",
    },
)


@align_app.command("train", cls=declared_command(_SETTINGS))
def align_train(
    ctx: typer.Context,
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
    val_fraction: Annotated[float, typer.Option(help="Training videos held out to watch cosine.")] = 0.1,
    device: Device = "auto",
    log_dir: Annotated[Path | None, typer.Option(help="TensorBoard log folder.")] = None,
) -> None:
    """Learn F(x) from the aligned pairs (same video, same pick) of SOURCE and TARGET features.

    Rerunning a killed command with the same options resumes it from OUT.state.
    """
    from semsum.align.commands import train_from_h5
    from semsum.align.train import TrainConfig

    trained = "regression" if mode in ("ridge", "auto") else mode
    config = TrainConfig(mode=trained, device=device, **values(ctx, _SETTINGS))
    report = train_from_h5(
        h5, out, config, source, target, splits, fold, val_fraction, log_dir,
        ridge=mode == "ridge", progress=True, auto=mode == "auto",
    )  # fmt: skip
    console.print(report)


@align_app.command("apply")
def align_apply(
    mapper: Annotated[
        Path, typer.Option("--mapper", help="Mapper file from `semsum align train`, or hf://OWNER/NAME[@REV]/FILE.")
    ],
    h5: Annotated[Path, typer.Option("--h5", help="eccv16-schema input file.")],
    out: Annotated[Path, typer.Option("--out", help="Copy of the input with `features_mapped` added.")],
    source: Annotated[str | None, typer.Option(help="Input key (default: the mapper's).")] = None,
) -> None:
    """Copy H5 to OUT and add `features_mapped` = F(source) [n_steps, out_dim] to every video."""
    from semsum.align.commands import apply_to_h5

    apply_to_h5(mapper, h5, out, source)
    console.print(f"wrote {out}")
