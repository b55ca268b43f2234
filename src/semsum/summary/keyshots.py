"""The field's standard step from per-sampled-frame scores to a frame-level 0/1 keyshot summary.

scores [n_steps] at `picks` -> frame scores (each pick's score held until the next pick) -> unit score
(mean over the unit's frames) -> 0/1 knapsack with unit lengths as weights and `budget` x n_frames as
capacity -> the selected units' frames set to 1. Units are frame ranges: a dataset file's shots, or the units
`summarize` builds (`semsum.summary.shots.content_units`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from semsum.errors import SemsumError, renamed_keywords, warn_deprecated
from semsum.summary.knapsack import knapsack


def frame_scores(scores: np.ndarray, picks: np.ndarray, n_frames: int) -> np.ndarray:
    """Expand per-step scores to every frame: frame f gets the score of the last pick at or before f."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    picks = np.asarray(picks, dtype=np.int64)
    if len(scores) != len(picks):
        raise SemsumError(f"got {len(scores)} scores for {len(picks)} picks")
    bounds = np.append(picks, n_frames)
    lengths = np.diff(bounds)
    if np.any(lengths <= 0) or picks[0] < 0:
        raise SemsumError(f"picks must increase strictly within [0, n_frames={n_frames})")
    out = np.zeros(n_frames)
    out[picks[0] :] = np.repeat(scores, lengths)
    return out


def unit_scores(frame_level: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Mean frame score of each inclusive [start, end] frame unit."""
    units = np.asarray(units, dtype=np.int64)
    csum = np.concatenate([[0.0], np.cumsum(frame_level)])
    return (csum[units[:, 1] + 1] - csum[units[:, 0]]) / (units[:, 1] - units[:, 0] + 1)


def select_units(unit_values: np.ndarray, units: np.ndarray, n_frames: int, budget: float = 0.15) -> list[int]:
    """Indices of the units a 0/1 knapsack keeps within `budget` of the video's frames."""
    units = np.asarray(units, dtype=np.int64)
    return knapsack(unit_values, units[:, 1] - units[:, 0] + 1, int(n_frames * budget))


@dataclass
class Keyshots:
    """The keyshot step's result: each unit's score, the units kept, and the frame-level 0/1 summary."""

    unit_scores: np.ndarray  # float64 [n_units]: mean frame score of each unit
    selected: list[int]  # ascending indices of the kept units
    summary: np.ndarray  # uint8 [n_frames]: 1 on the kept units' frames

    @property
    def shot_scores(self) -> np.ndarray:
        """Deprecated name of `unit_scores`."""
        warn_deprecated("Keyshots.shot_scores", "Keyshots.unit_scores")
        return self.unit_scores


@renamed_keywords(shots="units")
def select_keyshots(frame_level: np.ndarray, units: np.ndarray, budget: float = 0.15) -> Keyshots:
    """Frame scores [n_frames] and inclusive [start, end] frame units -> the field's 15 % keyshot summary.

    The one keyshot step every caller uses: evaluation (machine summaries), dataset building and caption files
    (TVSum's user summaries), and `summarize` (the summary video). `shots=` is the deprecated name of `units=`.
    """
    frame_level = np.asarray(frame_level, dtype=np.float64).reshape(-1)
    units = np.asarray(units, dtype=np.int64)
    n_frames = len(frame_level)
    values = unit_scores(frame_level, units)
    selected = select_units(values, units, n_frames, budget)
    summary = np.zeros(n_frames, dtype=np.uint8)
    for i in selected:
        summary[units[i, 0] : units[i, 1] + 1] = 1
    return Keyshots(values, selected, summary)


@renamed_keywords(shots="units")
def user_summaries(user_scores: np.ndarray, units: np.ndarray, binary: bool, budget: float = 0.15) -> np.ndarray:
    """Each annotator's 0/1 summary, float32 [n_users, n_frames], as the eccv16 files hold them.

    `binary` (SumMe): the annotators' own selections, `user_scores > 0`. Otherwise (TVSum): each annotator's
    frame scores turned into a keyshot summary over `units` (the file's shots) with the 15 % knapsack.
    `shots=` is the deprecated name of `units=`.
    """
    scores = np.asarray(user_scores, dtype=np.float64)
    if binary:
        return (scores > 0).astype(np.float32)
    return np.stack([select_keyshots(u, units, budget).summary for u in scores]).astype(np.float32)


def __getattr__(name: str) -> object:
    """The deprecated names `shot_scores` and `select_shots`, with a DeprecationWarning."""
    if name in _RENAMED:
        warn_deprecated(f"semsum.summary.keyshots.{name}", _RENAMED[name])
        return globals()[_RENAMED[name]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_RENAMED = {"shot_scores": "unit_scores", "select_shots": "select_units"}
