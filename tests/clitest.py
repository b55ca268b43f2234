"""Running the `semsum` CLI in-process from tests, and reading its one-line errors."""

from __future__ import annotations

import re

from click.testing import Result
from typer.testing import CliRunner

from semsum.cli import app


def run_cli(*args: object) -> Result:
    """`semsum ARGS...` in-process (arguments may be paths or numbers)."""
    return CliRunner().invoke(app, [str(a) for a in args])


PROGRESS_LINE = re.compile(r"^.+: \d+(/\d+)?$")  # what long jobs print when stderr is not a terminal


def error_line(result: Result) -> str:
    """The single `error: ...` line of a failed command (exit status 1), asserting there is nothing else but
    plain progress lines before it."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), result.output
    assert all(PROGRESS_LINE.match(line) for line in lines[:-1]), result.output
    return lines[-1]
