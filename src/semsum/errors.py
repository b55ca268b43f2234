"""What users see when something is wrong: a one-line error naming the file and the problem, or the one-line
notice of a deprecated name."""

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

REMOVED_IN = "0.3"  # the release that drops the names deprecated in this one

F = TypeVar("F", bound=Callable[..., Any])


class SemsumError(Exception):
    """Bad input or a missing resource. The CLI prints the message on one line and exits non-zero."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that the same cleanup (saving work) runs for both."""


def deprecation(old: str, new: str) -> str:
    """The one wording of a deprecated name's notice (Python warning and CLI line alike)."""
    return f"`{old}` is deprecated (removed in {REMOVED_IN}): use {new}"


def warn_deprecated(old: str, new: str) -> None:
    """A DeprecationWarning pointing at the caller of the function (or property) that calls this."""
    warnings.warn(deprecation(old, new), DeprecationWarning, stacklevel=3)


def renamed_keywords(**renames: str) -> Callable[[F], F]:
    """Decorate a function whose keywords were renamed (`shots="units"`): an old keyword still works for one
    release, with a DeprecationWarning; giving the old and the new one is an error."""

    def wrap(fn: F) -> F:
        name = fn.__qualname__.removesuffix(".__init__")  # a class by its own name

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise SemsumError(f"{name}: give {new}=, not the deprecated {old}= too")
                    warn_deprecated(f"{name}({old}=...)", f"{new}=")
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return call  # type: ignore[return-value]

    return wrap
