"""Every `semsum` command line the docs show parses: its subcommand exists and every `--flag` it names is one that
the subcommand's `--help` lists, so a renamed or removed option cannot leave README.md or docs/*.md stale."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from semsum.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
SPAN = re.compile(r"`(semsum [^`]+)`")
DOTTED = re.compile(r"(?<![\w./-])semsum(?:\.[A-Za-z_]\w*)+")  # a Python name: semsum.pipeline.summarize


def command_lines(text: str) -> list[str]:
    """The `semsum ...` lines of `text`: in code blocks (joined over trailing backslashes) and in inline code."""
    found = []
    for block in FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("semsum "):
                found.append(line)
    prose = FENCE.sub("", text)
    return found + [span for span in SPAN.findall(prose.replace("\n", " "))]


def cases() -> list[tuple[str, str]]:
    return [(path.relative_to(ROOT).as_posix(), line) for path in DOCS for line in command_lines(path.read_text())]


def shown_flags(command: Any) -> set[str]:
    """The flags `command --help` lists (hidden ones, as a deprecated spelling, are not documented usage)."""
    flags = {"--help"}
    for param in command.get_params(command.context_class(command)):  # with the options generated from declarations
        if param.param_type_name == "option" and not param.hidden:
            flags.update(o for o in param.opts + param.secondary_opts if o.startswith("--"))
    return flags


def problems(line: str) -> list[str]:
    """What is wrong with the documented command `line`: an unknown subcommand or flags its command does not list."""
    words = [w.strip("[]|") for w in shlex.split(line.split(" #")[0], posix=True)][1:]
    command = typer.main.get_command(app)  # typer's own click: a group is what has `commands`
    path = ["semsum"]
    while hasattr(command, "commands") and words and not words[0].startswith("-"):
        if words[0] not in command.commands:
            return [f"{' '.join(path)} has no subcommand {words[0]!r}"]
        path.append(words[0])
        command = command.commands[words.pop(0)]
    flags = {w.split("=")[0] for w in words if w.startswith("--")}
    return [f"{' '.join(path)} takes no {flag}" for flag in sorted(flags - shown_flags(command))]


def test_the_docs_show_command_lines():
    assert len(cases()) > 40  # the reader below finds the docs' commands (not a silently empty parametrization)


@pytest.mark.parametrize(("doc", "line"), cases())
def test_every_documented_command_parses(doc, line):
    assert problems(line) == [], f"{doc}: {line}"


def test_the_check_sees_a_stale_flag_and_a_missing_subcommand():
    assert problems("semsum summarize v.mp4 --no-such-flag 1") == ["semsum summarize takes no --no-such-flag"]
    assert problems("semsum extract nothing x.h5") == ["semsum extract has no subcommand 'nothing'"]
    assert problems("semsum extract mllm x.h5 --mllm-model m --windows-per-batch 2") == []


def test_architecture_names_every_built_in_implementation_and_its_options():
    """docs/architecture.md lists the stages' built-ins with their options: a new one, or a renamed option, shows."""
    from semsum.models import summarizers
    from semsum.registry import ENCODERS, SCORERS, SHOT_DETECTORS, implementations

    text = (ROOT / "docs" / "architecture.md").read_text()
    built_in = [i for i in implementations(ENCODERS, SHOT_DETECTORS, SCORERS) if not i.namespace] + summarizers()
    missing = [f"{i.what}: `{i.name}`" for i in built_in if f"`{i.name}`" not in text]
    missing += [
        f"{i.what}: --{d.replace('_', '-')}"
        for i in built_in
        for d in i.dests()
        if f"`--{d.replace('_', '-')}" not in text
    ]
    assert missing == []


def resolves(name: str) -> bool:
    """Whether dotted `name` is a module of semsum or an attribute of one (`semsum.summary.shots.Units`)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            if not hasattr(found, part):
                return False
            found = getattr(found, part)
        return True
    return False


def test_every_python_name_the_docs_give_exists():
    from semsum.registry import WHAT

    groups = set(WHAT)  # entry-point group names look like modules and are not
    named = {(path.name, n) for path in DOCS for n in DOTTED.findall(path.read_text()) if n not in groups}
    assert len(named) > 30
    assert [f"{doc}: {n}" for doc, n in sorted(named) if not resolves(n)] == []
    assert not resolves("semsum.summary.shots.step_segmentz") and resolves("semsum.pipeline.summarize")


def test_the_readme_python_version_is_the_package_requirement():
    import tomllib

    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]  # ">=3.11"
    versions = re.findall(r"Python ≥ (3\.\d+)", (ROOT / "README.md").read_text())
    assert versions and set(versions) == {required.removeprefix(">=")}, (versions, required)
