"""A reproduce run's settings: declared once (type, default, help), read from TOML, checked, and written as a template.

`ReproduceConfig`'s fields and the `ALIGN`/`EXTRACT` tables are the only place a default or a help text lives:
`load_config` fills what a file leaves out from them and `template()` (what `semsum reproduce --init` writes)
prints them as commented TOML.
"""

from __future__ import annotations

import json
import os
import textwrap
import tomllib
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import h5py

from semsum.atomic import atomic_path
from semsum.errors import SemsumError

DEFAULT_MLLM = "LanguageBind/Video-LLaVA-7B-hf"
BUILT_IN_PROMPTS = ("importance", "summarize")
EXTRACTED, MAPPED = "features_mllm", "features_mapped"  # the feature keys the extract and align stages make
ANNOTATIONS = ("auto", "summe", "tvsum", "h5")  # `datasets.NAME.annotations` (DatasetSpec)
INPUT_KEYS = {  # input name -> feature keys concatenated
    "features": ["features"],
    "features_mllm": [EXTRACTED],
    "features_mapped": [MAPPED],
    "fused": ["features", EXTRACTED],
}


@dataclass(frozen=True)
class Setting:
    """One setting of a TOML table: its default (None: left to the implementation) and its help."""

    default: Any
    help: str


ALIGN = {  # F(x): semsum.align.commands.train_from_h5
    "mode": Setting("auto", "auto, regression, ridge"),
    "epochs": Setting(20, "MLP epochs"),
    "width": Setting(1024, "MLP hidden width"),
    "depth": Setting(1, "MLP hidden layers"),
}
EXTRACT = {  # MLLMEmbedder options
    "batch_size": Setting(4, "windows per forward pass"),
    "vision_cache": Setting(None, "MLLMEmbedder vision_cache"),
    "padding": Setting(None, "MLLMEmbedder padding"),
    "dtype": Setting(None, "MLLMEmbedder dtype"),
    "attn": Setting(None, "MLLMEmbedder attn"),
    "quantize": Setting(None, "MLLMEmbedder quantize"),
}
TABLES = {
    "align": ("F(x): auto keeps ridge or the MLP, whichever fits held-out training videos better", ALIGN),
    "extract": ("Video-LLaVA extraction (semsum extract mllm's options)", EXTRACT),
}
TRAIN_SETTINGS = ("epochs", "lr", "lr_grid", "weight_decay", "standardize", "dropout", "val_fraction", "select")
TRAIN_SETTINGS += ("project", "input_dropout", "val_every", "refit", "loss", "inner_folds", "refit_by")
EXAMPLE_DATASETS = {
    "summe": {
        "h5": "data/eccv16_dataset_summe_google_pool5.h5",
        "videos": "data/SumMe/videos",
        "splits": "data/splits/summe_splits.txt",
    },
    "tvsum": {
        "h5": "data/eccv16_dataset_tvsum_google_pool5.h5",
        "videos": "data/TVSum/ydata-tvsum50-v1_1/video",
        "splits": "data/splits/tvsum_splits.txt",
    },
}


def _defaults(table: dict[str, Setting]) -> dict[str, Any]:
    """A table's settings that have a default (the others are left to the implementation)."""
    return {k: s.default for k, s in table.items() if s.default is not None}


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    h5: Path
    videos: Path | None  # only extraction reads the videos
    splits: Path
    #: What the train and ridge stages evaluate against (`semsum train --annotations`): `auto` takes a recognised
    #: benchmark's own annotations and falls back to the file's user summaries when they are not installed;
    #: `summe` or `tvsum` requires them (an error before any work when missing), `h5` takes the file's.
    annotations: str = "auto"


@dataclass
class ReproduceConfig:
    """Every setting of a reproduce run (the report repeats them all)."""

    datasets: list[DatasetSpec] = field(metadata={"help": "one table per dataset: h5, videos, splits"})
    mllm: str = field(
        default=DEFAULT_MLLM, metadata={"help": "Video-LLaVA: Hugging Face id or a local folder (the -hf layout)."}
    )
    prompts: list[str] = field(
        default_factory=lambda: list(BUILT_IN_PROMPTS),
        metadata={
            "help": "Prompts: built-in names (importance, summarize) or prompt files. The first one is Table 1's; "
            "all are Table 2."
        },
    )
    summarizers: list[str] = field(
        default_factory=lambda: ["csta"], metadata={"help": "Summarizers by name (csta, vasnet, pgl-sum)."}
    )
    inputs: list[str] = field(
        default_factory=lambda: list(INPUT_KEYS),
        metadata={
            "help": "Inputs (names in [input_keys]): features (GoogLeNet), features_mllm, features_mapped (F(x), one "
            "mapper per fold trained on that fold's training videos only), fused (features + features_mllm)."
        },
    )
    epochs: int = field(default=100, metadata={"help": "Summarizer epochs per fold (official CSTA: 100)."})
    seeds: list[int] = field(
        default_factory=lambda: [123456], metadata={"help": "The report gives mean +- std over seeds."}
    )
    select: str = field(
        default="last",
        metadata={
            "help": "last (default), val or inner-cv: leakage-free (semsum train --select). test-best: the published "
            "CSTA protocol, which selects on the test fold."
        },
    )
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda, cuda:N"})
    ridge: bool = field(
        default=False,
        metadata={"help": "Also the ridge probe (semsum baseline ridge) on every input read from the dataset's file."},
    )
    control: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Summarizers also trained, with every seed on the first input read from the dataset's file, "
            "on a copy with gtscore permuted within every video: the shuffled-label control (near zero if nothing "
            "leaks)."
        },
    )
    align: dict[str, Any] = field(default_factory=lambda: _defaults(ALIGN), metadata={"help": TABLES["align"][0]})
    extract: dict[str, Any] = field(default_factory=lambda: _defaults(EXTRACT), metadata={"help": TABLES["extract"][0]})
    input_keys: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in INPUT_KEYS.items()},
        metadata={
            "help": f"Input name -> feature keys concatenated. {EXTRACTED} is made by the extract stage (per "
            f"prompt), {MAPPED} by align (per fold); any other key is read from the dataset's own file, so an input "
            'of only such keys (e.g. ["features", "features_audio"]) needs no extraction.'
        },
    )

    train: dict[str, dict[str, Any]] = field(
        default_factory=dict,
        metadata={
            "help": "Per summarizer, settings of semsum train that replace epochs and select above, e.g. "
            f"[train.vasnet] lr = 1e-4 (known: {', '.join(TRAIN_SETTINGS)})."
        },
    )

    def train_settings(self, summarizer: str) -> dict[str, Any]:
        """The `TrainConfig` settings of `summarizer`: epochs, select and device, with its [train.NAME] table."""
        return {"epochs": self.epochs, "select": self.select, "device": self.device, **self.train.get(summarizer, {})}

    def made(self, name: str) -> set[str]:
        """The keys of input `name` that a stage makes (extract, align) rather than the dataset's file holds."""
        return set(self.input_keys[name]) & {EXTRACTED, MAPPED}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["datasets"] = [{k: v if v is None else str(v) for k, v in asdict(s).items()} for s in self.datasets]
        return d


def _toml(value: Any) -> str:
    """A str, int, bool or list of them as TOML (JSON's spelling of these is valid TOML)."""
    return json.dumps(value)


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in textwrap.wrap(text, 114)]


def template() -> str:
    """The commented template config, rendered from the declarations above."""
    lines = _comment(
        "semsum reproduce: the paper's Tables 1 and 2 (`semsum reproduce --config THIS.toml --out DIR`). Relative "
        "paths are relative to this file. Every stage's output is kept under DIR, keyed by its settings."
    )
    tables = []
    for f in fields(ReproduceConfig):
        if f.name == "datasets":
            continue
        default = f.default_factory() if f.default is MISSING else f.default
        if isinstance(default, dict):
            tables.append((f.name, f.metadata["help"], default))
        else:
            lines += ["", *_comment(f.metadata["help"]), f"{f.name} = {_toml(default)}"]
    for name, text, default in tables:
        lines += ["", *_comment(text), f"[{name}]"]
        declared = TABLES[name][1] if name in TABLES else {}
        for key, value in default.items():
            lines.append(f"{key} = {_toml(value)}" + (f"  # {declared[key].help}" if key in declared else ""))
        others = [k for k in declared if k not in default]
        if others:
            lines += _comment(f"also: {', '.join(others)}")
    lines += [
        "",
        *_comment("One table per dataset: the eccv16 HDF5 file, its videos folder and a split file (any family)."),
    ]
    for name, files in EXAMPLE_DATASETS.items():
        lines += [f"[datasets.{name}]", *(f"{k} = {_toml(v)}" for k, v in files.items()), ""]
    return "\n".join(lines)


def write_template(path: str | os.PathLike[str]) -> None:
    """Write the commented template config (`semsum reproduce --init`); never overwrites a file."""
    if Path(path).exists():
        raise SemsumError(f"{path}: already exists; choose another name")
    with atomic_path(path) as tmp:
        tmp.write_text(template())


def _datasets(raw: dict[str, Any], path: Path) -> list[DatasetSpec]:
    datasets = []
    for name, spec in raw.items():
        files = {}
        for key in ("h5", "videos", "splits"):
            if key not in spec and key != "videos":
                raise SemsumError(f"{path}: datasets.{name}.{key} is missing")
            files[key] = (path.parent / spec[key]).resolve() if key in spec else None
        which = spec.get("annotations", "auto")
        if which not in ANNOTATIONS:
            raise SemsumError(f"{path}: datasets.{name}.annotations is {which!r}; one of {', '.join(ANNOTATIONS)}")
        datasets.append(DatasetSpec(name, **files, annotations=which))
    if not datasets:
        raise SemsumError(f"{path}: no [datasets.NAME] table (h5, videos, splits)")
    return datasets


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
    datasets = _datasets(raw.pop("datasets", None) or {}, path)
    tables = {
        name: {**getattr(base, name), **raw.pop(name, {})} for name in ("align", "extract", "input_keys", "train")
    }
    prompts = [
        p if p in BUILT_IN_PROMPTS else str((path.parent / p).resolve()) for p in raw.pop("prompts", base.prompts)
    ]
    config = ReproduceConfig(datasets=datasets, prompts=prompts, **tables, **raw)
    check_config(config, str(path))
    return config


def _check_dataset(spec: DatasetSpec, extracts: bool, bad: Any) -> None:
    """Its files exist (the videos only if the plan `extracts`) and every split key is in its HDF5 file."""
    from semsum.data.splits import load_splits

    setting = f"datasets.{spec.name}"
    if not spec.h5.is_file():
        raise bad(f"{setting}.h5", f"{spec.h5}: no such file")
    if extracts and spec.videos is None:
        raise bad(f"{setting}.videos", "missing (extraction reads the videos)")
    if extracts and not spec.videos.is_dir():
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


def _check_names(config: ReproduceConfig, bad: Any) -> None:
    """Summarizers, inputs, selection and the align/extract tables name what exists."""
    from semsum.models import MODELS
    from semsum.training import SELECTIONS

    for name in config.summarizers:
        if name not in MODELS:
            raise bad("summarizers", f"unknown model {name!r} (available: {', '.join(sorted(MODELS))})")
    for name, keys in config.input_keys.items():
        if not keys or not all(isinstance(k, str) and k for k in keys):
            raise bad(f"input_keys.{name}", "give a list of one or more feature keys")
    for name in config.inputs:
        if name not in config.input_keys:
            raise bad("inputs", f"unknown input {name!r} (available: {', '.join(config.input_keys)})")
    if config.select not in SELECTIONS:
        raise bad("select", f"unknown selection {config.select!r} (available: {', '.join(SELECTIONS)})")
    for table, (_, allowed) in TABLES.items():
        extra = sorted(set(getattr(config, table)) - set(allowed))
        if extra:
            raise bad(f"{table}.{extra[0]}", f"unknown setting (known: {', '.join(allowed)})")
    if config.align.get("mode") not in ("auto", "regression", "ridge"):
        raise bad("align.mode", f"{config.align.get('mode')!r} is not auto, regression or ridge")
    for name in config.control:
        if name not in config.summarizers:
            raise bad("control", f"{name!r} is not among the summarizers ({', '.join(config.summarizers)})")
    _check_train(config, bad)


def _check_train(config: ReproduceConfig, bad: Any) -> None:
    """Each [train.NAME] table names a summarizer of the run and settings `semsum train` accepts."""
    from semsum.training import TrainConfig

    for name, table in config.train.items():
        if name not in config.summarizers or not isinstance(table, dict):
            raise bad(f"train.{name}", f"give a table for one of the summarizers ({', '.join(config.summarizers)})")
        extra = sorted(set(table) - set(TRAIN_SETTINGS))
        if extra:
            raise bad(f"train.{name}.{extra[0]}", f"unknown setting (known: {', '.join(TRAIN_SETTINGS)})")
        try:
            TrainConfig(model=name, **config.train_settings(name))
        except (SemsumError, TypeError, ValueError) as e:
            raise bad(f"train.{name}", str(e)) from None


def check_config(config: ReproduceConfig, where: str) -> None:
    """Raise a one-line SemsumError naming the first bad setting (files, names, split keys)."""
    from semsum.features.prompts import load_prompt

    def bad(setting: str, problem: str) -> SemsumError:
        return SemsumError(f"{where}: {setting}: {problem}")

    _check_names(config, bad)
    extracts = any(config.made(name) for name in config.inputs)
    for spec in config.datasets:
        _check_dataset(spec, extracts, bad)
    for prompt in config.prompts:
        try:
            load_prompt(prompt)
        except SemsumError as e:
            raise bad("prompts", str(e)) from None
    if not config.prompts:
        raise bad("prompts", "give at least one prompt")
    if not (Path(config.mllm).is_dir() or config.mllm.count("/") == 1):
        raise bad("mllm", f"{config.mllm!r} is neither a local model folder nor a Hugging Face id (org/name)")
    if config.epochs < 1 or not config.seeds or not config.summarizers or not config.inputs:
        raise bad("epochs/seeds/summarizers/inputs", "need epochs >= 1 and at least one seed, summarizer and input")
