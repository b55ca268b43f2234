"""Sharing trained runs: `semsum push` (to the Hugging Face Hub) and `semsum run convert` (old pickled runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from semsum.cli.base import app, console, make_typer

run_app = make_typer("Trained run folders: convert a run of semsum 0.1 (pickled model.pt) to the safe format.")
app.add_typer(run_app, name="run")


@app.command("push")
def push_cmd(
    run: Annotated[Path, typer.Argument(help="Run folder written by `semsum train` or `train-stream`.")],
    target: Annotated[str, typer.Argument(help="hf://OWNER/NAME[@BRANCH]: the Hub repository (made if needed).")],
    dry_run: Annotated[
        Path | None,
        typer.Option("--dry-run", metavar="FOLDER", help="Only write the folder that would be uploaded."),
    ] = None,
) -> None:
    """Upload a trained run to the Hugging Face Hub with a model card (README.md) of its results."""
    from semsum.pipeline.share import push

    files = push(run, target, dry_run)
    done = f"wrote {len(files)} files to {dry_run}" if dry_run is not None else f"pushed {len(files)} files to {target}"
    console.print(f"{done}: {', '.join(files)}", highlight=False)


@run_app.command("convert")
def convert_cmd(
    old: Annotated[Path, typer.Argument(help="Run folder with pickled model.pt files, or a pickled mapper file.")],
    new: Annotated[Path, typer.Argument(help="New run folder (or mapper file) in the safe format.")],
    trust: Annotated[
        bool, typer.Option("--trust", help="Unpickle OLD's torch files (this can run code: only for files you trust).")
    ] = False,
) -> None:
    """Convert a run or mapper of semsum 0.1 (pickled torch files) to safetensors + JSON."""
    from semsum.training.convert import convert

    written = convert(old, new, trust)
    console.print(f"converted {len(written)} model(s) into {new}", highlight=False)
