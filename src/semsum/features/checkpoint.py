"""Resume feature extraction after a kill: the features computed so far, saved now and then, atomically.

A checkpoint is one `.npz` file holding `picks`, `features` and the settings they were computed with (the
video file's path, size and modification time, the sampling and the network). A checkpoint whose settings
differ from the current ones is ignored, so a stale file can never leak into a result.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from semsum.atomic import atomic_path


def video_settings(path: str | os.PathLike[str], **settings: Any) -> dict[str, Any]:
    """Settings identifying features of `path`: the file's identity plus the given sampling/network settings."""
    p = Path(path).resolve()
    st = p.stat()
    return {"video": str(p), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns, **settings}


class FeatureCheckpoint:
    """Load and save the (picks, features) prefix computed for one video with one set of settings."""

    def __init__(self, path: str | os.PathLike[str], settings: dict[str, Any]):
        self.path = Path(path)
        self.settings = json.dumps(settings, sort_keys=True)

    def load(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The saved prefix, or None when there is no usable checkpoint (absent, unreadable or other settings)."""
        try:
            with np.load(self.path, allow_pickle=False) as z:
                if str(z["settings"]) != self.settings:
                    return None
                return z["picks"].astype(np.int64), z["features"].astype(np.float32)
        except (OSError, KeyError, ValueError):
            return None

    def save(self, picks: np.ndarray, features: np.ndarray) -> None:
        with atomic_path(self.path) as tmp:
            np.savez(tmp, picks=picks, features=features, settings=np.array(self.settings))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
