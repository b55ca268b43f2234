"""Running the `semsum` CLI in-process from tests, and reading its one-line errors."""

from __future__ import annotations

from click.testing import Result
from typer.testing import CliRunner

from semsum.cli import app


def run_cli(*args: object) -> Result:
    """`semsum ARGS...` in-process (arguments may be paths or numbers)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def error_line(result: Result) -> str:
    """The single `error: ...` line of a failed command (exit status 1), asserting there is nothing else."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]
