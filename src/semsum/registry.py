"""Pluggable stage implementations, found by name through Python entry points.

A stage (frame encoders, shot detectors) is an entry-point group; each entry point names a factory that is
called with keyword options (at least `device`) and returns the implementation. semsum's built-ins are
registered in its own `pyproject.toml` the same way a third-party package registers a plugin:

    [project.entry-points."semsum.shot_detectors"]
    my-detector = "my_package.shots:make_detector"

Options a factory does not accept are left out (unless it takes `**kwargs`), so one set of CLI options serves
every implementation; options that are None are left out so that each factory's own defaults apply.
"""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points
from typing import Any

from semsum.errors import SemsumError

ENCODERS = "semsum.encoders"
SHOT_DETECTORS = "semsum.shot_detectors"
_WHAT = {ENCODERS: "encoder", SHOT_DETECTORS: "shot detector"}


def available(group: str) -> list[str]:
    """Names registered in entry-point `group`, sorted."""
    return sorted({ep.name for ep in entry_points(group=group)})


def create(group: str, name: str, **options: Any) -> Any:
    """Build implementation `name` of `group` with the `options` its factory accepts."""
    found = [ep for ep in entry_points(group=group) if ep.name == name]
    what = _WHAT.get(group, group)
    if not found:
        names = available(group)
        if not names:
            raise SemsumError(f"no {what}s registered: is semsum installed (`pip install -e .`)?")
        raise SemsumError(f"unknown {what} {name!r} (available: {', '.join(names)})")
    try:
        factory = found[0].load()
    except (ImportError, AttributeError) as e:
        raise SemsumError(f"{what} {name!r}: its entry point {found[0].value} does not load ({e})") from None
    return factory(**accepted_options(factory, options))


def accepted_options(factory: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The non-None `options` that `factory`'s signature takes (all of them if it has **kwargs)."""
    given = {k: v for k, v in options.items() if v is not None}
    params = inspect.signature(factory).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return given
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {k: v for k, v in given.items() if k in names}
