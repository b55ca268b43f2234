"""Orchestration: the stages put together into jobs. Nothing in the stage packages imports this package.

| module      | job                                                                                   |
|-------------|---------------------------------------------------------------------------------------|
| `sampling`  | decode, sample and encode a video in one pass (`SampledVideo`, `SamplingConfig`)      |
| `scorers`   | what scores a sampled video: coverage, a trained run, Video-LLaVA zero-shot           |
| `summarize` | one video -> summary.mp4, scores.json, timeline.png                                   |
| `build`     | a folder of videos -> an eccv16 HDF5 file (`semsum dataset build`)                    |
| `batch`     | a folder of videos -> a summary folder each (`semsum summarize DIR -o OUT`)            |
| `extract`   | MLLM embeddings into eccv16 files, resumable (`semsum extract mllm`)                   |
| `encoders`  | encoders that combine stages: `fx` (F(x) over GoogLeNet)                              |
| `demo`      | `semsum demo`                                                                          |
| `stages`    | `StageConfig`: the encoder, shot detector and scorer chosen by name, with their options |
| `cache`     | caching around the sampling pass and shot detection, keyed by declared options         |
| `executors` | `drive`: the loop over a job's videos, in process or on Ray (`run_videos`: into a file) |
| `predict`   | a trained run's scores over an HDF5 file (`semsum predict`)                           |
| `mllm_job`  | `semsum extract mllm` as one call                                                      |
| `reproduce` | `semsum reproduce`: config, plan, report                                              |
"""

from semsum.pipeline.sampling import SampledVideo, SamplingConfig, sample_video
from semsum.pipeline.scorers import CoverageScorer, RunScorer, Scorer, ZeroShotScorer, make_scorer
from semsum.pipeline.summarize import SummaryResult, summarize

__all__ = [
    "CoverageScorer",
    "RunScorer",
    "SampledVideo",
    "SamplingConfig",
    "Scorer",
    "SummaryResult",
    "ZeroShotScorer",
    "make_scorer",
    "sample_video",
    "summarize",
]
