"""Pluggable stage implementations, found by name through Python entry points, each with its declared options.

A stage (frame encoders, shot detectors, scorers) is an entry-point group; each entry point names a factory.
semsum's built-ins are registered in its own `pyproject.toml` the same way a third-party package registers one:

    [project.entry-points."semsum.shot_detectors"]
    my-detector = "my_package.shots:make_detector"

Every implementation declares its options once, typed, with defaults and help, as a frozen dataclass (in the spirit
of PySceneDetect's per-detector config): a factory with an `Options` attribute (`@declares(MyOptions)`) is called as
`factory(options, device=...)`. A plain factory's keyword parameters other than `device` are its options (the
dataclass is made from its signature) and it is called as `factory(device=..., **options)`.

The CLI and the web app generate their option surface from these declarations (`option_fields`). Each option has a
*dest*, its name in the faces (`--max-segment` is dest `max_segment`): semsum's own implementations use the field
name, shared by every built-in that declares the same field; a plugin's options are namespaced by the implementation
(`fixed`'s `length` is `--fixed-length`), so that they never clash with another's. An option the chosen
implementation does not take is an error naming the implementation and the options it does take.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import Distribution, EntryPoint, EntryPoints, entry_points
from typing import Any

from semsum.errors import SemsumError

ENCODERS = "semsum.encoders"
SHOT_DETECTORS = "semsum.shot_detectors"
SCORERS = "semsum.scorers"
SUMMARIZERS = "semsum.models"  # not an entry-point group: `semsum.models.MODELS`
WHAT = {ENCODERS: "encoder", SHOT_DETECTORS: "shot detector", SCORERS: "scorer", SUMMARIZERS: "summarizer"}
_OWN = "semsum"  # the distribution whose options keep their bare names


def option(default: Any, help: str) -> Any:
    """A field of an options dataclass: its default and its one-line help (shown by the CLI and the app)."""
    return dataclasses.field(default=default, metadata={"help": help})


def declares(options: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a factory as taking one instance of the frozen dataclass `options` (and `device`)."""

    def mark(factory: Callable[..., Any]) -> Callable[..., Any]:
        factory.Options = options
        return factory

    return mark


def help_of(f: dataclasses.Field) -> str:
    """An option's help: its declared text, or for a plugin's undocumented parameter its type (the faces show the
    default beside it, so the help does not repeat it)."""
    return f.metadata.get("help") or str(getattr(f.type, "__name__", f.type))


@dataclass(frozen=True)
class Implementation:
    """One registered implementation: where it is, its factory and the dataclass of its options."""

    group: str
    name: str
    factory: Callable[..., Any]
    options_class: type
    namespace: str  # "" for semsum's own, else the implementation's name (dests are prefixed with it)

    @classmethod
    def of(cls, group: str, name: str, factory: Callable[..., Any], own: bool = True) -> Implementation:
        """`factory` as implementation `name` of `group`; not `own` (a plugin's): its options are namespaced."""
        options = getattr(factory, "Options", None) or _options_from_signature(factory, name)
        return cls(group, name, factory, options, "" if own else name)

    @property
    def what(self) -> str:
        return f"{WHAT.get(self.group, self.group)} {self.name}"

    @property
    def declared(self) -> bool:
        return hasattr(self.factory, "Options")

    def dests(self) -> dict[str, dataclasses.Field]:
        """The implementation's options by dest (the faces' name of each). A declared field without help is a
        setting the implementation sets itself (KTS's feature key, whether `auto` runs on a GPU): no option."""
        prefix = f"{self.namespace}_".replace("-", "_") if self.namespace else ""
        found = dataclasses.fields(self.options_class)
        return {prefix + f.name: f for f in found if not self.declared or "help" in f.metadata}

    def options(self, given: Mapping[str, Any]) -> Any:
        """The options instance from `given` values by dest; a dest it does not declare is an error."""
        dests = self.dests()
        for dest in given:
            if dest not in dests:
                raise self.refusal(dest)
        return self.options_class(**{dests[d].name: v for d, v in given.items()})

    def refusal(self, dest: str) -> SemsumError:
        """The error for option `dest` given to this implementation, which does not take it."""
        takes = ", ".join(f"--{d.replace('_', '-')}" for d in self.dests()) or "none"
        return SemsumError(f"{self.what} takes no option --{dest.replace('_', '-')} (its options: {takes})")

    def build(self, options: Any, device: str) -> Any:
        """The implementation, made by its factory with `options` (an instance of `options_class`)."""
        if self.declared:
            return self.factory(options, device=device)
        return self.factory(device=device, **dataclasses.asdict(options))


def _options_from_signature(factory: Callable[..., Any], name: str) -> type:
    """A frozen dataclass of a plain factory's parameters with defaults (but `device` and a summarizer's `in_dim`),
    typed by their annotations or, without one, by their default's type."""
    fields = [
        (p.name, _annotation(p), dataclasses.field(default=p.default))
        for p in inspect.signature(factory, eval_str=True).parameters.values()
        if p.name not in ("device", "in_dim")
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.default is not p.empty
    ]
    return dataclasses.make_dataclass(f"{name.title().replace('-', '')}Options", fields, frozen=True)


def _annotation(p: inspect.Parameter) -> Any:
    if p.annotation is not p.empty:
        return p.annotation
    return Any if p.default is None else type(p.default)


def _implementation(group: str, ep: EntryPoint) -> Implementation:
    what = f"{WHAT.get(group, group)} {ep.name!r}"
    try:
        factory = ep.load()
    except (ImportError, AttributeError) as e:
        raise SemsumError(f"{what}: its entry point {ep.value} does not load ({e})") from None
    return Implementation.of(group, ep.name, factory, own=ep.dist is not None and _name_of(ep.dist) == _OWN)


@functools.cache
def _name_of(dist: Distribution) -> str:
    """A distribution's name, parsed from its metadata once per process (a command looks up each of its tens of
    implementations, which share a few distributions, and each parse took about 1 ms)."""
    return dist.name


def _installed() -> EntryPoints:
    """Every installed entry point, read once per module search path: each read scans every installed
    distribution's metadata (tens of milliseconds), and declaring a command's options looks up each implementation
    several times. A changed `sys.path` (a plugin's folder added) is read again."""
    return _entry_points_on(tuple(sys.path))


@functools.cache
def _entry_points_on(search_path: tuple[str, ...]) -> EntryPoints:
    """`importlib.metadata.entry_points()` as found on `search_path` (`sys.path`, the key of the cache)."""
    return entry_points()


def available(group: str) -> list[str]:
    """Names registered in entry-point `group`, sorted."""
    return sorted({ep.name for ep in _installed().select(group=group)})


def find(group: str, name: str) -> Implementation:
    """Implementation `name` of `group`, or an error listing what is registered."""
    found = [ep for ep in _installed().select(group=group) if ep.name == name]
    if not found:
        names = available(group)
        what = WHAT.get(group, group)
        if not names:
            raise SemsumError(f"no {what}s registered: is semsum installed (`pip install -e .`)?")
        raise SemsumError(f"unknown {what} {name!r} (available: {', '.join(names)})")
    return _implementation(group, found[0])


def implementations(*groups: str) -> list[Implementation]:
    """Every implementation registered in `groups`, by group and name; one that does not load is left out."""
    found = []
    for group in groups:
        for name in available(group):
            try:
                found.append(find(group, name))
            except SemsumError:
                continue
    return found


def create(group: str, name: str, device: str = "auto", **options: Any) -> Any:
    """Build implementation `name` of `group` from `options` given by dest (unknown ones are an error)."""
    found = find(group, name)
    return found.build(found.options(options), device)


def merged(found: list[Implementation]) -> dict[str, dataclasses.Field]:
    """Every option the implementations `found` declare, by dest: one field per dest, the faces' surface.

    Implementations declaring the same dest must declare it the same way (type, default, help): it is one option.
    """
    fields: dict[str, dataclasses.Field] = {}
    for impl in found:
        for dest, f in impl.dests().items():
            seen = fields.setdefault(dest, f)
            if (seen.type, seen.default, help_of(seen)) != (f.type, f.default, help_of(f)):
                raise SemsumError(f"option --{dest.replace('_', '-')} is declared twice, differently ({impl.what})")
    return fields


def option_fields(groups: tuple[str, ...]) -> dict[str, dataclasses.Field]:
    """Every option the implementations registered in `groups` declare, by dest (see `merged`)."""
    return merged(implementations(*groups))
