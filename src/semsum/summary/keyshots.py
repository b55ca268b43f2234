"""The field's standard step from per-sampled-frame scores to a frame-level 0/1 keyshot summary.

scores [n_steps] at `picks` -> frame scores (each pick's score held until the next pick) -> shot score
(mean over the shot's frames) -> 0/1 knapsack with shot lengths as weights and `budget` x n_frames as
capacity -> the selected shots' frames set to 1.
"""

from __future__ import annotations

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


def shot_scores(frame_level: np.ndarray, change_points: np.ndarray) -> np.ndarray:
    """Mean frame score of each inclusive [start, end] shot."""
    cps = np.asarray(change_points, dtype=np.int64)
    csum = np.concatenate([[0.0], np.cumsum(frame_level)])
    return (csum[cps[:, 1] + 1] - csum[cps[:, 0]]) / (cps[:, 1] - cps[:, 0] + 1)


def select_shots(shot_values: np.ndarray, change_points: np.ndarray, n_frames: int, budget: float = 0.15) -> list[int]:
    """Indices of the shots a 0/1 knapsack keeps within `budget` of the video's frames."""
    cps = np.asarray(change_points, dtype=np.int64)
    return knapsack(shot_values, cps[:, 1] - cps[:, 0] + 1, int(n_frames * budget))


def shots_to_summary(selected: list[int], change_points: np.ndarray, n_frames: int) -> np.ndarray:
    """Frame-level 0/1 summary (uint8) with the selected shots' frames set."""
    summary = np.zeros(n_frames, dtype=np.uint8)
    for i in selected:
        start, end = change_points[i]
        summary[start : end + 1] = 1
    return summary


def keyshots(
    scores: np.ndarray, change_points: np.ndarray, n_frames: int, picks: np.ndarray, budget: float = 0.15
) -> np.ndarray:
    """Per-step scores to a frame-level 0/1 summary of at most `budget` x n_frames frames."""
    frames = frame_scores(scores, picks, n_frames)
    selected = select_shots(shot_scores(frames, change_points), change_points, n_frames, budget)
    return shots_to_summary(selected, change_points, n_frames)
