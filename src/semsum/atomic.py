"""Write outputs all-or-nothing: a temp file beside the target, renamed into place on success."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from semsum.errors import SemsumError


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path in the target's folder; rename it to `path` only if the block succeeds.

    The suffix is kept so that libraries that pick a format by extension (PyAV, matplotlib) still work.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write `obj` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON in `path`; a missing or invalid file is a one-line SemsumError naming it."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SemsumError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SemsumError(f"{path}: not valid JSON ({e})") from None


@contextmanager
def atomic_folder(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temp folder; if the block succeeds, move its files into `folder` (made if needed).

    On any failure the temp folder is removed and `folder` is left exactly as it was (not even created), so a
    job that writes several outputs leaves all of them or none. Problems with `folder` itself (a file in the
    way, no permission) are one-line errors raised before the block runs.
    """
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise SemsumError(f"{target}: exists and is not a folder; choose another output folder")
    base = next(p for p in (target, *target.parents) if p.exists())  # the temp folder must be on the same disk
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=base))
    except OSError as e:
        raise SemsumError(f"{target}: cannot write there ({e.strerror or e.__class__.__name__})") from None
    try:
        yield tmp
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SemsumError(f"{target}: cannot create the folder ({e.strerror or e.__class__.__name__})") from None
        for item in tmp.iterdir():
            os.replace(item, target / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
