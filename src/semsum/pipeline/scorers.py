"""Scorers for `semsum summarize`: what turns a sampled video into one importance score per sampled frame.

Scorers combine stages (a trained run, F(x), the MLLM), which is why they live with the orchestration.

The interface is deliberately small. A scorer has a `name` (written into scores.json and printed) and is
called with the results of the stages before it, a `SampledVideo` and the selection `Units`, returning float
scores [n_steps] (higher = more important; any scale):

    class MyScorer:
        name = "my-scorer (what it is)"
        def __call__(self, video: SampledVideo, units: Units) -> np.ndarray: ...

A `SampledVideo` (`semsum.pipeline.sampling`) carries the video's probe info, the sampled frame indices (`picks`),
the decoded frame count, the features already computed (`features["features"]`: the frame encoder's, by default
GoogLeNet pool5 [n_steps, 1024]), and `iter_frames()` to stream the sampled frames again (same picks) for scorers
that look at pixels themselves; `Units` (`semsum.summary.shots`) the selection units in frames and their step
segments (`units.segments`). Both are immutable. `score_video` runs a scorer as the pipeline's scoring stage.
Scorers are registered by name (entry-point group `semsum.scorers`, built by `make_scorer`: the CLI's
`--scorer`), or given as objects to `semsum.pipeline.summarize`.

Built in:
* `CoverageScorer` (the default, training-free, no labels): how much of the video each selection unit covers.
* `RunScorer`: a run trained with `semsum train` on the features the pipeline computed.
* `ZeroShotScorer` (`zero-shot`, training-free): Video-LLaVA's expected answer to the paper's Importance Score
  prompt for the 8-frame window around each sampled frame.

A scorer that can rate importance for a user's request (`--query`) has `with_query(query)`, which returns the
scorer asking for it, with a `query` attribute (the record scores.json keeps: see `Prompt.query_record`); `focus`
calls it and refuses a scorer without one. The zero-shot scorer and runs fed Video-LLaVA features have it.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from semsum.data.h5 import STRIDE
from semsum.errors import SemsumError, renamed_keywords
from semsum.features.mllm import DEFAULT_MODEL, EmbedResult, MLLMEmbedder
from semsum.features.videollava import MllmModelOptions
from semsum.pipeline.encoders import MapperOptions
from semsum.pipeline.sampling import SampledVideo
from semsum.registry import SCORERS, create, declares, option
from semsum.summary.keyshots import frame_scores
from semsum.summary.shots import Units, readonly


class Scorer(Protocol):
    """Anything with a `name` that maps a SampledVideo and its selection units to scores [n_steps].

    A scorer made for one sampling (a run trained on 2 fps features) says so with `sampling_stride = 15`; automatic
    sampling in `summarize` then uses it.
    """

    name: str

    def __call__(self, video: SampledVideo, units: Units) -> np.ndarray: ...


@dataclass(frozen=True)
class Scores:
    """What the scoring stage returns: who scored, and the scores per sampled frame and per frame."""

    scorer: str  # the scorer's name
    steps: np.ndarray  # float64 [n_steps], shifted so that the lowest is just above zero (see `score_video`)
    frames: np.ndarray  # float64 [n_frames]: each frame the score of the last pick at or before it

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", readonly(self.steps, np.float64))
        object.__setattr__(self, "frames", readonly(self.frames, np.float64))


def score_video(scorer: Scorer, video: SampledVideo, units: Units) -> Scores:
    """The scoring stage: `scorer`'s scores of `video`, checked (one finite score per step), as `Scores`.

    The knapsack keeps only units of positive value: scores of any scale are shifted so the lowest is (just above)
    zero, which leaves their order and differences as they are.
    """
    steps = np.asarray(scorer(video, units), dtype=np.float64).reshape(-1)
    if steps.shape != (video.n_steps,) or not np.all(np.isfinite(steps)):
        raise SemsumError(f"{video.path}: scorer {scorer.name!r} returned {steps.shape} scores, not {video.n_steps}")
    steps = steps - min(float(steps.min()), 0.0) + 1e-9
    return Scores(scorer.name, steps, frame_scores(steps, video.picks, video.n_frames))


def focus(scorer: Scorer, query: str) -> Scorer:
    """`scorer` asked to rate importance for the user's `query` (its `with_query`); a scorer that cannot use one
    is an error, not ignored."""
    with_query = getattr(scorer, "with_query", None)
    if with_query is None:
        raise SemsumError(
            f"--query: scorer {scorer.name.split(' ')[0]} cannot use a query (the zero-shot scorer and runs on "
            "Video-LLaVA features can)"
        )
    return with_query(query)


@dataclass(frozen=True)
class CoverageOptions:
    """The `coverage` scorer takes no options."""


class CoverageScorer:
    """Training-free: score each unit by its greedy gain in how well the chosen units cover the whole video.

    Features are centred on the video's mean (what all frames share says nothing about which to keep) and
    L2-normalised. A set of units S covers sampled frame i to the degree max(0, max_{s in S} cos(x_i, c_s)),
    with c_s the mean (normalised) feature of unit s's segment; coverage F(S) sums that over all frames. This
    facility-location function rewards representativeness (a unit like much of the video covers a lot) and
    diversity (a unit like one already chosen adds little). Units are taken greedily; a unit's score is its
    marginal gain when taken divided by the first (largest) gain, so scores fall in [0, 1]. Every
    step of a segment gets its unit's score. Needs no labels and no training, only the features.
    """

    name = "coverage (training-free: greedy facility-location coverage of the video's features by its shots)"

    def __init__(self, feature_key: str = "features"):
        self.feature_key, self.options = feature_key, CoverageOptions()

    def __call__(self, video: SampledVideo, units: Units) -> np.ndarray:
        if self.feature_key not in video.features:
            raise SemsumError(f"{video.path}: the coverage scorer needs feature key {self.feature_key!r}")
        x = np.asarray(video.features[self.feature_key], dtype=np.float64)
        x = x - x.mean(axis=0)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        segs = units.segments
        segment_of_step = np.repeat(np.arange(len(segs)), segs[:, 1] - segs[:, 0] + 1)
        centres = np.stack([x[s : e + 1].mean(axis=0) for s, e in segs])
        centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
        sim = np.clip(x @ centres.T, 0.0, None)  # [n_steps, n_segments]
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
        segment_scores = gains / top if top > 0 else np.ones(len(segs))
        return segment_scores[segment_of_step]


RUN_INPUTS = ("mllm", "mapped")  # how a run's features_mllm input is made for a new video


def googlenet_features(video: SampledVideo) -> np.ndarray:
    """The video's GoogLeNet pool5 features, which runs and F(x) mappers are trained on."""
    if video.encoder != "googlenet":
        raise SemsumError(
            f"{video.path}: the run or mapper needs GoogLeNet pool5 features; "
            f"use --encoder googlenet, not {video.encoder}"
        )
    return video.features["features"]


class FeatureSource:
    """One feature key a trained run needs, computed for a new video, with its width known before decoding.

    `features`: GoogLeNet pool5, which the pipeline always computes. `features_mllm`: Video-LLaVA embeddings of
    the sampled frames (paper Eq. 1), or, with `run_input="mapped"`, F(pool5) from an alignment mapper (the
    paper's cheap path, no MLLM at inference). `features_mapped`: F(pool5) from the mapper.
    """

    def __init__(self, key: str, width: int, compute, embedder: MLLMEmbedder | None = None):
        self.key, self.width, self.compute, self.embedder = key, width, compute, embedder

    @classmethod
    def embedded(cls, key: str, embedder: MLLMEmbedder) -> FeatureSource:
        """`key` computed as Video-LLaVA embeddings of the sampled frames, by `embedder`."""
        return cls(key, embedder.dim, lambda video: embed_again(embedder, video).embeddings, embedder)

    @classmethod
    def for_key(
        cls,
        key: str,
        run_input: str = "mllm",
        mapper_path: str | os.PathLike[str] | None = None,
        mllm_model: str | None = None,
        device: str = "cpu",
        provenance: dict | None = None,
    ) -> FeatureSource:
        """The source of `key`. `provenance` is the run's record of how its features_mllm were made (model,
        prompt, window padding): new videos get the same, unless `mllm_model` names another model."""
        if key == "features":
            return cls(key, 1024, googlenet_features)
        if key == "features_mapped" or (key == "features_mllm" and run_input == "mapped"):
            if mapper_path is None:
                raise SemsumError(f"the run needs {key}: pass --mapper FILE (from `semsum align train`)")
            from semsum.align.mapper import apply_mapper, load_mapper

            mapper = load_mapper(mapper_path)
            if mapper.config.in_dim != 1024:
                raise SemsumError(f"{mapper_path}: maps {mapper.config.in_dim}-d inputs, summarize has 1024-d pool5")
            where = str(mapper_path)

            def mapped(video: SampledVideo) -> np.ndarray:  # a writable copy: torch warns on read-only arrays
                return apply_mapper(mapper, np.array(googlenet_features(video)), where=where)

            return cls(key, mapper.config.out_dim, mapped)
        if key == "features_mllm":
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
            return cls.embedded(key, embedder)
        raise SemsumError(
            f"summarize cannot compute feature key {key!r} (it computes features, features_mllm, features_mapped)"
        )


class RunScorer:
    """Scores from a run trained with `semsum train` (mean over its fold models, or one `fold`).

    Runs are trained on eccv16 files, sampled every 15th frame: automatic sampling keeps that (`sampling_stride`).

    Every feature key the run was trained on is computed for the new video by a `FeatureSource`; the total width
    is checked against the run when it is loaded, before any video is decoded.
    """

    @renamed_keywords(features="run_input")
    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        fold: int | None = None,
        device: str = "cpu",
        run_input: str = "mllm",
        mapper: str | os.PathLike[str] | None = None,
        mllm_model: str | None = None,
        mllm_device: str = "auto",
    ):
        from semsum.training import load_run

        if run_input not in RUN_INPUTS:
            raise SemsumError(f"unknown --run-input {run_input!r}: choose one of {', '.join(RUN_INPUTS)}")
        self.sampling_stride = STRIDE
        mapper_path = None if mapper is None else str(mapper)
        self.options = RunOptions(
            mllm_model=mllm_model, mapper=mapper_path, run=str(run_dir), run_input=run_input, fold=fold
        )
        self.run = load_run(run_dir, fold=fold, device=device)
        self.feature_keys = list(self.run.feature_keys)
        self.sources = [
            FeatureSource.for_key(k, run_input, mapper, mllm_model, mllm_device, self.run.feature_provenance)
            for k in self.feature_keys
        ]
        via = " via F(x)" if run_input == "mapped" and "features_mllm" in self.feature_keys else ""
        self.name = f"run {run_dir} ({' + '.join(self.feature_keys)}{via})"
        width = sum(s.width for s in self.sources)
        if self.run.in_dim != width:
            raise SemsumError(
                f"{run_dir}: the run was trained on {self.run.in_dim}-d {' + '.join(self.feature_keys)}; "
                f"summarize computes {width}-d (" + ", ".join(f"{s.key} {s.width}" for s in self.sources) + ")"
            )

    def with_query(self, query: str) -> RunScorer:
        """This run with `query` added to the prompt of its Video-LLaVA inputs; a run without any (GoogLeNet, or
        F(x) of GoogLeNet) cannot use one."""
        if not any(s.embedder is not None for s in self.sources):
            raise SemsumError(
                f"--query: {self.name} is fed GoogLeNet or F(x) features, which cannot take a query "
                "(a run on features_mllm with --run-input mllm can)"
            )
        focused = copy.copy(self)
        focused.sources = [
            s if s.embedder is None else s.embedded(s.key, s.embedder.with_query(query)) for s in self.sources
        ]
        prompt = next(s.embedder.prompt for s in focused.sources if s.embedder is not None)
        focused.name, focused.query = f"{self.name}, query {query!r}", prompt.query_record(query)
        return focused

    def __call__(self, video: SampledVideo, units: Units) -> np.ndarray:
        x = np.concatenate([s.compute(video) for s in self.sources], axis=1).astype(np.float32)
        return np.asarray(self.run.predict(x), dtype=np.float64).reshape(-1)


def embed_again(embedder: MLLMEmbedder, video: SampledVideo, batch_size: int = 16) -> EmbedResult:
    """Video-LLaVA window embeddings (and zero-shot scores) of a sampled video, decoding its sampled frames again."""
    result = embedder.embed_stream(frames for _, frames in video.iter_frames(batch_size=batch_size))
    if len(result.embeddings) != video.n_steps:
        got = len(result.embeddings)
        raise SemsumError(f"{video.path}: decoded {got} sampled frames, expected {video.n_steps}")
    return result


class ZeroShotScorer:
    """A training-free scorer: the MLLM's own answer to the Importance Score prompt, per sampled frame.

    It reads the score from the same forward pass as the embedding (see `semsum.features.mllm`), so it costs one
    7B pass per sampled frame and needs no training data.
    """

    name = "zero-shot (training-free: Video-LLaVA's expected answer to the paper's Importance Score prompt)"
    sampling_stride = STRIDE  # the paper's windows: 8 frames at 2 fps

    def __init__(self, embedder: MLLMEmbedder):
        if not embedder.score:
            raise SemsumError(f"prompt {embedder.prompt.name}: zero-shot scoring needs the importance prompt")
        self.embedder, self.options = embedder, MllmModelOptions(embedder.model_id)

    @classmethod
    def from_pretrained(cls, model: str = DEFAULT_MODEL, **kwargs: Any) -> ZeroShotScorer:
        return cls(MLLMEmbedder.from_pretrained(model, "importance", **kwargs))

    def with_query(self, query: str) -> ZeroShotScorer:
        """The MLLM asked the Importance Score prompt with `query` added (`Prompt.with_query`)."""
        focused = ZeroShotScorer(self.embedder.with_query(query))
        focused.name, focused.query = f"{self.name}, query {query!r}", focused.embedder.prompt.query_record(query)
        return focused

    def __call__(self, video: SampledVideo, units: Units) -> np.ndarray:
        return embed_again(self.embedder, video).scores


@dataclass(frozen=True)
class RunOptions(MapperOptions, MllmModelOptions):
    """The `run` scorer's options: the run, and where its MLLM-space inputs come from."""

    run: str | None = option(
        None, "A run trained with `semsum train` (on features, features_mllm and/or features_mapped)."
    )
    run_input: str = option(
        "mllm", "How a run's features_mllm input is made: mllm (Video-LLaVA) or mapped (F(x) of GoogLeNet, --mapper)."
    )
    fold: int | None = option(None, "Score with this fold's model of the run (default: the mean over its folds).")


@declares(CoverageOptions)
def make_coverage(options: CoverageOptions, device: str = "cpu") -> CoverageScorer:
    """Entry-point factory of the `coverage` scorer (`device` is not used)."""
    return CoverageScorer()


@declares(MllmModelOptions)
def make_zero_shot(options: MllmModelOptions, device: str = "auto") -> ZeroShotScorer:
    """Entry-point factory of the `zero-shot` scorer: Video-LLaVA `options.mllm_model` (default: the paper's)."""
    return ZeroShotScorer.from_pretrained(options.mllm_model or DEFAULT_MODEL, device=device)


@declares(RunOptions)
def make_run(options: RunOptions, device: str = "auto") -> RunScorer:
    """Entry-point factory of the `run` scorer: the summarizer on `device` (auto: the CPU, where one video's
    forward pass is quick), the Video-LLaVA its inputs may need on `device` as given."""
    if options.run is None:
        raise SemsumError("the run scorer needs --run DIR (from `semsum train`)")
    return RunScorer(
        options.run,
        options.fold,
        device="cpu" if device == "auto" else device,
        run_input=options.run_input,
        mapper=options.mapper,
        mllm_model=options.mllm_model,
        mllm_device=device,
    )


def make_scorer(name: str = "coverage", device: str = "auto", **options: Any) -> Scorer:
    """The scorer registered as `name` (entry-point group `semsum.scorers`: coverage, zero-shot, run, or a
    plugin's), built from its declared `options` (one it lacks is an error)."""
    return create(SCORERS, name, device, **options)
