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
from semsum.training.run import fmt_metric

HEADER = ("metric", "value", "protocol", "split family", "selection rule", "annotation source")
_METRICS = (("kendall_tau", "Kendall tau"), ("spearman_rho", "Spearman rho"), ("f_score", "F1"))
_STREAM_METRICS = (("f1", "F1 (percent)"), ("map50", "mAP@50"), ("map15", "mAP@15"))


def result_rows(results: Mapping[str, Any], config: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The card's table rows: one per number, each with its protocol, split family, selection and annotations."""
    if "by_selection" in results:  # train-stream: one split, official Mr.HiSum metrics
        split = f"one train/val/test split ({Path(config.get('splits', '?')).name})"
        rows = []
        for name, pick in results["by_selection"].items():
            chosen = "last epoch" if name == "last" else f"best validation {name} (leakage-free)"
            for key, label in _STREAM_METRICS:
                value = fmt_metric((pick["test"] or {}).get(key))
                rows.append(
                    (f"test {label}", value, "official Mr.HiSum evaluation", split, chosen, "the file's labels")
                )
        return rows
    a = results["annotations"]
    source = f"{a['source']} ({a['recognised_by']})"
    split = f"k-fold, {len(results['folds'])} folds of {Path(config.get('splits', '?')).name}"
    rows = []
    for i, name in enumerate(results["protocols"]):
        protocol = f"{name}: {PROTOCOL_DESCRIPTIONS[name]}"
        for where, label in (("mean_over_folds", "mean over folds"), ("out_of_fold", "all videos, out-of-fold")):
            for key, metric in _METRICS if i == 0 else _METRICS[:2]:  # F1 does not depend on the protocol
                value = results[where][name][key]
                rows.append(
                    (f"{metric} ({label})", fmt_metric(value), protocol, split, results["selection_label"], source)
                )
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
