"""The reference KTS (Potapov et al.), as published and copied into the field's dataset tools (DSNet's
`kts/cpd_nonlin.py` and `kts/cpd_auto.py`), kept line for line apart from formatting: the baseline that
benchmarks/kts_bench.py times and checks semsum.summary.kts against. Not part of the package.
"""

from __future__ import annotations

import numpy as np


def calc_scatters(K):
    n = K.shape[0]
    K1 = np.cumsum([0, *list(np.diag(K))])
    K2 = np.zeros((n + 1, n + 1))
    K2[1:, 1:] = np.cumsum(np.cumsum(K, 0), 1)
    diagK2 = np.diag(K2)
    i = np.arange(n).reshape((-1, 1))
    j = np.arange(n).reshape((1, -1))
    scatters = (
        K1[1:].reshape((1, -1))
        - K1[:-1].reshape((-1, 1))
        - (diagK2[1:].reshape((1, -1)) + diagK2[:-1].reshape((-1, 1)) - K2[1:, :-1].T - K2[:-1, 1:])
        / ((j - i + 1).astype(float) + (j == i - 1).astype(float))
    )
    scatters[j < i] = 0
    return scatters


def cpd_nonlin(K, ncp, lmin=1, lmax=100000, backtrack=True):
    m = int(ncp)
    n, _ = K.shape
    J = calc_scatters(K)
    I = 1e101 * np.ones((m + 1, n + 1))  # noqa: E741 (the reference's name)
    I[0, lmin:lmax] = J[0, lmin - 1 : lmax - 1]
    p = np.zeros((m + 1, n + 1), dtype=int) if backtrack else np.zeros((1, 1), dtype=int)
    for k in range(1, m + 1):
        for l in range((k + 1) * lmin, n + 1):  # noqa: E741
            tmin = max(k * lmin, l - lmax)
            tmax = l - lmin + 1
            c = J[tmin:tmax, l - 1].reshape(-1) + I[k - 1, tmin:tmax].reshape(-1)
            I[k, l] = np.min(c)
            if backtrack:
                p[k, l] = np.argmin(c) + tmin
    cps = np.zeros(m, dtype=int)
    if backtrack:
        cur = n
        for k in range(m, 0, -1):
            cps[k - 1] = p[k, cur]
            cur = cps[k - 1]
    scores = I[:, n].copy()
    scores[scores > 1e99] = np.inf
    return cps, scores


def cpd_auto(K, ncp, vmax, desc_rate=1, **kwargs):
    m = ncp
    _, scores = cpd_nonlin(K, m, backtrack=False, **kwargs)
    N = K.shape[0]
    N2 = N * desc_rate
    penalties = np.zeros(m + 1)
    ncp = np.arange(1, m + 1)
    penalties[1:] = (vmax * ncp / (2.0 * N2)) * (np.log(float(N2) / ncp) + 1)
    costs = scores / float(N) + penalties
    m_best = np.argmin(costs)
    cps, _ = cpd_nonlin(K, m_best, **kwargs)
    return cps, costs


def reference_kts(features: np.ndarray) -> np.ndarray:
    """As the field's dataset tools call it: linear kernel on L2-normalised features, vmax 1, n - 1 cps."""
    x = features / np.linalg.norm(features, axis=1, keepdims=True)
    cps, _ = cpd_auto(x @ x.T, len(x) - 1, 1)
    return np.asarray(cps, dtype=np.int64)
