"""Which stages a video job runs, chosen by name with their options: the one object the faces pass down."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from semsum.errors import SemsumError
from semsum.features.encoders import FrameEncoder, WindowEncoder, check_encoder
from semsum.pipeline.sampling import SamplingConfig
from semsum.pipeline.scorers import Scorer
from semsum.registry import ENCODERS, SCORERS, SHOT_DETECTORS, Implementation, find, option_fields
from semsum.summary.shots import ShotDetector


@dataclass(frozen=True)
class StageConfig:
    """A frame encoder, a shot detector and (for `summarize`) a scorer by name, their options, and the sampling.

    `options` holds the implementations' options by dest (`semsum.registry`), as the user gave them: each goes to
    every chosen implementation that declares it, the others' own defaults apply, and one that no chosen
    implementation takes is an error naming the implementation and what it does take.
    """

    encoder: str = "googlenet"
    shots: str | None = None  # None: the job's default (`build(default_shots=...)`)
    scorer: str | None = None  # None: no scorer (dataset files)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    device: str = "auto"
    options: Mapping[str, Any] = field(default_factory=dict)

    def chosen(self, default_shots: str = "kts") -> list[Implementation]:
        """The chosen implementations: encoder, shot detector, and the scorer if one is named."""
        names = [(ENCODERS, self.encoder), (SHOT_DETECTORS, self.shots or default_shots)]
        return [find(group, name) for group, name in names + ([(SCORERS, self.scorer)] if self.scorer else [])]

    def check(self, default_shots: str = "kts") -> list[tuple[Implementation, Any]]:
        """Each chosen implementation with its options (`route`): an option none of them takes is an error."""
        return route(self.options, self.chosen(default_shots))

    def build(self, default_shots: str = "kts") -> tuple[FrameEncoder | WindowEncoder, ShotDetector]:
        """The encoder and the shot detector, loaded once every option was checked (the detector first: its errors
        cost no model load).

        Without a shot detector named, `default_shots`: KTS, as the benchmark files were made (the CLI names `auto`
        for `summarize` and the app)."""
        (encoder, encoder_options), (detector, detector_options), *_ = self.check(default_shots)
        built = detector.build(detector_options, self.device)
        return check_encoder(encoder.name, encoder.build(encoder_options, self.device)), built

    def build_scorer(self) -> Scorer:
        """The named scorer, loaded once every option was checked."""
        if self.scorer is None:
            raise SemsumError("StageConfig.build_scorer: no scorer named (StageConfig(scorer=...))")
        scorer, options = self.check()[-1]
        return scorer.build(options, self.device)


def route(given: Mapping[str, Any], chosen: Sequence[Implementation]) -> list[tuple[Implementation, Any]]:
    """Each chosen implementation with its options instance, from `given` options by dest; an option none of them
    takes is an error naming the chosen implementation of its kind (or the first) and what that one takes."""
    for dest in given:
        if not any(dest in impl.dests() for impl in chosen):
            kind = [impl for impl in chosen if dest in option_fields((impl.group,))] or list(chosen)
            raise kind[0].refusal(dest)
    return [(impl, impl.options({d: v for d, v in given.items() if d in impl.dests()})) for impl in chosen]
