"""The field's standard step from per-sampled-frame scores to a frame-level 0/1 keyshot summary.

scores [n_steps] at `picks` -> frame scores (each pick's score held until the next pick) -> shot score
(mean over the shot's frames) -> 0/1 knapsack with shot lengths as weights and `budget` x n_frames as
capacity -> the selected shots' frames set to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from semsum.errors import SemsumError
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


def shot_scores(frame_level: np.ndarray, shots: np.ndarray) -> np.ndarray:
    """Mean frame score of each inclusive [start, end] frame shot."""
    shots = np.asarray(shots, dtype=np.int64)
    csum = np.concatenate([[0.0], np.cumsum(frame_level)])
    return (csum[shots[:, 1] + 1] - csum[shots[:, 0]]) / (shots[:, 1] - shots[:, 0] + 1)


def select_shots(shot_values: np.ndarray, shots: np.ndarray, n_frames: int, budget: float = 0.15) -> list[int]:
    """Indices of the shots a 0/1 knapsack keeps within `budget` of the video's frames."""
    shots = np.asarray(shots, dtype=np.int64)
    return knapsack(shot_values, shots[:, 1] - shots[:, 0] + 1, int(n_frames * budget))


@dataclass
class Keyshots:
    """The keyshot step's result: each shot's score, the shots kept, and the frame-level 0/1 summary."""

    shot_scores: np.ndarray  # float64 [n_shots]: mean frame score of each shot
    selected: list[int]  # ascending indices of the kept shots
    summary: np.ndarray  # uint8 [n_frames]: 1 on the kept shots' frames


def select_keyshots(frame_level: np.ndarray, shots: np.ndarray, budget: float = 0.15) -> Keyshots:
    """Frame scores [n_frames] and inclusive [start, end] frame shots -> the field's 15 % keyshot summary.

    The one keyshot step every caller uses: evaluation (machine summaries), dataset building and caption files
    (TVSum's user summaries), and `summarize` (the summary video).
    """
    frame_level = np.asarray(frame_level, dtype=np.float64).reshape(-1)
    shots = np.asarray(shots, dtype=np.int64)
    n_frames = len(frame_level)
    values = shot_scores(frame_level, shots)
    selected = select_shots(values, shots, n_frames, budget)
    summary = np.zeros(n_frames, dtype=np.uint8)
    for i in selected:
        summary[shots[i, 0] : shots[i, 1] + 1] = 1
    return Keyshots(values, selected, summary)


def user_summaries(user_scores: np.ndarray, shots: np.ndarray, binary: bool, budget: float = 0.15) -> np.ndarray:
    """Each annotator's 0/1 summary, float32 [n_users, n_frames], as the eccv16 files hold them.

    `binary` (SumMe): the annotators' own selections, `user_scores > 0`. Otherwise (TVSum): each annotator's
    frame scores turned into a keyshot summary over `shots` with the 15 % knapsack.
    """
    scores = np.asarray(user_scores, dtype=np.float64)
    if binary:
        return (scores > 0).astype(np.float32)
    return np.stack([select_keyshots(u, shots, budget).summary for u in scores]).astype(np.float32)
