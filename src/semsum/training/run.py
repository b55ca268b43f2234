"""A whole k-fold run (train, out-of-fold scores, evaluation, results) and loading a trained run back."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from semsum.atomic import write_json
from semsum.data.annotations import Annotation, annotations_from_h5, annotations_present, load_annotations
from semsum.data.benchmarks import NAMES, Recognition, recognise
from semsum.data.h5 import Dataset
from semsum.data.hub import local_path
from semsum.device import resolve_device
from semsum.errors import SemsumError
from semsum.evaluation.protocols import PROTOCOLS, evaluate, naming
from semsum.models import count_parameters, get_model
from semsum.summary.keyshots import frame_scores
from semsum.training.config import SELECTION_LABELS
from semsum.training.results import record_run, run_markdown
from semsum.training.saved import RECORD, WEIGHTS, has_model, load_model
from semsum.training.trainer import (
    StepHook,
    TrainConfig,
    Trainer,
    feature_provenance,
    load_split_file,
    load_training_data,
    predict_steps,
    prepare_run_dir,
)


@dataclass(frozen=True)
class RunAnnotations:
    """What a run is evaluated against, and why: stated in its results.json and results.md."""

    annotations: dict[str, Annotation]
    recognition: Recognition
    #: One line when a recognised benchmark's annotations are missing and the file's own were used instead.
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": naming("otani", self.annotations.values())[1],
            "benchmark": self.recognition.dataset,
            "recognised_by": self.recognition.how,
            "note": self.note,
        }


def run_annotations(ds: Dataset, which: str = "auto", data_dir: str | os.PathLike[str] | None = None) -> RunAnnotations:
    """Human annotations to evaluate against: the benchmark's own (`summe`/`tvsum`), or the file's `user_summary`.

    `auto` evaluates a file that `recognise` identifies as SumMe or TVSum (by the sha256 of a released file,
    else by its videos' frame counts) against that benchmark's real annotations, loaded exactly as
    `semsum evaluate --dataset` loads them; any other file against its own user summaries. A recognised
    benchmark whose annotations are not installed falls back to the file's, with a one-line `note`.
    """
    if which == "auto":
        recognition = recognise(ds)
        if recognition.dataset is None:
            return RunAnnotations(annotations_from_h5(ds), recognition)
        if not annotations_present(recognition.dataset, data_dir):
            note = (
                f"{ds.path}: {NAMES[recognition.dataset]} ({recognition.how}), but its annotations are missing: "
                "evaluated against the file's user_summary, not the benchmark's protocols; see `semsum data check`"
            )
            return RunAnnotations(annotations_from_h5(ds), recognition, note)
        which = recognition.dataset
    else:
        recognition = Recognition(None if which == "h5" else which, f"chosen explicitly: {which}")
    if which == "h5":
        return RunAnnotations(annotations_from_h5(ds), recognition)
    annotations = load_annotations(which, data_dir)
    for v in ds:
        ann = annotations.get(v.key)
        if ann is None or ann.n_frames != v.n_frames:
            have = "absent" if ann is None else f"n_frames {ann.n_frames}"
            raise SemsumError(f"{ds.path}: {v.key} has n_frames {v.n_frames}, the {which} annotations: {have}")
    return RunAnnotations(annotations, recognition)


def to_frames(ds: Dataset, step_scores: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Step scores -> frame scores (each pick's score held until the next pick)."""
    return {k: frame_scores(s, ds[k].picks, ds[k].n_frames) for k, s in step_scores.items()}


def evaluate_scores(
    ds: Dataset, annotations: Mapping[str, Annotation], step_scores: Mapping[str, np.ndarray], protocol: str
) -> dict:
    """tau/rho (and F1 when the file has change points and user summaries) of step scores, one protocol.

    The frame scores `semsum predict` writes, through the same `evaluate` as `semsum evaluate`: in training
    (`--select test-best`) and in the results alike. The result's `protocol` is the name its numbers carry.
    """
    has_shots = all(ds[k].change_points is not None and ds[k].user_summary is not None for k in step_scores)
    result = evaluate(
        to_frames(ds, step_scores), {k: annotations[k] for k in step_scores}, protocol, ds if has_shots else None
    )
    return result.to_dict()


def train(
    h5: str | os.PathLike[str],
    splits: str | os.PathLike[str],
    out: str | os.PathLike[str],
    cfg: TrainConfig,
    annotations: str = "auto",
    data_dir: str | os.PathLike[str] | None = None,
    hook: StepHook | None = None,
    show_progress: bool = True,
    folds: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Train every fold of `splits` on `h5` into run directory `out` (resuming), evaluate, write results.

    Returns the results dictionary also written to `out/results.json` (and `out/results.md`).
    """
    out = Path(out)
    ds = load_training_data(h5, cfg)
    split_list = load_split_file(splits, ds)
    anns = run_annotations(ds, annotations, data_dir)
    prepare_run_dir(out, cfg, Path(h5), Path(splits), feature_provenance(ds))

    def evaluator(step_scores, keys, protocol):
        return evaluate_scores(ds, anns.annotations, step_scores, protocol)

    def body(writer: Any, progress: Any) -> dict[str, Any]:
        trainer = Trainer(cfg, ds, split_list, out, evaluator=evaluator, hook=hook, progress=progress)
        fold_ids = list(range(len(split_list))) if folds is None else list(folds)
        fold_results = [trainer.train_fold(i, writer) for i in fold_ids]
        return summarize_run(out, ds, anns, [r.__dict__ for r in fold_results], cfg, trainer.data.in_dim)

    return record_run(out, body, run_markdown, show_progress)


def summarize_run(
    out: Path, ds: Dataset, anns: RunAnnotations, fold_results: list[dict], cfg: TrainConfig, in_dim: int
) -> dict[str, Any]:
    """Out-of-fold scores of the finished folds, per-fold and overall metrics in both protocols (`fold_metrics`)."""
    run = load_run(out)
    folds = []
    for fr in fold_results:
        model = run.fold_models[fr["fold"]]
        scores = {k: model.predict(ds[k].feature_matrix(run.feature_keys, str(ds.path))) for k in model.test_keys}
        chosen = fr["history"][fr["selected_epoch"]]
        row = {
            "fold": fr["fold"],
            "selected_epoch": fr["selected_epoch"],
            "seconds": fr["seconds"],
            "n_test": len(scores),
            "final_train_loss": fr["history"][-1]["train_loss"],
            # the leakage-free criterion for comparing settings (None unless selected on a validation split)
            "val_tau": chosen.get("val_tau"),
        }
        if "lr" in chosen:  # an lr grid: the rate chosen on validation videos
            row["lr"] = chosen["lr"]
        folds.append((row, scores))
    metrics, oof = fold_metrics(ds, anns, folds)
    write_json(out / "scores.json", {k: v.tolist() for k, v in to_frames(ds, oof).items()})
    return {
        "model": cfg.model,
        "feature_keys": list(cfg.feature_keys),
        "in_dim": in_dim,
        "parameters": run.parameters,
        "cnn_init": run.fold_models[fold_results[0]["fold"]].cnn_init if fold_results else None,
        "selection": cfg.select,
        "selection_label": SELECTION_LABELS[cfg.select],
        "config": cfg.to_dict(),
        "h5": str(ds.path),
        "annotations": anns.to_dict(),
        **metrics,
        "train_seconds": sum(row["seconds"] for row, _ in folds),
    }


def fold_metrics(
    ds: Dataset, anns: RunAnnotations, folds: Sequence[tuple[dict[str, Any], Mapping[str, np.ndarray]]]
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metrics of k-fold step scores in both protocols: per fold, mean over folds and out-of-fold over all videos.

    `folds` pairs each fold's row (what the table shows besides metrics: `fold`, `seconds`, the selection) with
    its test videos' step scores. Metrics are keyed by the name their numbers carry (`otani`/`csta` against a
    benchmark's annotations, `user_summary`/`keyshots` against the file's own), listed in `protocols`. Returns
    (`protocols`, `folds`, `mean_over_folds`, `out_of_fold`, `per_video`) and the out-of-fold step scores.
    """
    names = [naming(p, anns.annotations.values())[0] for p in PROTOCOLS]
    rows, oof = [], {}
    for fold_row, scores in folds:
        oof.update(scores)
        row = {**fold_row, "gtscore": gtscore_correlation(ds, scores)}
        for name, p in zip(names, PROTOCOLS, strict=True):
            m = evaluate_scores(ds, anns.annotations, scores, p)
            row[name] = {"kendall_tau": m["kendall_tau"], "spearman_rho": m["spearman_rho"], "f_score": m["f_score"]}
        rows.append(row)
    overall = {name: evaluate_scores(ds, anns.annotations, oof, p) for name, p in zip(names, PROTOCOLS, strict=True)}
    mean = {
        p: {m: _mean([f[p].get(m) for f in rows]) for m in ("kendall_tau", "spearman_rho", "f_score")}
        for p in (*names, "gtscore")
    }
    metrics = {
        "protocols": names,
        "folds": rows,
        "mean_over_folds": mean,
        "out_of_fold": {
            **{p: {k: v for k, v in overall[p].items() if k != "per_video"} for p in names},
            "gtscore": gtscore_correlation(ds, oof),
        },
        "per_video": {p: overall[p]["per_video"] for p in names},
    }
    return metrics, oof


def gtscore_correlation(ds: Dataset, step_scores: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Mean per-video Kendall tau / Spearman rho of step scores against the file's own `gtscore`.

    The learning signal itself: on synthetic files, where `gtscore` is a known function of the features,
    this is what says whether a model learned it.
    """
    from semsum.evaluation.metrics import rank_correlations

    pairs = [rank_correlations(s, np.asarray(ds[k].gtscore)[None]) for k, s in step_scores.items()]
    return {
        "kendall_tau": _nanmean([t[0] for t, _ in pairs]),
        "spearman_rho": _nanmean([r[0] for _, r in pairs]),
    }


def _nanmean(values: list[float]) -> float:
    """`np.nanmean` of `values`, and NaN without numpy's "Mean of empty slice" warning when none is a number (every
    video's scores constant, or no video)."""
    values = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(values)) if np.any(~np.isnan(values)) else float("nan")


def _mean(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


@dataclass
class FoldModel:
    """One fold's trained summarizer."""

    fold: int
    model: torch.nn.Module
    in_dim: int
    feature_keys: list[str]
    train_keys: list[str]
    test_keys: list[str]
    cnn_init: str | None
    device: torch.device
    source: str

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Step scores [n_steps] for features [n_steps, in_dim]."""
        features = np.asarray(features)
        if features.ndim != 2 or features.shape[1] != self.in_dim:
            raise SemsumError(
                f"{self.source}: trained on {self.in_dim}-d features ({' + '.join(self.feature_keys)}), "
                f"got shape {features.shape}"
            )
        return predict_steps(self.model, features, self.device)


class TrainedRun:
    """A trained run directory: one model per finished fold.

    `predict(features)` scores a video with the mean of the fold models' scores (every fold model is a
    valid model for a video none of them trained on), or with fold `fold` when the run was loaded with one.
    `predict_video(key, features)` scores a video of the training file out-of-fold: with the model whose
    test fold holds `key`, so no video is scored by a model that trained on it.
    """

    def __init__(self, run_dir: Path, fold_models: dict[int, FoldModel], fold: int | None):
        self.run_dir, self.fold_models, self.fold = run_dir, fold_models, fold
        first = next(iter(fold_models.values()))
        self.feature_keys, self.in_dim = first.feature_keys, first.in_dim
        self.parameters = count_parameters(first.model)
        config = run_dir / "config.json"
        #: How the training file's MLLM features were made (its `mllm_*` attributes), if it had any.
        self.feature_provenance: dict[str, Any] = (
            json.loads(config.read_text()).get("features", {}) if config.is_file() else {}
        )

    def _models(self) -> list[FoldModel]:
        return [self.fold_models[self.fold]] if self.fold is not None else list(self.fold_models.values())

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Step scores [n_steps] for features [n_steps, in_dim] (mean over fold models, or the chosen fold)."""
        return np.mean([m.predict(features) for m in self._models()], axis=0)

    def predict_video(self, key: str, features: np.ndarray) -> np.ndarray:
        """Out-of-fold scores for a training-file video (`fold` or the fold mean for other videos)."""
        if self.fold is None:
            for m in self.fold_models.values():
                if key in m.test_keys:
                    return m.predict(features)
        return self.predict(features)


def load_run(run_dir: str | os.PathLike[str], fold: int | None = None, device: str = "cpu") -> TrainedRun:
    """Load the finished folds of a run written by `train` (all, or only `fold`), or the one model of a
    single-split run written by `train-stream` (its model at the top: fold 0).

    `run_dir` is a folder or `hf://OWNER/NAME[@REVISION]` (`semsum.data.hub`). Nothing is unpickled: the weights
    are safetensors, the rest JSON (`semsum.training.saved`); an old pickled `model.pt` is refused unopened.
    """
    run_dir = local_path(run_dir)
    folders = sorted((p for p in run_dir.glob("fold_*") if has_model(p)), key=lambda p: int(p.name.split("_")[1]))
    if not folders and has_model(run_dir):
        folders = [run_dir]
    if not folders:
        raise SemsumError(f"{run_dir}: no trained model (fold_K/{RECORD} of `train`, {RECORD} of `train-stream`)")
    dev = resolve_device(device)
    models = {}
    for folder in folders:
        k = int(folder.name.split("_")[1]) if folder != run_dir else 0
        if fold is None or k == fold:
            models[k] = _fold_model(folder, k, dev)
    if not models:
        have = ", ".join(p.name for p in folders)
        raise SemsumError(f"{run_dir}: no fold {fold} (has {have})")
    return TrainedRun(run_dir, models, fold)


def _fold_model(folder: Path, fold: int, device: torch.device) -> FoldModel:
    """One saved model, rebuilt from its record and loaded with its weights."""
    state, weights = load_model(folder)
    try:
        net = get_model(state["model"], state["in_dim"], **_load_kwargs(state))
        net.load_state_dict(weights)
        keys = state["feature_keys"], state["train_keys"], state["test_keys"]
    except (KeyError, TypeError, RuntimeError) as e:
        problem = f"{e.__class__.__name__}: {(str(e).strip().splitlines() or [''])[0]}"
        raise SemsumError(f"{folder / RECORD}: does not describe its weights ({problem})") from None
    source = str(folder / WEIGHTS)
    return FoldModel(fold, net.to(device).eval(), state["in_dim"], *keys, state.get("cnn_init"), device, source)


def _load_kwargs(state: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments to rebuild a model without fetching pretrained weights (they are in the state)."""
    kwargs = dict(state.get("model_kwargs", {}))
    if state["model"] == "csta":
        kwargs["cnn_weights"] = "random"
    return kwargs
