import pytest

from semsum.data.annotations import load_annotations
from semsum.evaluation.baselines import human, random_trials


@pytest.mark.parametrize(("dataset", "tau", "rho"), [("summe", 0.205, 0.213), ("tvsum", 0.177, 0.204)])
def test_human_row_of_the_paper(shared_data, dataset, tau, rho):
    result = human(load_annotations(dataset, shared_data))
    assert round(result.kendall_tau, 3) == tau
    assert round(result.spearman_rho, 3) == rho


def test_random_is_near_zero(shared_data):
    result = random_trials(load_annotations("summe", shared_data), trials=100, seed=0)
    assert abs(result["kendall_tau"]) < 0.005 and abs(result["spearman_rho"]) < 0.005
    assert 0 < result["kendall_tau_std"] < 0.02
