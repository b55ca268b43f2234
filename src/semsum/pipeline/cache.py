"""Stage results kept between runs, keyed by the video's content and the stage's name and declared options.

Two kinds of entry, both in one folder that the caller names (`summarize(..., cache_dir=...)`; the CLI's default is
`default_cache_dir()`: `$SEMSUM_CACHE`, else the platform's user cache; dataset builds keep theirs beside their
parts; the app one of its own):

* a `FeatureCache` entry holds what one sampling pass produced: the picks (with their times, for seeking later),
  the encoder's features, the decoded frame count once the pass is complete, and thumbnails. A killed run resumes
  from the saved prefix, and a re-run with another budget, scorer or shot detector neither decodes nor encodes
  again. Its name is the hash of the video's bytes and the pass's settings, so a renamed or copied video still
  hits, and an edited one, or other settings, never does;
* a `StageEntry` holds the JSON result of a later stage (shot detection) run on such a pass, keyed by the pass's
  settings and the stage's `stage_key`: its `name` and its declared `options` (a frozen dataclass), never its
  attributes. A stage that declares no options is not cached (nothing says which of its settings matter).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from semsum.atomic import atomic_path, write_json

CACHE_ENV = "SEMSUM_CACHE"


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


def _settings(settings: dict[str, Any]) -> str:
    return json.dumps(settings, sort_keys=True, default=str)


def _name(settings: str) -> str:
    return hashlib.sha256(settings.encode()).hexdigest()[:32]


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


class FeatureCache:
    """One features entry: the file `folder/<hash of content and settings>.npz`."""

    def __init__(self, folder: str | os.PathLike[str], video: str | os.PathLike[str], settings: dict[str, Any]):
        self.settings = _settings({"video_sha256": content_hash(video), **settings})
        self.path = Path(folder) / f"{_name(self.settings)}.npz"

    def load(self) -> CachedVideo | None:
        """The entry, or None when there is none usable (absent, unreadable, or made with other settings)."""
        try:
            with np.load(self.path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta["settings"] != self.settings:
                    return None
                return CachedVideo(
                    z["picks"].astype(np.int64),
                    z["times"].astype(np.float64),
                    z["features"].astype(np.float32),
                    meta["n_frames"],
                    tuple(zip(meta["thumbnail_frames"], z["thumbnails"], strict=True)),
                )
        except (OSError, KeyError, ValueError):
            return None

    def save(self, video: CachedVideo) -> None:
        """Write the entry atomically (replacing any older one)."""
        meta = {
            "settings": self.settings,
            "n_frames": video.n_frames,
            "thumbnail_frames": [int(f) for f, _ in video.thumbnails],
        }
        thumbs = np.stack([t for _, t in video.thumbnails]) if video.thumbnails else np.zeros((0, 1, 1, 3), np.uint8)
        with atomic_path(self.path) as tmp:
            np.savez(
                tmp,
                meta=np.array(json.dumps(meta)),
                picks=video.picks,
                times=video.times,
                features=video.features,
                thumbnails=thumbs,
            )

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class StageEntry:
    """The JSON result of one stage run on a cached pass: `folder/<hash of the pass's settings and the stage>.json`."""

    def __init__(self, features: FeatureCache, key: dict[str, Any]):
        self.settings = _settings({"features": features.settings, "stage": key})
        self.path = features.path.parent / f"{_name(self.settings)}.json"

    def load(self) -> Any | None:
        """The stored result, or None (absent, unreadable, or made with other settings)."""
        try:
            doc = json.loads(self.path.read_text())
            return doc["result"] if doc["settings"] == self.settings else None
        except (OSError, KeyError, TypeError, ValueError):
            return None

    def save(self, result: Any) -> None:
        write_json(self.path, {"settings": self.settings, "result": result})
