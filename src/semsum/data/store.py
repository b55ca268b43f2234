"""The one resumable store: keyed folders, each finished once its completion marker is written, atomically and last.

`Store(root)` keeps one folder per key (`ROOT/KEY/`, a key may name subfolders, e.g. `train/HASH`). Whatever
writes an entry fills its folder first and calls `finish(key, meta)` last; `meta.json` appearing (an atomic
rename) is what makes the entry finished, so a job killed halfway leaves an unfinished entry that the next run
recomputes, never a half-written one that looks done. Keys of computed results are `settings_key(settings)`: a
hash of every setting that made them. `semsum reproduce` keeps its stages here, the per-video jobs
(`PartsWriter`) their parts, and `summarize` its features and shots (`semsum.pipeline.cache`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from semsum.atomic import read_json, write_json

MARKER = "meta.json"


def settings_key(settings: dict[str, Any]) -> str:
    """The key of a result: a hash of every setting that made it (and of the results it read)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Store:
    """Entries `ROOT/KEY/`, finished when `ROOT/KEY/meta.json` exists (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def folder(self, key: str) -> Path:
        """Where the entry `key` lives (finished or not)."""
        return self.root / key

    def finished(self, key: str) -> bool:
        return (self.folder(key) / MARKER).is_file()

    def meta(self, key: str) -> dict[str, Any]:
        """What `finish` recorded for a finished entry."""
        return read_json(self.folder(key) / MARKER)

    def begin(self, key: str) -> Path:
        """The entry's folder, made if needed, for its writer to fill (a finished entry stays finished)."""
        folder = self.folder(key)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def reopen(self, key: str) -> Path:
        """The entry's folder, made if needed and unfinished (its marker removed), for its writer to rewrite in
        place: a rewrite cut short leaves an unfinished entry, never old meta over new contents."""
        folder = self.begin(key)
        (folder / MARKER).unlink(missing_ok=True)
        return folder

    def finish(self, key: str, meta: dict[str, Any]) -> None:
        """Mark the entry finished, recording `meta` (replaces an earlier marker)."""
        write_json(self.folder(key) / MARKER, meta)

    def markers(self, pattern: str = "*") -> list[Path]:
        """The markers of the finished entries whose keys match `pattern` (a glob, e.g. `*/*`), sorted."""
        return sorted(self.root.glob(f"{pattern}/{MARKER}"))

    def remove(self) -> None:
        """Delete the whole store (once what it kept is merged elsewhere)."""
        shutil.rmtree(self.root)
