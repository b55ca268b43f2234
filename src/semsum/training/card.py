"""The model card of a shared run: the Hub's README.md, generated from the run's own results.json.

Its metadata block (`huggingface_hub.ModelCardData`) names the library, tags and datasets; its results table
gives every number with its protocol, split family, selection rule and annotation source, labelled as `semsum
train` (`run_markdown`) and `train-stream` label them, so that no number travels without what it measures.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from semsum.evaluation.protocols import PROTOCOL_DESCRIPTIONS
from semsum.training.results import fmt_metric

HEADER = ("metric", "value", "protocol", "split family", "selection rule", "annotation source")
_CORRELATIONS = (("kendall_tau", "Kendall tau"), ("spearman_rho", "Spearman rho"))
_WHERE = (("mean_over_folds", "mean over folds"), ("out_of_fold", "all videos, out-of-fold"))
#: `f_score` of `semsum.evaluation.protocols.evaluate`: the same under every protocol, always the file's summaries.
_F1 = "keyshot F1: the knapsack summary against the file's user_summary (max over users; mean over them for TVSum)"
_STREAM_METRICS = (("f1", "F1 (percent)"), ("map50", "mAP@50"), ("map15", "mAP@15"))


def result_rows(results: Mapping[str, Any], config: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The card's table rows: one per number, each with its protocol, split family, selection and annotations."""
    splits = Path(config.get("splits", "?")).name
    if "by_selection" in results:  # train-stream: one split, official Mr.HiSum metrics
        rows = []
        for name, pick in results["by_selection"].items():
            chosen = "last epoch" if name == "last" else f"best validation {name} (leakage-free)"
            for key, label in _STREAM_METRICS:
                value = fmt_metric((pick["test"] or {}).get(key))
                split = f"one train/val/test split ({splits})"
                rows.append(
                    (f"test {label}", value, "official Mr.HiSum evaluation", split, chosen, "the file's labels")
                )
        return rows
    a = results["annotations"]
    split, chosen = f"k-fold, {len(results['folds'])} folds of {splits}", results["selection_label"]
    rows = []
    for where, label in _WHERE:
        for name in results["protocols"]:
            source = f"{a['source']} ({a['recognised_by']})"
            for key, metric in _CORRELATIONS:
                value = fmt_metric(results[where][name][key])
                rows.append(
                    (f"{metric} ({label})", value, f"{name}: {PROTOCOL_DESCRIPTIONS[name]}", split, chosen, source)
                )
        f1 = results[where][results["protocols"][0]]["f_score"]
        if f1 is not None:
            rows.append((f"F1 ({label})", fmt_metric(f1), _F1, split, chosen, "the file's user_summary"))
    return rows


def model_card(results: Mapping[str, Any], config: Mapping[str, Any], repo: str) -> str:
    """README.md for run `repo` (OWNER/NAME): the Hub's metadata block, how to use the run, its results table."""
    from huggingface_hub import ModelCard, ModelCardData

    streamed = "by_selection" in results
    benchmark = "mrhisum" if streamed else results["annotations"]["benchmark"]
    data = ModelCardData(
        library_name="semsum",
        tags=["video-summarization", "semsum", results["model"]],
        datasets=[benchmark] if benchmark else None,
    )
    table = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    table += ["| " + " | ".join(row) + " |" for row in result_rows(results, config)]
    body = [
        f"# {results['model']} on {Path(results['h5']).name}",
        "",
        f"A video summarizer trained with [semsum](https://pypi.org/project/semsum/) (`{results['model']}`, "
        f"{results['in_dim']}-d input, {results['parameters']:,} parameters). The weights are safetensors, the rest "
        "JSON: loading it runs no code.",
        "",
        "## Use",
        "",
        "```bash",
        f"semsum predict --run hf://{repo} --h5 FEATURES.h5 --out scores.json",
        f"semsum summarize VIDEO.mp4 --run hf://{repo}",
        "```",
        "",
        "## Results",
        "",
        "Every number names its protocol, how the videos were split, how the epoch was chosen and what it was "
        "scored against (as `results.json` records them).",
        "",
        *table,
    ]
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body) + "\n"))
