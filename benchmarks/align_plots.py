"""Plots and the markdown table of benchmarks/align.md from align_results.json (written by align_sweep.py).

PYTHONPATH=src python benchmarks/align_plots.py
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

HERE = Path(__file__).resolve().parent
COLLAPSE = 0.05  # a run "collapsed" when its final held-out cosine is this far below its best epoch


def load() -> tuple[dict, dict[str, list[dict]], list[dict]]:
    results = json.loads((HERE / "align_results.json").read_text())
    by_mode: dict[str, list[dict]] = defaultdict(list)
    grid = []
    for key, value in results.items():
        if key.startswith("grid |"):
            grid.append(value)
        elif "history" in value:
            by_mode[value["mode"]].append(value)
    return results["baselines"], by_mode, grid


def _adv_change(runs: list[dict]) -> str:
    """Mean held-out cosine change from the last regression epoch to the end (warm-started modes only)."""
    deltas = []
    for run in runs:
        hist = run["history"]
        warm = [h["val_cosine"] for h in hist if h["stage"] == "regression"]
        if warm and len(warm) < len(hist):
            deltas.append(hist[-1]["val_cosine"] - warm[-1])
    return f"{np.mean(deltas):+.4f}" if deltas else "-"


def _mean(runs: list[dict], key: str) -> str:
    values = [run[key] for run in runs if key in run]
    return f"{np.mean(values):.1f}" if values else "-"


def table(base: dict, by_mode: dict[str, list[dict]]) -> str:
    real = base["downstream_real"]
    src, tgt = real["features"]["tau"], real["features_mllm"]["tau"]
    rows = [
        "| mode | seeds | held-out cosine mean ± sd (min) | change in adversarial epochs | top-1 | Fréchet | tau | rho "
        "| MLLM gain kept | s/epoch reg / adv | diverged / collapsed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| mean target | - | {base['mean']['cosine']:.3f} | - | {base['mean']['top1']:.3f} | "
        f"{base['mean']['frechet']:.1f} | - | - | - | - | - |",
    ]
    r = base["ridge"]
    rows.append(
        f"| ridge (alpha {r['alpha']:g}) | - | {r['cosine']:.3f} | - | {r['top1']:.3f} | {r['frechet']:.1f} | "
        f"{r['downstream']['tau']:.3f} | "
        f"{r['downstream']['rho']:.3f} | {(r['downstream']['tau'] - src) / (tgt - src):.0%} | "
        f"{base['ridge_seconds']:.1f} s total | - |"
    )
    for mode, runs in by_mode.items():
        cos = np.array([run["cosine"] for run in runs])
        tau = np.mean([run["downstream"]["tau"] for run in runs])
        rho = np.mean([run["downstream"]["rho"] for run in runs])
        secs = defaultdict(list)
        for run in runs:
            for h in run["history"]:
                secs[h["stage"]].append(h["seconds"])
        spe = " / ".join(f"{np.mean(secs[s]):.2f}" if secs[s] else "-" for s in ("regression", "adversarial"))
        diverged = sum(run["diverged"] for run in runs)
        collapsed = sum(
            run["history"][-1]["val_cosine"] < max(h["val_cosine"] for h in run["history"]) - COLLAPSE for run in runs
        )
        rows.append(
            f"| {mode} | {len(runs)} | {cos.mean():.3f} ± {cos.std():.3f} ({cos.min():.3f}) | {_adv_change(runs)} | "
            f"{np.mean([run['top1'] for run in runs]):.3f} | {_mean(runs, 'frechet')} | {tau:.3f} | {rho:.3f} | "
            f"{(tau - src) / (tgt - src):.0%} | "
            f"{spe} | {diverged} / {collapsed} |"
        )
    for name, key, kept in (("GoogLeNet stand-in", "features", "0%"), ("teacher, the MLLM", "features_mllm", "100%")):
        d = real[key]
        fd = f"{base['frechet_real']:.1f}" if key == "features_mllm" else "-"
        rows.append(
            f"| *real `{key}` ({name})* | - | - | - | - | {fd} | {d['tau']:.3f} | {d['rho']:.3f} | {kept} | - | - |"
        )
    return "\n".join(rows)


def grid_table(grid: list[dict]) -> str:
    rows = [
        "| depth | width | weight decay | dropout | train cosine | held-out cosine | s/epoch |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in grid:
        rows.append(
            f"| {g['depth']} | {g['width']} | {g['weight_decay']:g} | {g['dropout']:g} | {g['train_cosine']:.4f} | "
            f"{g['cosine']:.4f} | {g['seconds_per_epoch']:.2f} |"
        )
    return "\n".join(rows)


def plot_curves(base: dict, by_mode: dict[str, list[dict]]) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), sharey=True)
    for mode, runs in by_mode.items():
        ax = axes[1] if mode.startswith("adversarial") or "scratch" in mode else axes[0]
        curves = [[h["val_cosine"] for h in run["history"]] for run in runs]
        n = min(len(c) for c in curves)
        arr = np.array([c[:n] for c in curves])
        epochs = np.arange(1, n + 1)
        (line,) = ax.plot(epochs, arr.mean(0), label=f"{mode} ({len(runs)} seeds)")
        ax.fill_between(epochs, arr.min(0), arr.max(0), color=line.get_color(), alpha=0.2)
    for ax, title in zip(
        axes, ("modes that use the pairs", "Eq. 3 without pairs (and cGAN from scratch)"), strict=True
    ):
        ax.axhline(base["ridge"]["cosine"], color="k", ls="--", lw=1, label="ridge")
        ax.axhline(base["mean"]["cosine"], color="gray", ls=":", lw=1, label="mean target")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("held-out mean cosine")
    fig.tight_layout()
    fig.savefig(HERE / "align_cosine_curves.png", dpi=110)


def plot_gan_losses(by_mode: dict[str, list[dict]]) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for i, (mode, runs) in enumerate(by_mode.items()):
        hist = [h for h in runs[0]["history"] if h["stage"] == "adversarial"]
        if not hist:
            continue
        epochs = [h["epoch"] for h in hist]
        style = {"label": mode, "ls": "-" if i < 8 else "--"}
        axes[0].plot(epochs, [h["loss_d"] for h in hist], **style)
        axes[1].plot(epochs, [h["loss_g_adv"] for h in hist], **style)
    axes[0].axhline(2 * np.log(2), color="k", ls=":", lw=1, label="2 log 2 (D at chance)")
    axes[0].set_title("discriminator loss incl. penalty and x-side D (seed 0)")
    axes[1].set_title("generator loss, non-saturating Eq. 3 term (seed 0)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(HERE / "align_gan_losses.png", dpi=110)


def main() -> None:
    base, by_mode, grid = load()
    plot_curves(base, by_mode)
    plot_gan_losses(by_mode)
    print(table(base, by_mode))
    print()
    print(grid_table(grid))


if __name__ == "__main__":
    main()
