"""Stage results kept between runs, keyed by the video's content and the stage's name and declared options.

The cache is a `semsum.data.store.Store` in the folder the caller names (`summarize(..., cache_dir=...)`; the CLI's
default is `default_cache_dir()`: `$SEMSUM_CACHE`, else the platform's user cache; dataset builds keep theirs beside
their parts; the app one of its own). Two kinds of entry:

* a `FeatureCache` entry, the folder `CACHE/KEY/`, holds what one sampling pass produced: the picks (with their
  times, for seeking later), the encoder's features and thumbnails (`.npy` files), and in its marker `meta.json`
  the settings and the decoded frame count, `n_frames`, which is null while the pass is incomplete. A killed run
  resumes from the saved prefix, and a re-run with another budget, scorer or shot detector neither decodes nor
  encodes again. KEY is `settings_key` of the video's bytes and the pass's settings, so a renamed or copied video
  still hits, and an edited one, or other settings, never does;
* a `StageEntry`, the folder `CACHE/KEY/stages/STAGE/`, holds the JSON result of a later stage (shot detection)
  run on that pass in its marker, keyed by the stage's `stage_key`: its `name` and its declared `options` (a frozen
  dataclass), never its attributes. A stage that declares no options is not cached (nothing says which of its
  settings matter).

Writes keep the store's rule: the arrays are written (each atomically) before the marker, and rewriting an entry
(a longer prefix) first removes its marker, so a write cut short leaves an unfinished entry, recomputed, never a
mixed one. An entry that cannot be read, or was made with other settings, counts as absent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from semsum.atomic import atomic_path
from semsum.data.store import Store, settings_key
from semsum.errors import SemsumError

CACHE_ENV = "SEMSUM_CACHE"
ARRAYS = ("picks", "times", "features", "thumbnails")  # the .npy files of a features entry


def default_cache_dir() -> Path:
    """The CLI's features cache: $SEMSUM_CACHE, else the user cache folder."""
    return Path(os.environ.get(CACHE_ENV) or Path(platformdirs.user_cache_dir("semsum")) / "features")


def content_hash(path: str | os.PathLike[str], chunk: int = 1 << 22) -> str:
    """sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def stage_key(stage: Any) -> dict[str, Any] | None:
    """What identifies a stage's output: its `name` and declared `options` (a dataclass instance), or None when it
    declares none."""
    options = getattr(stage, "options", None)
    if not dataclasses.is_dataclass(options) or isinstance(options, type):
        return None
    return {"name": stage.name, "options": dataclasses.asdict(options)}


def _as_json(settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` as its marker will read back (tuples as lists, other objects as strings)."""
    return json.loads(json.dumps(settings, sort_keys=True, default=str))


@dataclass(frozen=True)
class CachedVideo:
    """What a features entry holds. `n_frames` is None while the pass is incomplete (a prefix of the picks)."""

    picks: np.ndarray  # int64 [n]
    times: np.ndarray  # float64 [n]: presentation time of each pick, seconds on the stream's clock
    features: np.ndarray  # float32 [n, dim]
    n_frames: int | None = None
    thumbnails: tuple[tuple[int, np.ndarray], ...] = ()

    @property
    def complete(self) -> bool:
        return self.n_frames is not None


def read_entry(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], CachedVideo]:
    """The settings and contents of the features entry `folder` (scores.json's `features_cache`); a SemsumError
    naming the folder when it is unfinished or unreadable."""
    folder = Path(folder)
    try:
        meta = Store(folder.parent).meta(folder.name)
        z = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in ARRAYS}
        video = CachedVideo(
            z["picks"].astype(np.int64),
            z["times"].astype(np.float64),
            z["features"].astype(np.float32),
            meta["n_frames"],
            tuple(zip(meta["thumbnail_frames"], z["thumbnails"], strict=True)),
        )
    except (SemsumError, OSError, KeyError, TypeError, ValueError) as e:
        raise SemsumError(f"{folder}: not a readable features entry ({e})") from None
    if not len(video.picks) == len(video.times) == len(video.features):
        raise SemsumError(f"{folder}: not a readable features entry (picks, times and features differ in length)")
    return meta["settings"], video


class FeatureCache:
    """One features entry: the folder `folder/KEY/`, KEY the hash of the video's content and the settings."""

    def __init__(self, folder: str | os.PathLike[str], video: str | os.PathLike[str], settings: dict[str, Any]):
        self.settings = _as_json({"video_sha256": content_hash(video), **settings})
        self.store, self.key = Store(folder), settings_key(self.settings)
        self.path = self.store.folder(self.key)

    def load(self) -> CachedVideo | None:
        """The entry, or None when there is none usable (absent, unfinished, unreadable, or other settings)."""
        if not self.store.finished(self.key):
            return None
        try:
            settings, video = read_entry(self.path)
        except SemsumError:
            return None
        return video if settings == self.settings else None

    def save(self, video: CachedVideo) -> None:
        """Write the entry (replacing any older one): unfinished while its arrays are written, finished last."""
        folder = self.store.reopen(self.key)
        thumbs = np.stack([t for _, t in video.thumbnails]) if video.thumbnails else np.zeros((0, 1, 1, 3), np.uint8)
        arrays = {"picks": video.picks, "times": video.times, "features": video.features, "thumbnails": thumbs}
        for name in ARRAYS:
            with atomic_path(folder / f"{name}.npy") as tmp:
                np.save(tmp, arrays[name], allow_pickle=False)
        meta = {
            "settings": self.settings,
            "n_frames": video.n_frames,
            "thumbnail_frames": [int(f) for f, _ in video.thumbnails],
        }
        self.store.finish(self.key, meta)

    def remove(self) -> None:
        """Delete the entry with the stage results kept in it."""
        shutil.rmtree(self.path, ignore_errors=True)


class StageEntry:
    """The JSON result of one stage run on a cached pass: the entry `stages/KEY/` inside the features entry, KEY
    the hash of the stage's `stage_key`."""

    def __init__(self, features: FeatureCache, key: dict[str, Any]):
        self.settings = _as_json(key)
        self.store, self.key = Store(features.path / "stages"), settings_key(self.settings)
        self.path = self.store.folder(self.key)

    def load(self) -> Any | None:
        """The stored result, or None (absent, unreadable, or made with other settings)."""
        if not self.store.finished(self.key):
            return None
        try:
            meta = self.store.meta(self.key)
            return meta["result"] if meta["settings"] == self.settings else None
        except (SemsumError, KeyError, TypeError):
            return None

    def save(self, result: Any) -> None:
        """Keep `result` (JSON), finished at once: it lives in the marker."""
        self.store.begin(self.key)
        self.store.finish(self.key, {"settings": self.settings, "result": result})
