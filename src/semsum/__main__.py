"""`python -m semsum` runs the CLI."""

from semsum.cli import app

app()
