"""What `semsum align train` and `semsum align apply` do, on eccv16-schema files."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from semsum.align.baselines import fit_ridge
from semsum.align.mapper import MAPPED_KEY, MapperConfig, apply_mapper, load_mapper, map_dataset, save_mapper
from semsum.align.metrics import mean_cosine
from semsum.align.pairs import collect_pairs, training_keys
from semsum.align.train import TrainConfig, train_mapper
from semsum.data.h5 import load_dataset, save_dataset
from semsum.data.splits import hold_out, load_splits
from semsum.errors import SemsumError


def train_from_h5(
    h5: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: TrainConfig,
    source: str = "features",
    target: str = "features_mllm",
    splits: str | os.PathLike[str] | None = None,
    fold: int | None = None,
    val_fraction: float = 0.1,
    log_dir: str | os.PathLike[str] | None = None,
    ridge: bool = False,
    progress: bool = False,
    auto: bool = False,
) -> str:
    """Train a mapper on one file's pairs (only fold `fold`'s training videos with a split), save it to `out`
    and return a one-line summary. `val_fraction` of the training videos is only watched (held-out cosine).
    The training state is kept in `OUT.state` after every epoch, so rerunning a killed command resumes it.

    With `auto`, both ridge and the MLP (`config`) are fitted and the one with the higher cosine on the held-out
    training videos (at least one; never a test video) is kept; the mapper records both scores (`candidates`).
    """
    dataset = load_dataset(h5)
    keys = training_keys(dataset, load_splits(splits) if splits else None, fold)
    fit_keys, watch_keys = hold_out(keys, val_fraction, config.seed, minimum=1 if auto else 0)
    x, y, _ = collect_pairs(dataset, source, target, fit_keys)
    xv, yv = (collect_pairs(dataset, source, target, watch_keys)[:2]) if watch_keys else (None, None)
    fits = []
    if ridge or auto:
        mapper, alpha = fit_ridge(x, y, seed=config.seed, config=MapperConfig(source=source, target=target))
        fits.append((mapper, f"ridge alpha={alpha:g}"))
    if not ridge or auto:
        state = Path(f"{out}.state")  # a killed run resumes from here
        result = train_mapper(x, y, config, xv, yv, log_dir, source, target, progress, state_path=state)
        if result.diverged:
            raise SemsumError(f"{h5}: training diverged (non-finite loss at epoch {len(result.history)})")
        fits.append((result.mapper, f"{config.mode}, {len(result.history)} epochs"))
    mapper, detail = fits[0]
    if auto:
        if xv is None:
            raise SemsumError(f"{h5}: --mode auto needs at least two training videos (one is held out to choose)")
        scores = {m.config.mode: mean_cosine(apply_mapper(m, xv), yv) for m, _ in fits}
        mapper, detail = max(fits, key=lambda fit: scores[fit[0].config.mode])
        mapper.config = replace(mapper.config, candidates=scores)
        detail = f"auto chose {detail} (held-out cosine " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()) + ")"
    save_mapper(mapper, out)
    summary = f"{out}: {detail}, {len(x)} pairs from {len(fit_keys)} videos"
    if xv is not None:
        summary += f", held-out cosine {mean_cosine(apply_mapper(mapper, xv), yv):.4f} on {len(watch_keys)} videos"
    return summary


def apply_to_h5(
    mapper_path: str | os.PathLike[str],
    h5: str | os.PathLike[str],
    out: str | os.PathLike[str],
    source: str | None = None,
) -> None:
    """Copy `h5` to `out` with `features_mapped` added to every video (written atomically)."""
    if Path(out).resolve() == Path(h5).resolve():
        raise SemsumError(f"{out}: choose an output other than the input file")
    mapper = load_mapper(mapper_path)
    dataset = load_dataset(h5)
    if any(MAPPED_KEY in v.features for v in dataset):
        raise SemsumError(f"{h5}: already has {MAPPED_KEY!r}; apply to the file without it")
    save_dataset(out, map_dataset(dataset, mapper, source))
