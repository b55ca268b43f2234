"""The features cache: a video's sampled features kept between runs, keyed by its content and the settings.

An entry holds what one pass over a video produced: the picks (with their times, for seeking later), the
encoder's features, the decoded frame count once the pass is complete, thumbnails, and the shots of every shot
detector run on them. `summarize` keeps its entries in the user cache folder (`$SEMSUM_CACHE`, else the
platform's user cache), never in the output folder: a killed run resumes from the saved prefix, and a re-run with
another budget, scorer or shot detector neither decodes nor encodes again. Dataset builds keep theirs beside
their parts. An entry's name is the hash of the video's bytes and the settings, so a renamed or copied video
still hits, and an edited one, or other settings, never does.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from semsum.atomic import atomic_path

CACHE_ENV = "SEMSUM_CACHE"


def cache_dir() -> Path:
    """Where summarize keeps features between runs: $SEMSUM_CACHE, else the user cache folder."""
    return Path(os.environ.get(CACHE_ENV) or Path(platformdirs.user_cache_dir("semsum")) / "features")


def content_hash(path: str | os.PathLike[str], chunk: int = 1 << 22) -> str:
    """sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class CachedVideo:
    """What an entry holds. `n_frames` is None while the pass is incomplete (a prefix of the picks)."""

    picks: np.ndarray  # int64 [n]
    times: np.ndarray  # float64 [n]: presentation time of each pick, seconds on the stream's clock
    features: np.ndarray  # float32 [n, dim]
    n_frames: int | None = None
    thumbnails: list[tuple[int, np.ndarray]] = field(default_factory=list)
    shots: dict[str, dict[str, Any]] = field(default_factory=dict)  # detector key -> {"name", "shots"}

    @property
    def complete(self) -> bool:
        return self.n_frames is not None


class FeatureCache:
    """One entry: the file `folder/<hash of content and settings>.npz`."""

    def __init__(self, folder: str | os.PathLike[str], video: str | os.PathLike[str], settings: dict[str, Any]):
        self.settings = json.dumps({"video_sha256": content_hash(video), **settings}, sort_keys=True)
        self.path = Path(folder) / f"{hashlib.sha256(self.settings.encode()).hexdigest()[:32]}.npz"

    def load(self) -> CachedVideo | None:
        """The entry, or None when there is none usable (absent, unreadable, or made with other settings)."""
        try:
            with np.load(self.path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta["settings"] != self.settings:
                    return None
                thumbs = z["thumbnails"]
                return CachedVideo(
                    z["picks"].astype(np.int64),
                    z["times"].astype(np.float64),
                    z["features"].astype(np.float32),
                    meta["n_frames"],
                    list(zip(meta["thumbnail_frames"], thumbs, strict=True)),
                    meta["shots"],
                )
        except (OSError, KeyError, ValueError):
            return None

    def save(self, video: CachedVideo) -> None:
        """Write the entry atomically (replacing any older one)."""
        meta = {
            "settings": self.settings,
            "n_frames": video.n_frames,
            "thumbnail_frames": [int(f) for f, _ in video.thumbnails],
            "shots": video.shots,
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
