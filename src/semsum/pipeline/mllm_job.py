"""`semsum extract mllm` as one library call: Video-LLaVA embeddings for loose videos, an eccv16 dataset or a
Mr.HiSum file, with the `videollava` encoder loaded through the stage registry as `--encoder videollava` is."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semsum.data.h5 import STRIDE, Dataset
from semsum.data.mrhisum import is_mrhisum_file
from semsum.errors import SemsumError
from semsum.features.encoders import make_encoder
from semsum.pipeline import extract
from semsum.pipeline.executors import Executor, LocalExecutor


@dataclass(frozen=True)
class MllmJob:
    """What to embed and where: loose `videos` (sampled every `stride` frames), or the dataset `h5` (eccv16, or
    Mr.HiSum with `mapping` its metadata.csv) with its videos in `videos_dir`. `encoder_options`: the `videollava`
    encoder's options by dest, and `device`."""

    out: Path
    videos: Sequence[Path] = ()
    h5: Path | None = None
    videos_dir: Path | None = None
    mapping: Path | None = None
    stride: int = STRIDE
    encoder_options: Mapping[str, Any] = field(default_factory=dict)
    executor: Executor = field(default_factory=LocalExecutor)

    def __post_init__(self) -> None:
        if bool(self.videos) == (self.h5 is not None):
            raise SemsumError("extract mllm: give either VIDEO files or --h5 DATASET.h5 with --videos DIR")
        if self.h5 is not None and self.videos_dir is None:
            raise SemsumError(f"{self.h5}: --videos DIR is needed to find the dataset's videos")


def run_mllm_job(job: MllmJob, note: Callable[[str], None] = print, **options: Any) -> Dataset:
    """Run `job` (resumable per video; see `semsum.pipeline.extract.extract_to_h5`, which takes `options`), saying
    through `note` which videos of a Mr.HiSum file have no file. In process the model loads here, once, so its
    errors come first; on Ray each actor loads its own."""
    encoder = make_encoder("videollava", **job.encoder_options) if job.executor.name == "local" else None
    options |= {"progress": True, "executor": job.executor, "model_options": dict(job.encoder_options)}
    if job.h5 is None:
        return extract.extract_videos(encoder, job.videos, job.out, job.stride, **options)
    if not is_mrhisum_file(job.h5):
        return extract.extract_dataset(encoder, job.h5, job.videos_dir, job.out, job.mapping, **options)
    if job.mapping is None:
        raise SemsumError(f"{job.h5}: a Mr.HiSum file needs --mapping metadata.csv (video_id -> youtube_id)")
    paths, missing = extract.resolve_mrhisum(job.h5, job.videos_dir, job.mapping)
    if missing:
        total = len(paths) + len(missing)
        note(f"{job.h5}: {len(missing)} of {total} videos have no file in {job.videos_dir}: skipped")
    return extract.extract_mrhisum(encoder, job.h5, paths, job.out, **options)
