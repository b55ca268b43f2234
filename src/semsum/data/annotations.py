"""Human annotations of SumMe and TVSum as typed per-video records keyed by the eccv16 HDF5 key.

Key orders (see shared/data/PROVENANCE.md): SumMe `video_i` is the i-th video name in ASCII order
(`video_1` = Air_Force_One ... `video_25` = playing_ball); TVSum `video_i` is the i-th row of the
annotation/info files (`video_1` = AwmHb44_ouw).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from semsum.data import paths
from semsum.data.h5 import Dataset
from semsum.errors import SemsumError

DATASETS = ("summe", "tvsum")
#: How every results table and JSON names the annotations its numbers were computed against, by
#: `Annotation.dataset` ("" = a file's own binary `user_summary`, see `annotations_from_h5`).
ANNOTATION_SOURCES = {
    "summe": "summe user_score (GT .mat)",
    "tvsum": "tvsum per-annotator scores",
    "": "file user_summary",
}


@dataclass
class Annotation:
    """One video's human annotations at full frame rate.

    user_scores: [n_users, n_frames]. TVSum: each annotator's 1..5 importance score. SumMe: the raw
    `user_score`, 0 = not selected and k > 0 = inside the annotator's k-th selected segment (Otani et al.
    rank against these raw values). `user_scores > 0` is SumMe's binary user summary.
    """

    name: str
    key: str
    dataset: str
    n_frames: int
    fps: float
    user_scores: np.ndarray
    gt_score: np.ndarray
    category: str | None = None

    @property
    def n_users(self) -> int:
        return self.user_scores.shape[0]


def _summe(root: Path) -> dict[str, Annotation]:
    gt_dir = root / paths.SUMME_GT.relpath
    files = sorted(gt_dir.glob("*.mat"))  # ASCII order = the eccv16 key order
    if len(files) != 25:
        raise SemsumError(f"{gt_dir}: expected the 25 SumMe .mat files, found {len(files)}; {paths.WHERE_HINT}")
    out = {}
    for i, f in enumerate(files, 1):
        try:
            m = scipy.io.loadmat(f)
            user = np.asarray(m["user_score"], dtype=np.float64).T
            gt = np.asarray(m["gt_score"], dtype=np.float64).reshape(-1)
            n_frames, fps = int(np.asarray(m["nFrames"]).item()), float(np.asarray(m["FPS"]).item())
        except (KeyError, ValueError, OSError) as e:
            raise SemsumError(f"{f}: not a SumMe ground-truth file ({e.__class__.__name__}: {e})") from None
        if user.shape[1] != n_frames or len(gt) != n_frames:
            raise SemsumError(f"{f}: user_score has {user.shape[1]} frames, nFrames says {n_frames}")
        key = f"video_{i}"
        out[key] = Annotation(f.stem, key, "summe", n_frames, fps, user, gt)
    return out


def _seconds(mmss: str) -> float:
    minutes, seconds = mmss.split(":")
    return 60 * int(minutes) + int(seconds)


def _tvsum(root: Path) -> dict[str, Annotation]:
    anno_path, info_path = root / paths.TVSUM_ANNO.relpath, root / paths.TVSUM_INFO.relpath
    for p in (anno_path, info_path):
        if not p.is_file():
            raise SemsumError(f"{p}: TVSum annotation file missing; {paths.WHERE_HINT}")
    with info_path.open(newline="") as f:
        info = list(csv.DictReader(f, delimiter="\t"))
    scores: dict[str, list[np.ndarray]] = {}
    categories: dict[str, str] = {}
    with anno_path.open() as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise SemsumError(f"{anno_path}: line {n}: expected video_id, category, scores")
            try:
                row = np.array(parts[2].split(","), dtype=np.float64)
            except ValueError:
                raise SemsumError(f"{anno_path}: line {n}: scores are not numbers") from None
            scores.setdefault(parts[0], []).append(row)
            categories[parts[0]] = parts[1]
    if [r["video_id"] for r in info] != list(scores):
        raise SemsumError(f"{info_path}: video order differs from {anno_path.name}")
    out = {}
    for i, r in enumerate(info, 1):
        vid = r["video_id"]
        rows = scores[vid]
        if len({len(x) for x in rows}) != 1:
            raise SemsumError(f"{anno_path}: {vid}: annotators disagree on the number of frames")
        user = np.stack(rows)
        n_frames = user.shape[1]
        key = f"video_{i}"
        # gt_score as in the official ydata-tvsum50.mat: the mean annotator score per frame.
        out[key] = Annotation(
            vid, key, "tvsum", n_frames, n_frames / _seconds(r["length"]), user, user.mean(axis=0), categories[vid]
        )
    return out


def load_annotations(dataset: str, data_dir: str | os.PathLike[str] | None = None) -> dict[str, Annotation]:
    """All videos of `dataset` ("summe" or "tvsum") in eccv16 key order."""
    if dataset not in DATASETS:
        raise SemsumError(f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)}")
    root = paths.data_dir(data_dir)
    return _summe(root) if dataset == "summe" else _tvsum(root)


def annotations_present(dataset: str, data_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether `dataset`'s annotation files are in the data folder at all (`load_annotations` checks them)."""
    root = paths.data_dir(data_dir)
    if dataset == "summe":
        return any((root / paths.SUMME_GT.relpath).glob("*.mat"))
    return all((root / r.relpath).is_file() for r in (paths.TVSUM_ANNO, paths.TVSUM_INFO))


def annotations_from_h5(ds: Dataset) -> dict[str, Annotation]:
    """Annotations from a file's own `user_summary` (binary), for eccv16 files of unknown origin.

    Ranking against binary user summaries is how the CSTA code evaluates SumMe; fps is unknown (0).
    """
    out = {}
    for v in ds:
        if v.user_summary is None:
            raise SemsumError(f"{ds.path}: {v.key} has no user_summary to evaluate against")
        user = np.asarray(v.user_summary, dtype=np.float64)
        out[v.key] = Annotation(v.video_name or v.key, v.key, "", v.n_frames, 0.0, user, user.mean(axis=0))
    return out
