"""`gtscore_correlation`: the mean rank correlation against gtscore, NaN without a warning when none is defined."""

from __future__ import annotations

import warnings

import numpy as np

from semsum.evaluation.metrics import rank_correlations
from semsum.testing import make_synthetic_dataset
from semsum.training.run import gtscore_correlation


def test_means_skip_undefined_videos_and_none_defined_is_nan_without_a_warning(tmp_path):
    ds = make_synthetic_dataset(tmp_path / "s.h5", n_videos=3, steps=(20, 30), dim=4)
    keys = list(ds.keys())
    varied = {k: np.asarray(ds[k].features["features"])[:, 0] for k in keys}
    constant = {k: np.ones(len(ds[k].picks)) for k in keys}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "Mean of empty slice" would fail the test
        none = gtscore_correlation(ds, constant)
        some = gtscore_correlation(ds, {**constant, keys[0]: varied[keys[0]], keys[1]: varied[keys[1]]})
    assert np.isnan(none["kendall_tau"]) and np.isnan(none["spearman_rho"])
    taus = [rank_correlations(varied[k], np.asarray(ds[k].gtscore)[None])[0][0] for k in keys[:2]]
    assert some["kendall_tau"] == float(np.nanmean(taus))  # the same number as before
