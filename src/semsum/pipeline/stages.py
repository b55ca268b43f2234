"""Which stages a video job runs, chosen by name with their options: the one object the faces pass down."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from semsum.features.encoders import FrameEncoder, WindowEncoder, make_encoder
from semsum.pipeline.sampling import SamplingConfig
from semsum.summary.kts import MAX_SEGMENT
from semsum.summary.shots import ShotDetector, make_shot_detector


@dataclass(frozen=True)
class StageConfig:
    """A frame encoder and a shot detector by name, their options, and the sampling.

    Each factory receives the options its signature names (`semsum.registry`), so the same config serves the
    built-ins and any plugin.
    """

    encoder: str = "googlenet"
    shots: str | None = None  # None: the job's default (`build(default_shots=...)`)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    device: str = "auto"
    googlenet_weights: str | os.PathLike[str] | None = None
    random_googlenet: bool = False
    input_size: int = 224
    max_segment: int | None = MAX_SEGMENT  # KTS bound on shot length in steps (0 or None: unbounded)
    mapper: str | os.PathLike[str] | None = None  # F(x) checkpoint for the fx encoder
    mllm_model: str | None = None  # Video-LLaVA id or folder for the videollava encoder

    def build(self, default_shots: str = "kts") -> tuple[FrameEncoder | WindowEncoder, ShotDetector]:
        """The encoder and the shot detector, loaded (the detector first: its errors cost no model load).

        Without a shot detector named, `default_shots`: dataset files keep KTS, as the benchmark files were made;
        `summarize` passes `auto`."""
        detector = make_shot_detector(self.shots or default_shots, device=self.device, max_segment=self.max_segment)
        encoder = make_encoder(
            self.encoder,
            device=self.device,
            weights=self.googlenet_weights,
            random_init=self.random_googlenet,
            input_size=self.input_size,
            mapper=self.mapper,
            mllm_model=self.mllm_model,
        )
        return encoder, detector
