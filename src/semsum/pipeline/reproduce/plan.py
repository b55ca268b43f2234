"""A reproduce run as a plan: the list of stages a config asks for, in order, then run by one `Store`.

A `Stage` says what it is (kind, label, the tags the report files its numbers under), what makes it (settings,
the stages it reads) and how to compute it. Its key in the store is `KIND/HASH`, HASH covering its settings, which
name the keys of the stages it reads, so a changed setting recomputes only what depends on it. Per dataset: the
inputs read from the dataset's own file are trained first; then per prompt an extract stage (only if an input
needs `features_mllm` or `features_mapped`), the summarizers on the inputs made from it, and per fold an align
stage and the summarizers on that fold's mapped features. With `ridge`, the ridge probe on each input read from the
dataset's file; with `control`, a copy with shuffled labels (a control stage) and those summarizers trained on it.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semsum.atomic import read_json, write_json
from semsum.data.store import Store, settings_key
from semsum.errors import SemsumError
from semsum.pipeline.reproduce.config import EXTRACTED, MAPPED, DatasetSpec, ReproduceConfig

KINDS = ("extract", "align", "control", "baseline", "train", "report")
#: `TrainConfig` fields added after stores were written: left out of a train stage's settings at these defaults,
#: so the stages of earlier configs keep their keys.
ADDED_TRAIN_FIELDS = {"standardize": False, "dropout": None, "lr_grid": [], "val_every": 0, "refit": False}
ADDED_TRAIN_FIELDS |= {"project": None, "input_dropout": 0.0, "loss": "mse", "inner_folds": 5}
ADDED_TRAIN_FIELDS |= {"refit_by": "passes"}

#: (the stage's folder, the folders of the stages it reads) -> what its meta.json records beside the settings.
Compute = Callable[[Path, list[Path]], dict[str, Any]]


@dataclass(frozen=True)
class Stage:
    """One step of the plan (see the module docstring); `done(folder)` adds a check to the store's marker."""

    kind: str
    label: str
    settings: dict[str, Any]
    compute: Compute
    inputs: tuple[Stage, ...] = ()
    tags: dict[str, Any] = field(default_factory=dict)
    done: Callable[[Path], bool] = lambda folder: True

    @property
    def digest(self) -> str:
        """The hash of its settings: what a stage reading it names in its own settings."""
        return settings_key(self.settings)

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.digest}"


def file_identity(path: Path) -> dict[str, Any]:
    """What is made from an input depends on: a file's size and sha256, a folder's file names and sizes.

    Not where it lies or when it was written: a store stays valid for a copied, moved or re-downloaded input (with a
    path and modification time, every copy of the data recomputed hours of training), and a changed file recomputes
    what was made from it."""
    if path.is_dir():
        return {"files": sorted((p.name, p.stat().st_size) for p in path.iterdir() if p.is_file())}
    st = path.stat()
    return {"size": st.st_size, "sha256": _sha256(str(path.resolve()), st.st_size, st.st_mtime_ns)}


@functools.cache
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """The sha256 of a file, read once per process for each version of it (size and time name the version)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def device_name(device: str) -> str:
    from semsum.device import resolve_device

    return str(resolve_device(device))


def prompt_name(prompt: str | None) -> str | None:
    return Path(prompt).name if prompt else None


def extract_stage(config: ReproduceConfig, spec: DatasetSpec, prompt: str, data: dict[str, Any]) -> Stage:
    """Video-LLaVA embeddings of every video with `prompt`: `data.h5`, the dataset's file with `features_mllm`."""
    c = config
    model_id = file_identity(Path(c.mllm)) if Path(c.mllm).is_dir() else c.mllm
    settings = {"stage": "extract", **data, "videos": file_identity(spec.videos), "mllm": model_id}
    settings |= {"prompt": file_identity(Path(prompt)) if Path(prompt).is_file() else prompt, **c.extract}

    def compute(folder: Path, _: list[Path]) -> dict[str, Any]:
        from semsum.features.mllm import MLLMEmbedder
        from semsum.pipeline.extract import extract_dataset

        embedder = MLLMEmbedder.from_pretrained(c.mllm, prompt, device=c.device, **c.extract)
        extract_dataset(embedder, spec.h5, spec.videos, folder / "data.h5", progress=False)
        return {"device": device_name(c.device)}

    return Stage("extract", f"extract {spec.name} prompt {prompt_name(prompt)}", settings, compute)


def align_stage(config: ReproduceConfig, spec: DatasetSpec, prompt: str, extract: Stage, fold: int) -> Stage:
    """F(x) trained on `fold`'s training videos: `mapper.safetensors`; `mapped.h5`, the extraction with
    `features_mapped`."""
    c, a = config, config.align
    settings = {"stage": "align", "extract": extract.digest, "splits": file_identity(spec.splits)}
    settings |= {"fold": fold, **a, "device": c.device}

    def compute(folder: Path, inputs: list[Path]) -> dict[str, Any]:
        from semsum.align.commands import apply_to_h5, train_from_h5
        from semsum.align.mapper import load_mapper
        from semsum.align.train import TrainConfig

        extracted = inputs[0] / "data.h5"
        cfg = TrainConfig(mode="regression", epochs=a["epochs"], width=a["width"], depth=a["depth"], device=c.device)
        auto, ridge = a["mode"] == "auto", a["mode"] == "ridge"
        line = train_from_h5(
            extracted, folder / "mapper.safetensors", cfg, splits=spec.splits, fold=fold, ridge=ridge, auto=auto
        )
        apply_to_h5(folder / "mapper.safetensors", extracted, folder / "mapped.h5")
        mapper = load_mapper(folder / "mapper.safetensors").config
        return {"device": device_name(c.device), "summary": line, "mode": mapper.mode, "candidates": mapper.candidates}

    label = f"align {spec.name} prompt {prompt_name(prompt)} fold {fold}"
    tags = {"dataset": spec.name, "prompt": prompt_name(prompt), "fold": fold}
    return Stage("align", label, settings, compute, (extract,), tags)


def control_stage(spec: DatasetSpec, data: dict[str, Any]) -> Stage:
    """The dataset's file with gtscore permuted within every video (`data.h5`): the shuffled-label control's input."""
    settings = {"stage": "control", **data, "seed": 0}

    def compute(folder: Path, _: list[Path]) -> dict[str, Any]:
        from semsum.training.control import shuffle_labels

        shuffle_labels(spec.h5, folder / "data.h5", seed=0)
        return {}

    return Stage("control", f"control {spec.name}: shuffled labels", settings, compute)


def ridge_stage(config: ReproduceConfig, spec: DatasetSpec, name: str, data: dict[str, Any]) -> Stage:
    """The ridge probe on input `name` of the dataset's file: `results.json` as `semsum baseline ridge --json`."""
    keys = config.input_keys[name]
    settings = {"stage": "baseline", **data, "feature_keys": keys, "model": "ridge"}

    def compute(folder: Path, _: list[Path]) -> dict[str, Any]:
        from semsum.training.ridge import ridge_baseline

        write_json(folder / "results.json", ridge_baseline(spec.h5, spec.splits, keys, annotations=spec.annotations))
        return {}

    tags = {"dataset": spec.name, "input": name, "prompt": None, "summarizer": "ridge", "seed": 0}

    def done(folder: Path) -> bool:
        return evaluated_as(folder / "results.json", spec.annotations)

    return Stage("baseline", f"ridge {spec.name} {name}", settings, compute, (), tags, done)


def evaluated_as(results: Path, annotations: str) -> bool:
    """Whether a stored `results.json` was evaluated against the annotations a dataset asks for; a stage whose
    results were not (e.g. `auto` fell back to the file's user summaries before the benchmark's were installed)
    runs again: a train stage then trains nothing and evaluates its stored models."""
    if annotations == "auto":
        return True
    if not results.is_file():
        return False
    got = read_json(results)["annotations"]
    return got["note"] is None and got["benchmark"] == (None if annotations == "h5" else annotations)


def train_stages(
    config: ReproduceConfig,
    spec: DatasetSpec,
    name: str,
    prompt: str | None,
    source: Stage | None,
    folds: Sequence[int],
) -> list[Stage]:
    """Every summarizer and seed on input `name`, read from `source`'s file (None: the dataset's own file; the
    control stage: its control summarizers, every seed: how far from zero a model that learned nothing lands)."""
    from semsum.training import TrainConfig

    c = config
    splits = file_identity(spec.splits)
    if source is None:
        upstream: dict[str, Any] = {"h5": file_identity(spec.h5), "splits": splits}
    else:
        upstream = {source.kind: source.digest, "splits": splits}
    control = source is not None and source.kind == "control"
    stages = []
    for summarizer in c.control if control else c.summarizers:
        for seed in c.seeds:
            kwargs = {"cnn_weights": "auto"} if summarizer == "csta" else {}
            cfg = TrainConfig(
                model=summarizer,
                feature_keys=tuple(c.input_keys[name]),
                seed=seed,
                model_kwargs=kwargs,
                **c.train_settings(summarizer),
            )
            recorded = {k: v for k, v in cfg.to_dict().items() if ADDED_TRAIN_FIELDS.get(k, ...) != v}
            settings = {"stage": "train", **upstream, "folds": list(folds), "config": recorded}
            shown = f"{name}, shuffled labels" if control else name
            label = f"train {spec.name} {shown}" + (f" prompt {prompt_name(prompt)}" if prompt else "")
            label += f" {summarizer} seed {seed} folds {','.join(map(str, folds))}"
            tags = {"dataset": spec.name, "input": shown, "prompt": prompt_name(prompt), "summarizer": summarizer}
            stages.append(_train_stage(c, spec, cfg, folds, source, label, settings, tags | {"seed": seed}))
    return stages


def _train_stage(
    c: ReproduceConfig,
    spec: DatasetSpec,
    cfg: Any,
    folds: Sequence[int],
    source: Stage | None,
    label: str,
    settings: dict[str, Any],
    tags: dict[str, Any],
) -> Stage:
    """One summarizer run (`run/`, as `semsum train` writes it); done when every fold has its model."""
    from semsum.training import train
    from semsum.training.saved import RECORD

    files = {None: None, "extract": "data.h5", "control": "data.h5", "align": "mapped.h5"}
    read = files[source.kind if source else None]

    def missing(folder: Path) -> list[int]:
        return [k for k in folds if not (folder / "run" / f"fold_{k}" / RECORD).is_file()]

    def compute(folder: Path, inputs: list[Path]) -> dict[str, Any]:
        todo = missing(folder)
        h5 = inputs[0] / read if read else spec.h5
        train(h5, spec.splits, folder / "run", cfg, spec.annotations, folds=folds, show_progress=False)
        return {"device": device_name(c.device), "trained_folds": todo}

    inputs = (source,) if source else ()

    def done(folder: Path) -> bool:
        return not missing(folder) and evaluated_as(folder / "run" / "results.json", spec.annotations)

    return Stage("train", label, settings, compute, inputs, tags, done=done)


def dataset_plan(config: ReproduceConfig, spec: DatasetSpec, n_folds: int) -> list[Stage]:
    """The stages of one dataset, in the order they run (see the module docstring)."""
    c = config
    needs = {name: c.made(name) for name in c.inputs}
    own = [n for n in c.inputs if not needs[n]]
    extracted = [n for n in c.inputs if needs[n] == {EXTRACTED}]
    mapped = [n for n in c.inputs if MAPPED in needs[n]]
    plan = [s for name in own for s in train_stages(c, spec, name, None, None, range(n_folds))]
    data = {"h5": file_identity(spec.h5), "splits": file_identity(spec.splits)}
    plan += [ridge_stage(c, spec, name, data) for name in own if c.ridge]
    if c.control and own:
        control = control_stage(spec, data)
        plan += [control, *train_stages(c, spec, own[0], None, control, range(n_folds))]
    for prompt in c.prompts if extracted or mapped else ():
        extract = extract_stage(c, spec, prompt, data)
        plan.append(extract)
        plan += [s for name in extracted for s in train_stages(c, spec, name, prompt, extract, range(n_folds))]
        for fold in range(n_folds) if mapped else ():
            align = align_stage(c, spec, prompt, extract, fold)
            plan += [align, *(s for name in mapped for s in train_stages(c, spec, name, prompt, align, [fold]))]
    return plan


def build_plan(config: ReproduceConfig) -> list[Stage]:
    """Every stage of the config, in the order they run."""
    from semsum.data.splits import load_splits

    return [s for spec in config.datasets for s in dataset_plan(config, spec, len(load_splits(spec.splits)))]


@dataclass
class PlanRunner:
    """Runs a plan's stages in one store; `ran` lists the labels of the stages this run computed."""

    store: Store
    only: Sequence[str] = KINDS
    advance: Callable[[str], None] = lambda label: None
    ran: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        bad = sorted(set(self.only) - set(KINDS))
        if bad:
            raise SemsumError(f"--only {bad[0]}: unknown stage (stages: {', '.join(KINDS)})")

    def run(self, plan: Sequence[Stage]) -> None:
        for stage in plan:
            self.advance(stage.label)
            self.ensure(stage)

    def ensure(self, stage: Stage) -> Path:
        """The stage's folder, computing it first unless finished (its marker present and `stage.done`)."""
        folder = self.store.folder(stage.key)
        if self.store.finished(stage.key) and stage.done(folder):
            return folder
        if stage.kind not in self.only:
            raise SemsumError(f"{folder}: {stage.label} is not computed yet; run it (--only {stage.kind}) first")
        self.store.begin(stage.key)
        t0 = time.perf_counter()
        extra = stage.compute(folder, [self.store.folder(s.key) for s in stage.inputs])
        seconds = time.perf_counter() - t0
        if self.store.finished(stage.key):  # partly recomputed (a deleted fold): keep the first run's time too
            seconds += self.store.meta(stage.key)["seconds"]
        self.store.finish(stage.key, {"label": stage.label, "settings": stage.settings, "seconds": seconds, **extra})
        self.ran.append(stage.label)
        return folder
