"""The reproduce report: Tables 1 and 2, the F(x) row, stage times, settings and per-fold numbers (JSON and Markdown).

`collect` reads what the plan's train and align stages left in the store; `build_report` turns those rows into
the report's dict (`report.json`) and `report_markdown` into `report.md`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semsum.atomic import read_json
from semsum.data.store import Store
from semsum.pipeline.reproduce.config import DEFAULT_MLLM, ReproduceConfig
from semsum.pipeline.reproduce.plan import Stage

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


def collect(plan: Sequence[Stage], store: Store) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The per-fold rows of the plan's train stages and the chosen map of its align stages, in plan order."""
    rows: list[dict[str, Any]] = []
    mappers: list[dict[str, Any]] = []
    for stage in plan:
        if stage.kind == "align":
            meta = store.meta(stage.key)
            mappers.append(stage.tags | {k: meta[k] for k in ("mode", "candidates", "summary")})
        if stage.kind not in ("train", "baseline"):
            continue
        results = read_json(store.folder(stage.key) / ("run" if stage.kind == "train" else "") / "results.json")
        for row in results["folds"]:
            for protocol in results["protocols"]:
                m = row[protocol]
                rows.append(
                    stage.tags
                    | {"fold": row["fold"], "protocol": protocol, "tau": m["kendall_tau"], "rho": m["spearman_rho"]}
                    | {"f1": m["f_score"], "annotations": results["annotations"]["source"]}
                )
    return rows, mappers


def _tables(config: ReproduceConfig, rows: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Table 1 (inputs x summarizers, the first prompt's rows) and Table 2 (features_mllm per prompt)."""
    first = Path(config.prompts[0]).name
    table1 = []
    for name in config.inputs:
        for summarizer in config.summarizers:
            sel = [r for r in rows if r["input"] == name and r["summarizer"] == summarizer]
            sel = [r for r in sel if r["prompt"] in (None, first)]
            table1.append({"input": name, "summarizer": summarizer, "prompt": sel[0]["prompt"] if sel else None})
            table1[-1]["cells"] = _cells(sel)
    shown = {(r["input"], r["summarizer"]) for r in table1}
    for name, summarizer in dict.fromkeys((r["input"], r["summarizer"]) for r in rows if r["prompt"] is None):
        if (name, summarizer) not in shown:  # the ridge probe and the shuffled-label control
            sel = [r for r in rows if r["input"] == name and r["summarizer"] == summarizer]
            table1.append({"input": name, "summarizer": summarizer, "prompt": None, "cells": _cells(sel)})
    table2 = []
    for prompt in config.prompts:
        sel = [r for r in rows if r["input"] == "features_mllm" and r["prompt"] == Path(prompt).name]
        sel = [r for r in sel if r["summarizer"] == config.summarizers[0]]
        table2.append({"prompt": Path(prompt).name, "summarizer": config.summarizers[0], "cells": _cells(sel)})
    return table1, table2


def _fx(config: ReproduceConfig, table1: list[dict]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per dataset and protocol: the MLLM gain in tau over GoogLeNet and the share the mapped features keep."""
    by_input = {(r["input"], r["summarizer"]): r["cells"] for r in table1}
    fx: dict[str, dict[str, dict[str, Any]]] = {}
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
    return fx


def _stage_times(store: Store) -> dict[str, dict[str, Any]]:
    """Per stage kind: outputs, wall time and devices, from every finished stage in the store."""
    stages: dict[str, dict[str, Any]] = {}
    for meta_path in store.markers("*/*"):
        meta = read_json(meta_path)
        entry = stages.setdefault(meta_path.parent.parent.name, {"seconds": 0.0, "n": 0, "devices": []})
        entry["seconds"] += meta["seconds"]
        entry["n"] += 1
        if meta.get("device") and meta["device"] not in entry["devices"]:
            entry["devices"].append(meta["device"])
    return stages


def build_report(
    config: ReproduceConfig, rows: list[dict[str, Any]], mappers: list[dict[str, Any]], store: Store
) -> dict[str, Any]:
    """Tables 1 and 2, the F(x) row, stage times, settings and per-fold numbers, as one JSON-ready dict."""
    from semsum.data.benchmarks import recognise
    from semsum.data.h5 import load_dataset

    table1, table2 = _tables(config, rows)
    benchmarks = {spec.name: recognise(load_dataset(spec.h5)) for spec in config.datasets}
    uses_mllm = any(config.made(name) for name in config.inputs)
    real = all(r.dataset is not None for r in benchmarks.values()) and (config.mllm == DEFAULT_MLLM or not uses_mllm)
    status = (
        "benchmark run: SumMe/TVSum files recognised" + (" and the published MLLM" if uses_mllm else "")
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
        "fx": _fx(config, table1),
        "mappers": mappers,
        "published": {"table1": PUBLISHED_TABLE1, "table2": PUBLISHED_TABLE2},
        "stages": _stage_times(store),
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
    if any(r["cells"] for r in report["table2"]):
        lines += _table(
            "prompt",
            [(f"{r['prompt']}, {r['summarizer']}", r["cells"]) for r in report["table2"]],
            report["published"]["table2"],
        )
    else:
        lines.append("Not in this config: no input is `features_mllm`.")
    lines += ["", "## F(x): share of the MLLM gain in τ that the mapped features keep", ""]
    if not report["fx"] and not report["mappers"]:
        lines.append("Not in this config: no input is mapped (`features_mapped`).")
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
