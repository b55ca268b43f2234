import numpy as np
import pytest

from semsum.errors import SemsumError
from semsum.summary.keyshots import frame_scores, select_keyshots, unit_scores, user_summaries


def test_frame_scores_hold_each_pick_until_the_next():
    out = frame_scores(np.array([1.0, 2.0, 3.0]), np.array([0, 2, 5]), 7)
    np.testing.assert_array_equal(out, [1, 1, 2, 2, 2, 3, 3])


def test_frame_scores_rejects_mismatch():
    with pytest.raises(SemsumError, match="2 scores for 3 picks"):
        frame_scores(np.array([1.0, 2.0]), np.array([0, 1, 2]), 5)


def test_unit_scores_are_means():
    cps = np.array([[0, 1], [2, 5]])
    np.testing.assert_allclose(unit_scores(np.array([1, 3, 0, 0, 4, 4.0]), cps), [2, 2])


def test_keyshots_picks_the_best_shots_within_budget():
    n_frames = 100
    cps = np.array([[0, 9], [10, 19], [20, 49], [50, 59], [60, 99]])
    picks = np.arange(0, 100, 10)
    scores = np.array([0.1, 0.9, 0.2, 0.2, 0.2, 0.8, 0.1, 0.1, 0.1, 0.1])
    chosen = select_keyshots(frame_scores(scores, picks, n_frames), cps, budget=0.2)
    assert chosen.selected == [1, 3]
    np.testing.assert_allclose(chosen.unit_scores, [0.1, 0.9, 0.2, 0.8, 0.1])
    assert chosen.summary.dtype == np.uint8 and chosen.summary.sum() <= 20
    np.testing.assert_array_equal(np.flatnonzero(chosen.summary), np.r_[10:20, 50:60])


def test_user_summaries_summe_as_given_tvsum_each_annotators_keyshots():
    scores = np.array([[1, 1, 5, 5, 1, 1, 1, 1, 1, 1], [5, 5, 1, 1, 1, 1, 1, 1, 1, 1.0]])
    shots = np.array([[0, 1], [2, 3], [4, 9]])
    # TVSum: each annotator's best 2-frame shot within 20 % of 10 frames (the knapsack by hand).
    tvsum = user_summaries(scores, shots, binary=False, budget=0.2)
    assert tvsum.dtype == np.float32
    np.testing.assert_array_equal(tvsum, [[0, 0, 1, 1, 0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(user_summaries(scores - 1, shots, binary=True), scores > 1)


def test_the_old_names_still_work_for_one_release_and_warn():
    frames, units = np.array([1.0, 3, 0, 0, 4, 4]), np.array([[0, 1], [2, 5]])
    with pytest.warns(DeprecationWarning, match=r"`select_keyshots\(shots=...\)` is deprecated .*: use units="):
        old = select_keyshots(frames, shots=units, budget=0.5)
    assert old.selected == select_keyshots(frames, units=units, budget=0.5).selected
    with pytest.warns(DeprecationWarning, match="use Keyshots.unit_scores"):
        np.testing.assert_array_equal(old.shot_scores, old.unit_scores)
    with pytest.warns(DeprecationWarning, match=r"`user_summaries\(shots=...\)`"):
        user_summaries(frames[None], shots=units, binary=False)
    with pytest.warns(DeprecationWarning, match="keyshots.select_shots` is deprecated .*: use select_units"):
        from semsum.summary.keyshots import select_shots
    assert select_shots([1.0, 2.0], units, 6, 0.7) == [1]
    with pytest.raises(SemsumError, match="give units=, not the deprecated shots= too"):
        select_keyshots(frames, units=units, shots=units)
