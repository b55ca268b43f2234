"""`semsum reproduce`: the paper's Tables 1 and 2 from raw data, every stage cached under the hash of its settings.

Per dataset and prompt: MLLM extraction (`extract_dataset`), F(x) per fold on that fold's training videos
(`train_from_h5`, `apply_to_h5`), summarizer training per input, seed and fold (`semsum.training.train`, which
evaluates through `semsum.evaluation.protocols.evaluate`), then DIR/report.md and DIR/report.json. A stage's
output lives in DIR/STAGE/HASH/, HASH covering its settings and those of the stages it reads, so a killed run
continues where it stopped and a changed setting recomputes only what depends on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from semsum.atomic import atomic_path, read_json, write_json
from semsum.errors import SemsumError
from semsum.progress import progress_bars

STAGES = ("extract", "align", "train", "report")
INPUTS = {  # input name -> feature keys concatenated
    "features": ("features",),
    "features_mllm": ("features_mllm",),
    "features_mapped": ("features_mapped",),
    "fused": ("features", "features_mllm"),
}
MLLM_INPUTS = ("features_mllm", "features_mapped", "fused")
DEFAULT_MLLM = "LanguageBind/Video-LLaVA-7B-hf"
ALIGN_KEYS = ("mode", "epochs", "width", "depth")
EXTRACT_KEYS = ("batch_size", "vision_cache", "padding", "dtype", "attn", "quantize")  # MLLMEmbedder options

# The paper's published numbers (../shared/paper/), (tau, rho) per dataset, as printed there.
PUBLISHED_TABLE1 = {  # Table 1, "Comparison with SOTA Models on SumMe and TVSum"
    "Random": {"summe": (0.000, 0.000), "tvsum": (0.000, 0.000)},
    "Human": {"summe": (0.205, 0.213), "tvsum": (0.177, 0.204)},
    "CSTA (GoogLeNet)": {"summe": (0.246, 0.274), "tvsum": (0.192, 0.255)},
    "Ours (MLLM embeddings, CSTA)": {"summe": (0.267, 0.298), "tvsum": (0.225, 0.296)},
}
PUBLISHED_TABLE2 = {  # Table 2, "Ablation studies on instruction design"
    "summarize": {"summe": (0.205, 0.223), "tvsum": (0.209, 0.233)},
    "importance": {"summe": (0.267, 0.298), "tvsum": (0.225, 0.296)},
}

TEMPLATE = """\
# semsum reproduce: the paper's Tables 1 and 2 (`semsum reproduce --config THIS.toml --out DIR`).
# Relative paths are relative to this file. Every stage's output is kept under DIR, keyed by its settings.

# Video-LLaVA: Hugging Face id or a local folder (the -hf layout).
mllm = "LanguageBind/Video-LLaVA-7B-hf"
# Prompts: built-in names (importance, summarize) or prompt files. The first one is Table 1's; all are Table 2.
prompts = ["importance", "summarize"]
# Summarizers by name (csta, vasnet, pgl-sum).
summarizers = ["csta"]
# Inputs: features (GoogLeNet), features_mllm, features_mapped (F(x), one mapper per fold trained on that
# fold's training videos only), fused (features + features_mllm concatenated).
inputs = ["features", "features_mllm", "features_mapped", "fused"]
epochs = 100                 # per fold (official CSTA: 100)
seeds = [123456]             # the report gives mean +- std over seeds
# last: leakage-free (default). test-best: the published CSTA protocol, which selects on the test fold.
select = "last"
device = "auto"              # auto, cpu, cuda, cuda:N

[align]                      # F(x): auto keeps ridge or the MLP, whichever fits held-out training videos better
mode = "auto"                # auto, regression, ridge
epochs = 20
width = 1024
depth = 1

[extract]
batch_size = 4               # windows per forward pass

# One table per dataset: the eccv16 HDF5 file, its videos folder and a split file (any family).
[datasets.summe]
h5 = "data/eccv16_dataset_summe_google_pool5.h5"
videos = "data/SumMe/videos"
splits = "data/splits/summe_splits.txt"

[datasets.tvsum]
h5 = "data/eccv16_dataset_tvsum_google_pool5.h5"
videos = "data/TVSum/ydata-tvsum50-v1_1/video"
splits = "data/splits/tvsum_splits.txt"
"""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    h5: Path
    videos: Path
    splits: Path


@dataclass
class ReproduceConfig:
    """Every setting of a reproduce run (the report repeats them all)."""

    datasets: list[DatasetSpec]
    mllm: str = DEFAULT_MLLM
    prompts: list[str] = field(default_factory=lambda: ["importance", "summarize"])
    summarizers: list[str] = field(default_factory=lambda: ["csta"])
    inputs: list[str] = field(default_factory=lambda: list(INPUTS))
    epochs: int = 100
    seeds: list[int] = field(default_factory=lambda: [123456])
    select: str = "last"
    device: str = "auto"
    align: dict[str, Any] = field(default_factory=lambda: {"mode": "auto", "epochs": 20, "width": 1024, "depth": 1})
    extract: dict[str, Any] = field(default_factory=lambda: {"batch_size": 4})

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["datasets"] = [{k: str(v) for k, v in asdict(s).items()} for s in self.datasets]
        return d


def write_template(path: str | os.PathLike[str]) -> None:
    """Write the commented template config (`semsum reproduce --init`); never overwrites a file."""
    if Path(path).exists():
        raise SemsumError(f"{path}: already exists; choose another name")
    with atomic_path(path) as tmp:
        tmp.write_text(TEMPLATE)


def load_config(path: str | os.PathLike[str]) -> ReproduceConfig:
    """Read and check a config: every file, name and split key, before any work (one-line errors naming the setting)."""
    path = Path(path)
    if not path.is_file():
        raise SemsumError(f"{path}: no such config file (write a template with `semsum reproduce --init`)")
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SemsumError(f"{path}: not valid TOML ({e})") from None
    base = ReproduceConfig(datasets=[])
    known = set(asdict(base))
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SemsumError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    datasets = []
    for name, spec in (raw.pop("datasets", None) or {}).items():
        files = {}
        for key in ("h5", "videos", "splits"):
            if key not in spec:
                raise SemsumError(f"{path}: datasets.{name}.{key} is missing")
            files[key] = (path.parent / spec[key]).resolve()
        datasets.append(DatasetSpec(name, **files))
    if not datasets:
        raise SemsumError(f"{path}: no [datasets.NAME] table (h5, videos, splits)")
    align = {**base.align, **raw.pop("align", {})}
    extract = {**base.extract, **raw.pop("extract", {})}
    prompts = [
        p if p in ("importance", "summarize") else str((path.parent / p).resolve())
        for p in raw.pop("prompts", base.prompts)
    ]
    config = ReproduceConfig(datasets=datasets, align=align, extract=extract, prompts=prompts, **raw)
    check_config(config, str(path))
    return config


def check_config(config: ReproduceConfig, where: str) -> None:
    """Raise a one-line SemsumError naming the first bad setting (files, names, split keys)."""
    from semsum.data.splits import load_splits
    from semsum.features.prompts import load_prompt
    from semsum.models import MODELS
    from semsum.training import SELECTIONS

    def bad(setting: str, problem: str) -> SemsumError:
        return SemsumError(f"{where}: {setting}: {problem}")

    for spec in config.datasets:
        setting = f"datasets.{spec.name}"
        if not spec.h5.is_file():
            raise bad(f"{setting}.h5", f"{spec.h5}: no such file")
        if not spec.videos.is_dir():
            raise bad(f"{setting}.videos", f"{spec.videos}: no such folder")
        try:
            splits = load_splits(spec.splits)
        except SemsumError as e:
            raise bad(f"{setting}.splits", str(e)) from None
        with h5py.File(spec.h5, "r") as f:
            keys = set(f.keys())
        for i, split in enumerate(splits):
            missing = sorted(set(split.train_keys + split.test_keys) - keys)
            if missing:
                raise bad(f"{setting}.splits", f"split {i} names {missing[0]!r}, which {spec.h5.name} does not hold")
    for prompt in config.prompts:
        try:
            load_prompt(prompt)
        except SemsumError as e:
            raise bad("prompts", str(e)) from None
    if not config.prompts:
        raise bad("prompts", "give at least one prompt")
    if not (Path(config.mllm).is_dir() or config.mllm.count("/") == 1):
        raise bad("mllm", f"{config.mllm!r} is neither a local model folder nor a Hugging Face id (org/name)")
    for name in config.summarizers:
        if name not in MODELS:
            raise bad("summarizers", f"unknown model {name!r} (available: {', '.join(sorted(MODELS))})")
    for name in config.inputs:
        if name not in INPUTS:
            raise bad("inputs", f"unknown input {name!r} (available: {', '.join(INPUTS)})")
    if config.select not in SELECTIONS:
        raise bad("select", f"unknown selection {config.select!r} (available: {', '.join(SELECTIONS)})")
    for table, allowed in (("align", ALIGN_KEYS), ("extract", EXTRACT_KEYS)):
        extra = sorted(set(getattr(config, table)) - set(allowed))
        if extra:
            raise bad(f"{table}.{extra[0]}", f"unknown setting (known: {', '.join(allowed)})")
    if config.align.get("mode") not in ("auto", "regression", "ridge"):
        raise bad("align.mode", f"{config.align.get('mode')!r} is not auto, regression or ridge")
    if config.epochs < 1 or not config.seeds or not config.summarizers or not config.inputs:
        raise bad("epochs/seeds/summarizers/inputs", "need epochs >= 1 and at least one seed, summarizer and input")


def settings_hash(settings: dict[str, Any]) -> str:
    """The key of a stage's output: a hash of every setting that made it (and of the stages it read)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_identity(path: Path) -> dict[str, Any]:
    """Path, size and modification time: a changed input file invalidates what was made from it."""
    if path.is_dir():
        return {"path": str(path), "files": sorted((p.name, p.stat().st_size) for p in path.iterdir() if p.is_file())}
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


@dataclass
class StageStore:
    """DIR/STAGE/HASH folders with meta.json (settings, seconds, device) once finished; `ran` lists what ran."""

    root: Path
    only: Sequence[str]
    advance: Callable[[str], None]
    ran: list[str] = field(default_factory=list)

    def run(
        self,
        kind: str,
        settings: dict[str, Any],
        label: str,
        compute: Callable[[Path], dict[str, Any]],
        done: Callable[[Path], bool] = lambda folder: True,
    ) -> Path:
        """The stage's folder, computing it first unless finished (meta.json present and `done`)."""
        folder = self.root / kind / settings_hash(settings)
        meta = folder / "meta.json"
        self.advance(label)
        if meta.is_file() and done(folder):
            return folder
        if kind not in self.only:
            raise SemsumError(f"{folder}: {label} is not computed yet; run it (--only {kind}) first")
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        extra = compute(folder)
        seconds = time.perf_counter() - t0
        if meta.is_file():  # partly recomputed (a deleted fold): keep the first run's time too
            seconds += read_json(meta)["seconds"]
        write_json(meta, {"label": label, "settings": settings, "seconds": seconds, **extra})
        self.ran.append(label)
        return folder


def _device_name(device: str) -> str:
    from semsum.device import resolve_device

    return str(resolve_device(device))


class Reproduction:
    """Runs the plan of one config into one output folder (see the module docstring)."""

    def __init__(self, config: ReproduceConfig, out: Path, only: Sequence[str] | None = None, progress: bool = True):
        self.config, self.out = config, Path(out)
        self.only = tuple(only or STAGES)
        bad = sorted(set(self.only) - set(STAGES))
        if bad:
            raise SemsumError(f"--only {bad[0]}: unknown stage (stages: {', '.join(STAGES)})")
        self.progress = progress_bars(progress)
        self.task = None
        self.store = StageStore(self.out, self.only, self._advance)
        self.rows: list[dict[str, Any]] = []
        self.mappers: list[dict[str, Any]] = []

    def _advance(self, label: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=1, description=label)

    def _n_stages(self, n_folds: dict[str, int]) -> int:
        c = self.config
        n = 0
        for spec in c.datasets:
            folds, mllm = n_folds[spec.name], [i for i in c.inputs if i in MLLM_INPUTS]
            runs = len(c.summarizers) * len(c.seeds)
            n += len(c.prompts) * (1 + folds * ("features_mapped" in c.inputs))
            n += runs * (
                ("features" in c.inputs) + len(c.prompts) * sum(folds if i == "features_mapped" else 1 for i in mllm)
            )
        return n

    def run(self) -> dict[str, Any]:
        """Run every stage not yet finished; write and return the report (unless `--only` leaves it out)."""
        from semsum.data.splits import load_splits

        n_folds = {s.name: len(load_splits(s.splits)) for s in self.config.datasets}
        self.out.mkdir(parents=True, exist_ok=True)
        with self.progress:
            self.task = self.progress.add_task("reproduce", total=self._n_stages(n_folds))
            for spec in self.config.datasets:
                self._dataset(spec, n_folds[spec.name])
        report = build_report(self.config, self.rows, self.mappers, self.out)
        if "report" in self.only:
            write_json(self.out / "report.json", report)
            with atomic_path(self.out / "report.md") as tmp:
                tmp.write_text(report_markdown(report))
        return report

    def _dataset(self, spec: DatasetSpec, n_folds: int) -> None:
        c = self.config
        data = {"h5": file_identity(spec.h5), "splits": file_identity(spec.splits)}
        if "features" in c.inputs:
            self._train_all(spec, "features", None, spec.h5, data, range(n_folds))
        for prompt in c.prompts:
            extracted = self._extract(spec, prompt, data)
            upstream = {"extract": extracted.name, "splits": data["splits"]}
            for name in ("features_mllm", "fused"):
                if name in c.inputs:
                    self._train_all(spec, name, prompt, extracted / "data.h5", upstream, range(n_folds))
            if "features_mapped" in c.inputs:
                for fold in range(n_folds):
                    mapped = self._align(spec, prompt, extracted, fold, data)
                    up = {"align": mapped.name, "splits": data["splits"]}
                    self._train_all(spec, "features_mapped", prompt, mapped / "mapped.h5", up, [fold])

    def _extract(self, spec: DatasetSpec, prompt: str, data: dict[str, Any]) -> Path:
        from semsum.features.mllm import MLLMEmbedder
        from semsum.pipeline.extract import extract_dataset

        c = self.config
        model_id = file_identity(Path(c.mllm)) if Path(c.mllm).is_dir() else c.mllm
        settings = {"stage": "extract", **data, "videos": file_identity(spec.videos), "mllm": model_id}
        settings |= {"prompt": file_identity(Path(prompt)) if Path(prompt).is_file() else prompt, **c.extract}

        def compute(folder: Path) -> dict[str, Any]:
            embedder = MLLMEmbedder.from_pretrained(c.mllm, prompt, device=c.device, **c.extract)
            extract_dataset(embedder, spec.h5, spec.videos, folder / "data.h5", progress=False)
            return {"device": _device_name(c.device)}

        return self.store.run("extract", settings, f"extract {spec.name} prompt {Path(prompt).name}", compute)

    def _align(self, spec: DatasetSpec, prompt: str, extracted: Path, fold: int, data: dict[str, Any]) -> Path:
        from semsum.align.commands import apply_to_h5, train_from_h5
        from semsum.align.mapper import load_mapper
        from semsum.align.train import TrainConfig

        c = self.config
        a = c.align
        settings = {"stage": "align", "extract": extracted.name, "splits": data["splits"], "fold": fold, **a}
        settings["device"] = c.device

        def compute(folder: Path) -> dict[str, Any]:
            cfg = TrainConfig(
                mode="regression", epochs=a["epochs"], width=a["width"], depth=a["depth"], device=c.device
            )
            line = train_from_h5(
                extracted / "data.h5",
                folder / "mapper.pt",
                cfg,
                splits=spec.splits,
                fold=fold,
                ridge=a["mode"] == "ridge",
                auto=a["mode"] == "auto",
            )
            apply_to_h5(folder / "mapper.pt", extracted / "data.h5", folder / "mapped.h5")
            mapper = load_mapper(folder / "mapper.pt").config
            return {
                "device": _device_name(c.device),
                "summary": line,
                "mode": mapper.mode,
                "candidates": mapper.candidates,
            }

        label = f"align {spec.name} prompt {Path(prompt).name} fold {fold}"
        folder = self.store.run("align", settings, label, compute)
        meta = read_json(folder / "meta.json")
        self.mappers.append(
            {"dataset": spec.name, "prompt": Path(prompt).name, "fold": fold}
            | {k: meta[k] for k in ("mode", "candidates", "summary")}
        )
        return folder

    def _train_all(
        self, spec: DatasetSpec, name: str, prompt: str | None, h5: Path, upstream: dict[str, Any], folds: Sequence[int]
    ) -> None:
        from semsum.training import TrainConfig, train

        c = self.config
        for summarizer in c.summarizers:
            for seed in c.seeds:
                kwargs = {"cnn_weights": "auto"} if summarizer == "csta" else {}
                cfg = TrainConfig(
                    model=summarizer,
                    feature_keys=INPUTS[name],
                    epochs=c.epochs,
                    seed=seed,
                    select=c.select,
                    device=c.device,
                    model_kwargs=kwargs,
                )
                settings = {"stage": "train", **upstream, "folds": list(folds), "config": cfg.to_dict()}
                label = f"train {spec.name} {name}" + (f" prompt {Path(prompt).name}" if prompt else "")
                label += f" {summarizer} seed {seed} folds {','.join(map(str, folds))}"

                def missing(folder: Path, folds=folds) -> list[int]:
                    return [k for k in folds if not (folder / "run" / f"fold_{k}" / "model.pt").is_file()]

                def compute(folder: Path, cfg=cfg, missing=missing) -> dict[str, Any]:
                    todo = missing(folder)
                    train(h5, spec.splits, folder / "run", cfg, folds=folds, show_progress=False)
                    return {"device": _device_name(c.device), "trained_folds": todo}

                folder = self.store.run("train", settings, label, compute, done=lambda f, m=missing: not m(f))
                results = read_json(folder / "run" / "results.json")
                for row in results["folds"]:
                    for protocol in results["protocols"]:
                        m = row[protocol]
                        self.rows.append(
                            {
                                "dataset": spec.name,
                                "input": name,
                                "prompt": Path(prompt).name if prompt else None,
                                "summarizer": summarizer,
                                "seed": seed,
                                "fold": row["fold"],
                                "protocol": protocol,
                                "tau": m["kendall_tau"],
                                "rho": m["spearman_rho"],
                                "f1": m["f_score"],
                                "annotations": results["annotations"]["source"],
                            }
                        )


def _stat(values: list[float]) -> dict[str, float | int]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "n_seeds": len(values)}


def _cells(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """{dataset: {protocol: {tau, rho, f1: mean/std over seeds of the fold means}}} of one table row's runs."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for ds in sorted({r["dataset"] for r in rows}):
        for protocol in sorted({r["protocol"] for r in rows if r["dataset"] == ds}):
            sel = [r for r in rows if r["dataset"] == ds and r["protocol"] == protocol]
            cell = {}
            for metric in ("tau", "rho", "f1"):
                per_seed = []
                for seed in sorted({r["seed"] for r in sel}):
                    vals = [r[metric] for r in sel if r["seed"] == seed and r[metric] is not None]
                    if vals:
                        per_seed.append(float(np.mean(vals)))
                cell[metric] = _stat(per_seed) if per_seed else None
            out.setdefault(ds, {})[protocol] = cell
    return out


def build_report(
    config: ReproduceConfig, rows: list[dict[str, Any]], mappers: list[dict[str, Any]], out: Path
) -> dict[str, Any]:
    """Tables 1 and 2, the F(x) row, stage times, settings and per-fold numbers, as one JSON-ready dict."""
    from semsum.data.benchmarks import recognise
    from semsum.data.h5 import load_dataset

    first = Path(config.prompts[0]).name
    table1 = []
    for name in config.inputs:
        for summarizer in config.summarizers:
            sel = [r for r in rows if r["input"] == name and r["summarizer"] == summarizer]
            sel = [r for r in sel if r["prompt"] in (None, first)]
            table1.append({"input": name, "summarizer": summarizer, "prompt": sel[0]["prompt"] if sel else None})
            table1[-1]["cells"] = _cells(sel)
    table2 = []
    for prompt in config.prompts:
        sel = [r for r in rows if r["input"] == "features_mllm" and r["prompt"] == Path(prompt).name]
        sel = [r for r in sel if r["summarizer"] == config.summarizers[0]]
        table2.append({"prompt": Path(prompt).name, "summarizer": config.summarizers[0], "cells": _cells(sel)})
    by_input = {(r["input"], r["summarizer"]): r["cells"] for r in table1}
    fx = {}
    keep = [by_input.get((i, config.summarizers[0])) for i in ("features", "features_mllm", "features_mapped")]
    if all(keep):
        base, mllm, mapped = keep
        for ds, protocols in mapped.items():
            for protocol, cell in protocols.items():
                gain = mllm[ds][protocol]["tau"]["mean"] - base[ds][protocol]["tau"]["mean"]
                kept = cell["tau"]["mean"] - base[ds][protocol]["tau"]["mean"]
                fx.setdefault(ds, {})[protocol] = {
                    "mllm_gain_tau": gain,
                    "kept_fraction": kept / gain if gain else None,
                }
    stages: dict[str, dict[str, Any]] = {}
    for meta_path in sorted(out.glob("*/*/meta.json")):
        meta = read_json(meta_path)
        entry = stages.setdefault(meta_path.parent.parent.name, {"seconds": 0.0, "n": 0, "devices": []})
        entry["seconds"] += meta["seconds"]
        entry["n"] += 1
        if meta.get("device") and meta["device"] not in entry["devices"]:
            entry["devices"].append(meta["device"])
    benchmarks = {spec.name: recognise(load_dataset(spec.h5)) for spec in config.datasets}
    real = all(r.dataset is not None for r in benchmarks.values()) and config.mllm == DEFAULT_MLLM
    status = (
        "benchmark run: SumMe/TVSum files recognised and the published MLLM"
        if real
        else "MINI-BENCHMARK: not the paper's data or model; these numbers test the pipeline and claim nothing"
    )
    return {
        "status": status,
        "benchmark": real,
        "datasets": {name: {"recognised_as": r.dataset, "how": r.how} for name, r in benchmarks.items()},
        "selection": config.select,
        "selection_label": (
            "test-best: the published CSTA protocol (selects on the test fold, leaks test information)"
            if config.select == "test-best"
            else f"{config.select} (leakage-free)"
        ),
        "table1": table1,
        "table2": table2,
        "fx": fx,
        "mappers": mappers,
        "published": {"table1": PUBLISHED_TABLE1, "table2": PUBLISHED_TABLE2},
        "stages": stages,
        "settings": config.to_dict(),
        "per_fold": rows,
    }


def _fmt(stat: dict[str, Any] | None) -> str:
    return "-" if stat is None else f"{stat['mean']:.3f} ± {stat['std']:.3f}"


def _table(header: str, entries: list[tuple[str, dict]], published: dict[str, dict]) -> list[str]:
    columns = sorted({(ds, p) for _, cells in entries for ds, ps in cells.items() for p in ps})
    lines = [f"| {header} | " + " | ".join(f"{ds} {p} τ | {ds} {p} ρ | {ds} {p} F1" for ds, p in columns) + " |"]
    lines.append("|---" * (1 + 3 * len(columns)) + "|")
    for label, cells in entries:
        values = []
        for ds, p in columns:
            cell = cells.get(ds, {}).get(p, {})
            values += [_fmt(cell.get("tau")), _fmt(cell.get("rho")), _fmt(cell.get("f1"))]
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    lines += ["", "Published (as printed in the paper, τ / ρ):", ""]
    lines += [
        f"- {label}: " + "; ".join(f"{ds} {t:.3f} / {r:.3f}" for ds, (t, r) in v.items())
        for label, v in published.items()
    ]
    return lines


def report_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: status first, then the tables, F(x), stage times, settings and per-fold numbers."""
    lines = ["# semsum reproduce", "", f"**{report['status']}**", "", f"Model selection: {report['selection_label']}."]
    lines += ["", "## Table 1: inputs x summarizers (mean ± std over seeds of the fold means)", ""]
    entries = [
        (f"{r['input']}" + (f" ({r['prompt']})" if r["prompt"] else "") + f", {r['summarizer']}", r["cells"])
        for r in report["table1"]
    ]
    lines += _table("input, summarizer", entries, report["published"]["table1"])
    lines += ["", "## Table 2: prompt ablation (features_mllm)", ""]
    lines += _table(
        "prompt",
        [(f"{r['prompt']}, {r['summarizer']}", r["cells"]) for r in report["table2"]],
        report["published"]["table2"],
    )
    lines += ["", "## F(x): share of the MLLM gain in τ that the mapped features keep", ""]
    for ds, protocols in report["fx"].items():
        for p, v in protocols.items():
            kept = "-" if v["kept_fraction"] is None else f"{v['kept_fraction']:.2f}"
            lines.append(f"- {ds} {p}: MLLM gain {v['mllm_gain_tau']:+.3f}, kept {kept}")
    lines += [
        f"- {m['dataset']} {m['prompt']} fold {m['fold']}: {m['mode']} {m['candidates']}" for m in report["mappers"]
    ]
    lines += ["", "## Stages (wall time as computed; cached stages keep their first time)", ""]
    lines += [
        f"- {k}: {v['n']} outputs, {v['seconds']:.1f} s, device {', '.join(v['devices']) or '-'}"
        for k, v in report["stages"].items()
    ]
    lines += ["", "## Settings", "", "```json", json.dumps(report["settings"], indent=2), "```", "", "## Per fold", ""]
    lines += ["| dataset | input | prompt | summarizer | seed | fold | protocol | τ | ρ | F1 |", "|---" * 10 + "|"]
    for r in report["per_fold"]:
        f1 = "-" if r["f1"] is None else f"{r['f1']:.3f}"
        cols = [r["dataset"], r["input"], r["prompt"] or "-", r["summarizer"], r["seed"], r["fold"], r["protocol"]]
        lines.append("| " + " | ".join(map(str, cols)) + f" | {r['tau']:.3f} | {r['rho']:.3f} | {f1} |")
    return "\n".join(lines) + "\n"


def reproduce(
    config: str | os.PathLike[str] | ReproduceConfig,
    out: str | os.PathLike[str],
    only: Sequence[str] | None = None,
    progress: bool = True,
) -> tuple[dict[str, Any], list[str]]:
    """Run (or continue) a reproduction; return the report and the labels of the stages computed by this call."""
    cfg = config if isinstance(config, ReproduceConfig) else load_config(config)
    job = Reproduction(cfg, Path(out), only, progress)
    report = job.run()
    return report, job.store.ran
