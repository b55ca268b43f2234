"""Command-line options generated from declarations: the stages' registered options and the library's settings
dataclasses become click options, so each option is declared once, where its meaning lives.

A command made with `declared_command(...)` takes, besides the options of its own signature, those of its
`Declaration`s; they are generated when the command is run or its help is shown (so only the command that runs
imports the implementations), and the command reads them back with `values(ctx, declaration)`. A renamed option
keeps its old flag for one release, hidden: given, it prints a one-line warning and counts as the new one.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import typer
from typer.core import TyperCommand
from typer.main import _get_param  # typer's own: one signature parameter to a click option
from typer.models import ParamMeta

from semsum.errors import deprecation
from semsum.registry import Implementation, help_of, merged

_VALUES = "semsum.declared"  # ctx.meta key: {declaration: {dest: value}}


@dataclass(frozen=True, eq=False)  # each declaration is its own key in `values`
class Declaration:
    """Options made from the fields of a dataclass (`source`) or from what the registry declares (`fields`).

    `help` adds or replaces help texts by field name, `flags` spells a flag differently (`--deterministic/--fast`)
    and `defaults` replaces defaults. With `given_only`, `values` holds only the options the user gave (the
    stages' options: every other default stays the implementation's own). `renamed` maps a deprecated flag to the
    field it now sets (`{"--step": "stride"}`).
    """

    fields: Callable[[], Mapping[str, dataclasses.Field]]
    types: Callable[[], Mapping[str, Any]]
    help: Mapping[str, str] = field(default_factory=dict)
    flags: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    given_only: bool = False
    renamed: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, source: str, only: tuple[str, ...] = (), skip: tuple[str, ...] = (), **kwargs: Any) -> Declaration:
        """The fields of dataclass `source` ("module:Class", imported when the command runs; those in `only` if
        given, but those in `skip`), typed by its annotations."""

        def load() -> type:
            module, name = source.split(":")
            return getattr(importlib.import_module(module), name)

        def fields() -> dict[str, dataclasses.Field]:
            found = dataclasses.fields(load())
            return {f.name: f for f in found if (not only or f.name in only) and f.name not in skip}

        return cls(fields, lambda: typing.get_type_hints(load()), **kwargs)

    @classmethod
    def registered(cls, found: Callable[[], list[Implementation]], **kwargs: Any) -> Declaration:
        """Every option the implementations `found()` declare, by dest (`semsum.registry.merged`); only those
        given reach `values`, so every other default stays the implementation's own."""
        return cls(lambda: merged(found()), lambda: _types(found()), given_only=True, **kwargs)

    def options(self) -> list[Any]:
        types = self.types()
        return [self._option(dest, f, types[dest]) for dest, f in self.fields().items()]

    def old_options(self) -> list[Any]:
        """The hidden options of the deprecated flags in `renamed`, typed as the fields they now set."""
        types = self.types()
        return [
            _get_param(
                ParamMeta(
                    name=_old_name(old),
                    default=typer.Option(None, old, hidden=True, help=f"Deprecated: {self.flag(dest)}."),
                    annotation=_plain(types[dest]) | None,
                )
            )
            for old, dest in self.renamed.items()
        ]

    def flag(self, dest: str) -> str:
        """The flag that sets field `dest` (its --no- form left out)."""
        return self.flags.get(dest, "--" + dest.replace("_", "-")).split("/")[0]

    def _option(self, dest: str, f: dataclasses.Field, hint: Any) -> Any:
        """One option made by typer itself (`typer.Option` with the field's default and help), as for a parameter
        of a command's signature."""
        kind = _plain(hint)
        default = self.defaults.get(dest, None if f.default is dataclasses.MISSING else f.default)
        flag = "--" + dest.replace("_", "-")
        flag = self.flags.get(dest, f"{flag}/--no-{flag[2:]}" if kind is bool and default else flag)
        info = typer.Option(default, flag, help=self.help.get(dest) or help_of(f), show_default=default is not None)
        return _get_param(ParamMeta(name=dest, default=info, annotation=kind))


def _old_name(flag: str) -> str:
    """The parameter name of a deprecated flag's hidden option."""
    return "deprecated_" + flag.lstrip("-").replace("-", "_")


def _plain(hint: Any) -> type:
    """The click type of an option's annotation: bool, int, float, or str (a path, `X | None`: its X)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    return args[0] if args[0] in (bool, int, float) else str


def _types(found: list[Implementation]) -> dict[str, Any]:
    """The annotation of each option the implementations `found` declare, by dest."""
    types: dict[str, Any] = {}
    for impl in found:
        hints = typing.get_type_hints(impl.options_class)
        types.update({dest: hints[f.name] for dest, f in impl.dests().items()})
    return types


class DeclaredCommand(TyperCommand):
    """A typer command that also takes the options of its `declarations`, generated on first use."""

    declarations: tuple[Declaration, ...] = ()

    def get_params(self, ctx: typer.Context) -> list[Any]:
        if not getattr(self, "_generated", None):
            self._generated = {d: d.options() for d in self.declarations}
            self.params.extend(o for made in self._generated.values() for o in made)
            self.params.extend(o for d in self.declarations for o in d.old_options())
        return super().get_params(ctx)

    def invoke(self, ctx: typer.Context) -> Any:
        """Take the generated options out of the call (the function does not name them) into `ctx.meta`."""
        found = {}
        for declaration, made in self._generated.items():
            names = [o.name for o in made]
            found[declaration] = {
                n: ctx.params.pop(n)
                for n in names
                if not declaration.given_only or ctx.get_parameter_source(n).name != "DEFAULT"
            }
            for n in names:
                ctx.params.pop(n, None)
            _take_renamed(ctx, declaration, found[declaration])
        ctx.meta[_VALUES] = found
        return super().invoke(ctx)


def _take_renamed(ctx: typer.Context, declaration: Declaration, found: dict[str, Any]) -> None:
    """Each deprecated flag given: a one-line warning, and its value for the new option unless that was given."""
    for old, dest in declaration.renamed.items():
        value = ctx.params.pop(_old_name(old), None)
        if value is None:
            continue
        command = []
        at = ctx
        while at.parent is not None:  # the command's words, without the program's name
            command.insert(0, at.info_name)
            at = at.parent
        typer.echo("warning: " + deprecation(" ".join([*command, old]), declaration.flag(dest)), err=True)
        if dest not in found or ctx.get_parameter_source(dest).name == "DEFAULT":
            found[dest] = value


def declared_command(*declarations: Declaration) -> type[DeclaredCommand]:
    """The command class (`@app.command(cls=...)`) of a command that takes `declarations`' options too."""
    return type("Declared", (DeclaredCommand,), {"declarations": declarations})


def values(ctx: typer.Context, declaration: Declaration) -> dict[str, Any]:
    """What the user gave for `declaration`'s options (with the defaults, unless it is `given_only`)."""
    return dict(ctx.meta[_VALUES][declaration])
