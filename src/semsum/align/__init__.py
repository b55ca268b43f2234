"""F(x): align GoogLeNet features to the MLLM embedding space (paper Sec. 3.3, Eq. 3).

Public API: `train_mapper` / `TrainConfig` (five modes), `fit_ridge` and `mean_target` (baselines),
`save_mapper` / `load_mapper` / `apply_mapper` (the checkpoint and its use on a [n_steps, 1024] array),
`map_dataset` (add `features_mapped` to every video), `collect_pairs` (pairs from an eccv16 file) and the
metrics `mean_cosine`, `top1_retrieval`, `downstream_rank_correlation`.
"""

from semsum.align.baselines import fit_ridge, mean_target
from semsum.align.mapper import Mapper, MapperConfig, apply_mapper, load_mapper, map_dataset, save_mapper
from semsum.align.metrics import (
    downstream_rank_correlation,
    frechet_distance,
    mean_cosine,
    ridge_probe,
    top1_retrieval,
)
from semsum.align.pairs import collect_pairs, training_keys
from semsum.align.train import MODES, TrainConfig, TrainResult, train_mapper

__all__ = [
    "MODES",
    "Mapper",
    "MapperConfig",
    "TrainConfig",
    "TrainResult",
    "apply_mapper",
    "collect_pairs",
    "downstream_rank_correlation",
    "fit_ridge",
    "frechet_distance",
    "load_mapper",
    "map_dataset",
    "mean_cosine",
    "mean_target",
    "ridge_probe",
    "save_mapper",
    "top1_retrieval",
    "train_mapper",
    "training_keys",
]
