"""What every command shares: the app and its sub-apps, one-line errors, the console, and the options that several
commands take (each declared once here)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.core import TyperGroup

from semsum import __version__
from semsum.errors import SemsumError, Terminated


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


# Every command group: plain help text and errors (one line, `_Group`), no rich tracebacks, no shell completion.
_GROUP_SETTINGS = {"cls": _Group, "pretty_exceptions_enable": False, "add_completion": False, "rich_markup_mode": None}


def make_typer(help: str) -> typer.Typer:
    """A command group with semsum's error handling and plain help."""
    return typer.Typer(help=help, no_args_is_help=True, **_GROUP_SETTINGS)


app = make_typer("Video summarization with semantic embeddings from multimodal LLMs.")
data_app = make_typer(
    "Benchmark data: what is present and where to get the rest. The data folder is --data-dir, else $SEMSUM_DATA, "
    "else a user cache folder (`semsum data check` prints which); `make` sets $SEMSUM_DATA to ../shared/data."
)
dataset_app = make_typer("Build eccv16-schema HDF5 files from raw videos.")
features_app = make_typer("Feature extraction into eccv16-schema HDF5 files.")
extract_app = make_typer("Compute features for a dataset file or for loose videos.")
align_app = make_typer("F(x): map GoogLeNet features into the MLLM embedding space (train, apply).")
app.add_typer(data_app, name="data")
app.add_typer(dataset_app, name="dataset")
app.add_typer(features_app, name="features")
app.add_typer(extract_app, name="extract")
app.add_typer(align_app, name="align")
console = Console(soft_wrap=True)  # a printed command or path stays on one line, to copy whole


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


def choices(name: str, *values: str) -> type[StrEnum]:
    """An enum of CLI choices (typer lists them in --help and rejects others); `test-best` becomes `test_best`."""
    return StrEnum(name, {v.replace("-", "_"): v for v in values})


DatasetName = choices("DatasetName", "summe", "tvsum")
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Benchmark data folder (default: $SEMSUM_DATA, else a user cache folder)."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]
DEVICE_HELP = "auto (GPU when present), cpu, cuda, cuda:N."
Device = Annotated[str, typer.Option("--device", help=DEVICE_HELP)]
RunOut = Annotated[Path, typer.Option("--out", help="Run directory (re-running it resumes).")]


@contextlib.contextmanager
def failures_exit_2() -> Iterator[None]:
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
