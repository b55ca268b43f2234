"""Issue 22: what else a probe can draw from UMT's TVSum features, every choice made inside the training folds.

Three variants of `semsum baseline ridge` (semsum.training.ridge), each through the probe's own code path: the same
folds, the same GroupKFold over each fold's training videos choosing every setting (never a test video), the same
Otani / CSTA evaluation against the real TVSum annotations. Only the model that `fit` returns, or the target, differs:

- `targets KIND`: regression targets built from the 20 annotators' clip scores instead of gtscore min-max per video:
  `mean` (their mean), `zmean` (the mean of each annotator's z-scores), `rankmean` (the mean of their ranks).
- `block KEY`: ridge on [visual, c * KEY] (both standardised), the modality's weight c in SCALES chosen with alpha;
  c = 0 is the visual probe, so the folds say whether the second modality earns any weight.
- `rff`: a nonlinear probe: PCA to 128 dimensions, 2,000 random Fourier features of an RBF kernel (its width a
  multiple in GAMMAS of the median squared distance between training steps), then ridge.

    SEMSUM_DATA=../shared/data python benchmarks/umt_probe_variants.py targets zmean
    SEMSUM_DATA=../shared/data python benchmarks/umt_probe_variants.py block features_audio
    SEMSUM_DATA=../shared/data python benchmarks/umt_probe_variants.py rff

`--h5` is `semsum data import umt-tvsum`'s file (default tvsum_i3d.h5), `--umt` UMT's own file (for `targets`).
Session 16's numbers are in benchmarks/RESULTS.md. The grid is passed to the probe as indices, since the probe's
selection picks one value per fold: `ridge.fit` is replaced for this process by one that reads each index as a
setting of the variant (the probe's tests cover the selection itself).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import h5py
import numpy as np
import torch
from scipy.stats import rankdata
from sklearn.decomposition import PCA
from sklearn.kernel_approximation import RBFSampler
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import semsum.training.ridge as ridge

SPLITS = "../shared/data/splits/csta/TVSum_splits.txt"
SCALES = (0.0, 0.1, 0.3, 1.0)
BLOCK_ALPHAS = (1e3, 1e4, 3e4, 1e5, 3e5, 1e6)
GAMMAS = (0.03, 0.1, 0.3, 1.0)
RFF_ALPHAS = (1e1, 1e2, 1e3, 1e4, 1e5, 1e6)
PCA_DIM, RFF_DIM = 128, 2000


class Columns:
    """Models fitted on the same rows, their predictions side by side (one column per grid index)."""

    def __init__(self, models: list) -> None:
        self.models = models

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([m.predict(x).reshape(len(x), -1) for m in self.models], axis=1)


def grid_fit(grid: list[tuple[float, float]], make):
    """A replacement for `ridge.fit`: grid index -> (setting, alpha); one `make(setting, x)` pipeline per setting,
    ending in a Ridge that solves that setting's alphas in one fit, as `ridge.fit` does."""

    def fit(data, keys, indices):
        x, y, _ = ridge._stack(data, keys)
        pairs = [grid[int(i)] for i in indices]
        models = []
        for setting in dict.fromkeys(s for s, _ in pairs):
            alphas = np.asarray([a for s, a in pairs if s == setting])
            model = make_pipeline(*make(setting, x), Ridge(alpha=alphas, solver="cholesky"))
            models.append(model.fit(x, np.repeat(y[:, None], len(alphas), axis=1)))
        return Columns(models)

    return fit


def block_steps(width: int):
    """[visual, c * other] after standardising both: the other block's columns start at `width`."""

    def make(c: float, x: np.ndarray) -> list:
        weights = np.ones(x.shape[1])
        weights[width:] = c
        return [StandardScaler(), FunctionTransformer(lambda z: z * weights)]

    return make


def rff_steps(gamma: float, x: np.ndarray) -> list:
    """Standardise, PCA, then random Fourier features whose kernel width is `gamma` / median squared distance."""
    reduce = make_pipeline(StandardScaler(), PCA(PCA_DIM, random_state=0)).fit(x)
    z = reduce.transform(x)
    sample = z[np.random.default_rng(0).choice(len(z), min(1000, len(z)), replace=False)]
    median = np.median(((sample[:, None] - sample[None]) ** 2).sum(-1))
    return [reduce, RBFSampler(gamma=gamma / median, n_components=RFF_DIM, random_state=0), StandardScaler()]


def clip_targets(h5: Path, umt: Path, kind: str) -> dict[str, np.ndarray]:
    """Per video of `h5`, a target from UMT's 20 per-annotator clip scores, min-max scaled to [0, 1]."""
    out = {}
    with h5py.File(h5, "r") as f, h5py.File(umt, "r") as u:
        for key in f:
            name = f[key]["video_name"][()]
            scores = u[name.decode() if isinstance(name, bytes) else str(name)]["clip_scores"]
            s = scores[: len(f[key]["gtscore"])].astype(np.float64)  # the import crops streams to the shortest
            if kind == "mean":
                t = s.mean(1)
            elif kind == "zmean":
                t = ((s - s.mean(0)) / np.where(s.std(0) > 0, s.std(0), 1.0)).mean(1)
            else:
                t = np.mean([rankdata(s[:, a]) for a in range(s.shape[1])], axis=0)
            t = t - t.min()
            out[key] = (t / t.max() if t.max() > 0 else t).astype(np.float32)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", choices=["targets", "block", "rff"])
    parser.add_argument("arg", nargs="?", help="targets: mean|zmean|rankmean; block: a feature key")
    parser.add_argument("--h5", type=Path, default=Path("tvsum_i3d.h5"))
    parser.add_argument("--umt", type=Path, default=Path("../shared/data/extra/umt-tvsum/tvsum_umt_features.h5"))
    parser.add_argument("--splits", default=SPLITS)
    args = parser.parse_args()
    keys, alphas = ("features",), ridge.ALPHAS
    if args.variant == "targets":
        if args.arg not in ("mean", "zmean", "rankmean"):
            parser.error("targets takes mean, zmean or rankmean")
        targets = clip_targets(args.h5, args.umt, args.arg)
        build = ridge.Tensors.__init__

        def with_targets(self, ds, cfg, source):
            build(self, ds, cfg, source)
            self.y = {k: torch.from_numpy(targets[k]) for k in self.y}

        ridge.Tensors.__init__ = with_targets
    else:
        if args.variant == "block":
            if not args.arg:
                parser.error("block takes a feature key, e.g. features_audio")
            keys = ("features", args.arg)
            with h5py.File(args.h5, "r") as f:
                width = f[next(iter(f))]["features"].shape[1]
            grid, make = [(c, a) for c in SCALES for a in BLOCK_ALPHAS], block_steps(width)
        else:
            grid, make = [(g, a) for g in GAMMAS for a in RFF_ALPHAS], rff_steps
        ridge.fit = grid_fit(grid, make)
        alphas = tuple(float(i) for i in range(len(grid)))
    res = ridge.ridge_baseline(args.h5, args.splits, feature_keys=keys, alphas=alphas, annotations="tvsum")
    m = res["mean_over_folds"]
    chosen = (
        [f["alpha"] for f in res["folds"]]
        if args.variant == "targets"
        else [grid[int(f["alpha"])] for f in res["folds"]]
    )
    tables = " | ".join(f"{p} tau {m[p]['kendall_tau']:.4f} rho {m[p]['spearman_rho']:.4f}" for p in ("otani", "csta"))
    print(f"{args.variant} {args.arg or ''}: {tables} | chosen per fold {chosen} | {res['train_seconds']:.0f} s")


if __name__ == "__main__":
    main()
