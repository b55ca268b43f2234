"""Scorers for `semsum summarize`: what turns a sampled video into one importance score per sampled frame.

The interface is deliberately small. A scorer has a `name` (written into scores.json and printed) and is
called with a `SampledVideo`, returning float scores [n_steps] (higher = more important; any scale):

    class MyScorer:
        name = "my-scorer (what it is)"
        def __call__(self, video: SampledVideo) -> np.ndarray: ...

A `SampledVideo` carries the video's probe info, the sampled frame indices (`picks`), the decoded frame
count, the features already computed (`features["features"]`: GoogLeNet pool5 [n_steps, 1024]), the KTS
shots in steps (`step_segments`), and `iter_frames()` to stream the sampled frames again (same picks) for
scorers that look at pixels themselves. Scorers live here or in their own modules and are picked by name
in `make_scorer` (the CLI's `--scorer`), or given as objects to `semsum.pipeline.summarize`.

Built in:
* `CoverageScorer` (the default, training-free, no labels): how much of the video each KTS shot covers.
* `RunScorer`: a run trained with `semsum train` on the features the pipeline computed.
* `zero-shot` (`semsum.features.mllm.ZeroShotScorer`, training-free): Video-LLaVA's expected answer to the
  paper's Importance Score prompt for the 8-frame window around each sampled frame.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from semsum.errors import SemsumError
from semsum.video.decode import VideoInfo, iter_sampled_frames


@dataclass
class SampledVideo:
    """A video as the pipeline sampled it: everything a scorer may use."""

    info: VideoInfo  # probe result (fps, size, rotation, audio); its n_frames may be an estimate
    picks: np.ndarray  # int64 [n_steps]: decoded-frame index of each sampled frame
    n_frames: int  # frames actually decoded (use this, not info.n_frames)
    features: dict[str, np.ndarray] = field(default_factory=dict)  # key -> [n_steps, D]
    step_segments: np.ndarray | None = None  # int64 [n_shots, 2]: inclusive [first, last] step of each shot
    step: int | None = 15
    fps: float | None = None

    @property
    def path(self) -> Path:
        return self.info.path

    @property
    def n_steps(self) -> int:
        return len(self.picks)

    def iter_frames(
        self, batch_size: int = 32, size: tuple[int, int] | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Decode the sampled frames again, in batches of (picks, uint8 RGB [b, H, W, 3])."""
        return iter(iter_sampled_frames(self.path, step=self.step, fps=self.fps, batch_size=batch_size, size=size))


class Scorer(Protocol):
    """Anything with a `name` that maps a SampledVideo to scores [n_steps]."""

    name: str

    def __call__(self, video: SampledVideo) -> np.ndarray: ...


class CoverageScorer:
    """Training-free: score each shot by its greedy gain in how well the chosen shots cover the whole video.

    Features are centred on the video's mean (what all frames share says nothing about which to keep) and
    L2-normalised. A set of shots S covers sampled frame i to the degree max(0, max_{s in S} cos(x_i, c_s)),
    with c_s shot s's mean (normalised) feature; coverage F(S) sums that over all frames. This
    facility-location function rewards representativeness (a shot like much of the video covers a lot) and
    diversity (a shot like one already chosen adds little). Shots are taken greedily; a shot's score is its
    marginal gain when taken divided by the first (largest) gain, so scores fall in [0, 1]. Every
    step of a shot gets the shot's score. Needs no labels and no training, only the features.
    """

    name = "coverage (training-free: greedy facility-location coverage of the video's features by KTS shots)"

    def __init__(self, feature_key: str = "features"):
        self.feature_key = feature_key

    def __call__(self, video: SampledVideo) -> np.ndarray:
        if self.feature_key not in video.features:
            raise SemsumError(f"{video.path}: the coverage scorer needs feature key {self.feature_key!r}")
        x = np.asarray(video.features[self.feature_key], dtype=np.float64)
        x = x - x.mean(axis=0)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        segs = video.step_segments
        if segs is None:
            segs = np.array([[0, len(x) - 1]])
        shot_of_step = np.repeat(np.arange(len(segs)), segs[:, 1] - segs[:, 0] + 1)
        centres = np.stack([x[s : e + 1].mean(axis=0) for s, e in segs])
        centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
        sim = np.clip(x @ centres.T, 0.0, None)  # [n_steps, n_shots]
        covered = np.zeros(len(x))
        gains = np.zeros(len(segs))
        remaining = np.ones(len(segs), dtype=bool)
        for _ in range(len(segs)):
            gain = np.maximum(sim - covered[:, None], 0.0).sum(axis=0)
            gain[~remaining] = -1.0
            best = int(np.argmax(gain))
            gains[best] = gain[best]
            remaining[best] = False
            covered = np.maximum(covered, sim[:, best])
        top = gains.max()
        shot_scores = gains / top if top > 0 else np.ones(len(segs))
        return shot_scores[shot_of_step]


FEATURE_SOURCES = ("mllm", "mapped")


class FeatureSource:
    """One feature key a trained run needs, computed for a new video, with its width known before decoding.

    `features`: GoogLeNet pool5, which the pipeline always computes. `features_mllm`: Video-LLaVA embeddings of
    the sampled frames (paper Eq. 1), or, with `features="mapped"`, F(pool5) from an alignment mapper (the
    paper's cheap path, no MLLM at inference). `features_mapped`: F(pool5) from the mapper.
    """

    def __init__(self, key: str, width: int, compute):
        self.key, self.width, self.compute = key, width, compute

    @classmethod
    def for_key(
        cls,
        key: str,
        features: str = "mllm",
        mapper_path: str | os.PathLike[str] | None = None,
        mllm_model: str | None = None,
        device: str = "cpu",
        provenance: dict | None = None,
    ) -> FeatureSource:
        """The source of `key`. `provenance` is the run's record of how its features_mllm were made (model,
        prompt, window padding): new videos get the same, unless `mllm_model` names another model."""
        if key == "features":
            return cls(key, 1024, lambda video: video.features["features"])
        if key == "features_mapped" or (key == "features_mllm" and features == "mapped"):
            if mapper_path is None:
                raise SemsumError(f"the run needs {key}: pass --mapper FILE (from `semsum align train`)")
            from semsum.align.mapper import apply_mapper, load_mapper

            mapper = load_mapper(mapper_path)
            if mapper.config.in_dim != 1024:
                raise SemsumError(f"{mapper_path}: maps {mapper.config.in_dim}-d inputs, summarize has 1024-d pool5")
            where = str(mapper_path)
            return cls(
                key, mapper.config.out_dim, lambda video: apply_mapper(mapper, video.features["features"], where=where)
            )
        if key == "features_mllm":
            from semsum.features.mllm import DEFAULT_MODEL, MLLMEmbedder

            made = provenance or {}
            model = mllm_model or made.get("mllm_model") or DEFAULT_MODEL
            prompt = made.get("mllm_prompt", "importance")
            embedder = MLLMEmbedder.from_pretrained(
                model, prompt, device=device, padding=made.get("mllm_padding", "edge")
            )
            if made.get("mllm_prompt_sha256") not in (None, embedder.prompt.sha256):
                raise SemsumError(
                    f"the run's features_mllm were made with prompt {prompt!r} "
                    f"(sha256 {made['mllm_prompt_sha256'][:12]}), which now reads differently "
                    f"(sha256 {embedder.prompt.sha256[:12]})"
                )
            width = int(embedder.model.config.text_config.hidden_size)
            return cls(key, width, lambda video: embedder.embed_sampled(video).embeddings)
        raise SemsumError(
            f"summarize cannot compute feature key {key!r} (it computes features, features_mllm, features_mapped)"
        )


class RunScorer:
    """Scores from a run trained with `semsum train` (mean over its fold models, or one `fold`).

    Every feature key the run was trained on is computed for the new video by a `FeatureSource`; the total width
    is checked against the run when it is loaded, before any video is decoded.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        fold: int | None = None,
        device: str = "cpu",
        features: str = "mllm",
        mapper: str | os.PathLike[str] | None = None,
        mllm_model: str | None = None,
        mllm_device: str = "auto",
    ):
        from semsum.training import load_run

        if features not in FEATURE_SOURCES:
            raise SemsumError(f"unknown --features {features!r}: choose one of {', '.join(FEATURE_SOURCES)}")
        self.run = load_run(run_dir, fold=fold, device=device)
        self.feature_keys = list(self.run.feature_keys)
        self.sources = [
            FeatureSource.for_key(k, features, mapper, mllm_model, mllm_device, self.run.feature_provenance)
            for k in self.feature_keys
        ]
        via = " via F(x)" if features == "mapped" and "features_mllm" in self.feature_keys else ""
        self.name = f"run {run_dir} ({' + '.join(self.feature_keys)}{via})"
        width = sum(s.width for s in self.sources)
        if self.run.in_dim != width:
            raise SemsumError(
                f"{run_dir}: the run was trained on {self.run.in_dim}-d {' + '.join(self.feature_keys)}; "
                f"summarize computes {width}-d (" + ", ".join(f"{s.key} {s.width}" for s in self.sources) + ")"
            )

    def __call__(self, video: SampledVideo) -> np.ndarray:
        x = np.concatenate([s.compute(video) for s in self.sources], axis=1).astype(np.float32)
        return np.asarray(self.run.predict(x), dtype=np.float64).reshape(-1)


SCORERS = ("coverage", "zero-shot")


def make_scorer(
    name: str = "coverage",
    run_dir: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    mllm_model: str | None = None,
    mllm_device: str = "auto",
    features: str = "mllm",
    mapper: str | os.PathLike[str] | None = None,
) -> Scorer:
    """The scorer for the CLI: a trained run when `run_dir` is given, else the named built-in scorer.

    `zero-shot` is `semsum.features.mllm.ZeroShotScorer` on Video-LLaVA `mllm_model` (default: the paper's).
    A run's MLLM-space inputs come from `mllm_model` or, with `features="mapped"`, from the F(x) `mapper`.
    """
    if run_dir is not None:
        return RunScorer(
            run_dir, device=device, features=features, mapper=mapper, mllm_model=mllm_model, mllm_device=mllm_device
        )
    if name == "coverage":
        return CoverageScorer()
    if name == "zero-shot":
        from semsum.features.mllm import DEFAULT_MODEL, ZeroShotScorer

        return ZeroShotScorer.from_pretrained(mllm_model or DEFAULT_MODEL, device=mllm_device)
    raise SemsumError(f"unknown scorer {name!r} (available: {', '.join(SCORERS)})")
