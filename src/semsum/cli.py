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
