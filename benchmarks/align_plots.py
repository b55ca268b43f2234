"""Plots and the markdown tables of benchmarks/align.md from align_results.json (written by align_sweep.py)
and align_fullsize.json (written by align_fullsize.py).

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

from semsum.align import TrainConfig

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


def _stability(runs: list[dict], digits: int) -> tuple[str, str, str]:
    """Held-out cosine 'mean ± sd (min)', seconds per epoch 'regression / adversarial', 'diverged / collapsed'."""
    cos = np.array([run["cosine"] for run in runs])
    secs = defaultdict(list)
    for run in runs:
        for h in run["history"]:
            secs[h["stage"]].append(h["seconds"])
    spe = " / ".join(f"{np.mean(secs[s]):.{digits}f}" if secs[s] else "-" for s in ("regression", "adversarial"))
    collapsed = sum(
        run["history"][-1]["val_cosine"] < max(h["val_cosine"] for h in run["history"]) - COLLAPSE for run in runs
    )
    diverged = sum(run.get("diverged", False) for run in runs)
    return f"{cos.mean():.3f} ± {cos.std():.3f} ({cos.min():.3f})", spe, f"{diverged} / {collapsed}"


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
        tau = np.mean([run["downstream"]["tau"] for run in runs])
        rho = np.mean([run["downstream"]["rho"] for run in runs])
        cos, spe, failed = _stability(runs, 2)
        rows.append(
            f"| {mode} | {len(runs)} | {cos} | {_adv_change(runs)} | "
            f"{np.mean([run['top1'] for run in runs]):.3f} | {_mean(runs, 'frechet')} | {tau:.3f} | {rho:.3f} | "
            f"{(tau - src) / (tgt - src):.0%} | {spe} | {failed} |"
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


def fullsize_runs() -> tuple[dict, dict[str, list[dict]]]:
    """The full-size (1024 -> 4096) results: baselines, and the MLP runs grouped by mode."""
    results = json.loads((HERE / "align_fullsize.json").read_text())
    by_mode: dict[str, list[dict]] = defaultdict(list)
    for value in results.values():
        if isinstance(value, dict) and "history" in value:
            label = f"{value['mode']} (width {value['width']}, {value['epochs']} epochs"
            if value["mode"] != "regression":  # align_fullsize.py trains at lr 3e-3
                cfg = TrainConfig(
                    mode=value["mode"], warmup_epochs=value["warmup_epochs"], lr=3e-3, lr_g=value.get("lr_g")
                )
                label += f", adversarial lr {cfg.adversarial_lr:g}"
            by_mode[label + ")"].append(value)
    return results, by_mode


def fullsize_table(results: dict, by_mode: dict[str, list[dict]]) -> str:
    rows = [
        "| mode | seeds | held-out cosine mean ± sd (min) | change in adversarial epochs | top-1 "
        "| s/epoch reg / adv | diverged / collapsed |",
        "|---|---|---|---|---|---|---|",
        f"| mean target | - | {results['mean']['cosine']:.3f} | - | {results['mean']['top1']:.3f} | - | - |",
        f"| ridge (alpha {results['ridge']['alpha']:g}) | - | {results['ridge']['cosine']:.3f} | - | "
        f"{results['ridge']['top1']:.3f} | {results['ridge']['seconds']:.0f} s total | - |",
    ]
    for mode, runs in by_mode.items():
        cos, spe, failed = _stability(runs, 1)
        rows.append(
            f"| {mode} | {len(runs)} | {cos} | {_adv_change(runs)} | "
            f"{np.mean([run['top1'] for run in runs]):.3f} | {spe} | {failed} |"
        )
    return "\n".join(rows)


def plot_fullsize(results: dict, by_mode: dict[str, list[dict]]) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (mode, runs) in enumerate(by_mode.items()):
        for j, run in enumerate(runs):
            hist = run["history"]
            label = f"{mode} ({len(runs)} seeds)" if j == 0 else None
            ax.plot([h["epoch"] for h in hist], [h["val_cosine"] for h in hist], color=f"C{i}", lw=1, label=label)
    ax.axhline(results["ridge"]["cosine"], color="k", ls="--", lw=1, label="ridge")
    ax.axhline(0.8, color="r", ls=":", lw=1, label="0.8 (acceptance)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("held-out mean cosine")
    ax.set_title("F(x) at full size: 1024 -> 4096, 30,000 pairs")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(HERE / "align_fullsize_curves.png", dpi=110)


def main() -> None:
    base, by_mode, grid = load()
    plot_curves(base, by_mode)
    plot_gan_losses(by_mode)
    print(table(base, by_mode))
    print()
    print(grid_table(grid))
    results, full = fullsize_runs()
    plot_fullsize(results, full)
    print()
    print(fullsize_table(results, full))


if __name__ == "__main__":
    main()
