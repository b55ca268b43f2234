"""Shot detectors: one interface, implementations registered by name (entry-point group `semsum.shot_detectors`).

Words used throughout semsum for the three things the field calls "change points":

* step boundaries: int64 [n_boundaries], the sampled step where each segment after the first starts (what KTS
  returns);
* shots: int64 [n_shots, 2], the inclusive first and last *frame* of each shot, contiguous and covering every
  frame (what a `ShotDetector` returns and what eccv16 files store under `change_points`);
* step segments: int64 [n_segments, 2], the inclusive first and last *step* of each segment (what scorers read).

Selection units, what the knapsack picks from, are shots too: the detector's shots, long ones split into
sub-shots where the features change most (`content_units`).

Built in: `kts` (kernel temporal segmentation on the video's features; the benchmarks' choice and the default for
dataset files), `transnetv2` (a trained shot-boundary network on the frames; `semsum.summary.transnetv2`), `content`
(PySceneDetect's ContentDetector on the frames; `semsum.summary.content`) and `auto` (`summarize`'s default:
TransNetV2 on a GPU, the content detector on a CPU (KTS beyond `--cpu-frames`, if set); see `AutoDetector`
for the measurements behind it).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from semsum.errors import SemsumError, warn_deprecated
from semsum.nn.onnx import RUNTIME_HELP
from semsum.registry import SHOT_DETECTORS, create, declares, option
from semsum.summary.kts import MAX_SEGMENT, kts

if TYPE_CHECKING:
    import av

    from semsum.video.decode import VideoInfo


class Video(Protocol):
    """What a shot detector may read of the video the pipeline holds."""

    path: Path
    n_frames: int  # frames actually decoded
    picks: np.ndarray  # int64 [n_steps]: frame index of each sampled step
    features: Mapping[str, np.ndarray]  # feature key -> [n_steps, D]; "features" holds the frame encoder's
    # A video the pipeline sampled also has `per_frame`: key -> [n_frames] values its `FrameWatcher` computed.


StepProgress = Callable[[int, int], None]  # `progress(done, total)` of a stage's own steps


class ShotDetector(Protocol):
    """`detector(video)` -> shots int64 [n_shots, 2]: inclusive frames, contiguous, covering every frame.

    A detector that delegates (`auto`) may also have `name_for(video)`, naming what runs on that video, and
    `choose(video)`, the detector itself. One that reads only the sampled features, never the frames, says so with
    `reads_frames = False` (KTS): `summarize` may then decode only reference frames. One that
    can say how far it is takes a keyword `progress` (`StepProgress`) and reports its steps through it: the
    built-ins do (TransNetV2 its windows, KTS its layers); `detect_shots` passes it only to those that take it.
    One that reads every frame may offer `watcher()`, a fresh `FrameWatcher`, to share the sampling pass.
    """

    name: str

    def __call__(self, video: Video) -> np.ndarray: ...


class FrameWatcher(Protocol):
    """Values a detector computes from every frame while the sampling pass decodes them, so that it needs no decoding
    pass of its own: the pipeline keeps `result` under `key` in the sampled video's `per_frame`, which the detector
    reads instead of decoding (the content detector: `semsum.summary.content`)."""

    key: str

    def __call__(self, index: int, frame: av.VideoFrame) -> None:
        """See decoded frame `index` (frames come in order from 0; one out of order spoils the result)."""

    def result(self, n_frames: int) -> np.ndarray | None:
        """One value per frame of a video of `n_frames` decoded frames, or None if it did not see each in order."""


def chosen_detector(detector: ShotDetector, video: Video | VideoInfo) -> ShotDetector:
    """The detector that runs on `video` (a delegating one's `choose`, else itself)."""
    return detector.choose(video) if hasattr(detector, "choose") else detector


def frame_watcher(detector: ShotDetector, video: Video | VideoInfo) -> FrameWatcher | None:
    """A fresh `FrameWatcher` of the detector that runs on `video`, if it offers one."""
    make = getattr(chosen_detector(detector, video), "watcher", None)
    return make() if make is not None else None


def readonly(array: np.ndarray, dtype: type | None = None) -> np.ndarray:
    """`array` as a read-only array (of `dtype`, converted only if it is not one), for immutable stage results."""
    out = np.asarray(array, dtype=dtype)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Shots:
    """What shot detection returns: the checked shots and the name of what ran (`auto` says which detector)."""

    frames: np.ndarray  # int64 [n_shots, 2]: inclusive first and last frame, contiguous, covering the video
    detector: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "frames", readonly(self.frames, np.int64))


@dataclass(frozen=True)
class Units:
    """The selection units the knapsack picks from, as frames and as the step segments scorers read."""

    frames: np.ndarray  # int64 [n_units, 2]: inclusive first and last frame of each unit
    segments: np.ndarray  # int64 [n_segments, 2]: inclusive first and last step of the units holding a pick

    def __post_init__(self) -> None:
        object.__setattr__(self, "frames", readonly(self.frames, np.int64))
        object.__setattr__(self, "segments", readonly(self.segments, np.int64))

    @property
    def steps(self) -> np.ndarray:
        """Deprecated name of `segments`."""
        warn_deprecated("Units.steps", "Units.segments")
        return self.segments

    def __len__(self) -> int:
        return len(self.frames)


def detect_shots(detector: ShotDetector, video: Video, progress: StepProgress | None = None) -> Shots:
    """The shot detection stage: the detector's shots of `video`, checked, with the name of what ran; a detector
    taking `progress` reports its steps through it."""
    found = detector(video, progress=progress) if progress and _takes_progress(detector) else detector(video)
    shots = check_shots(found, video.n_frames, f"{video.path}: shot detector {detector.name}")
    name = detector.name_for(video) if hasattr(detector, "name_for") else detector.name
    return Shots(shots, name)


def _takes_progress(detector: ShotDetector) -> bool:
    try:
        return "progress" in inspect.signature(detector).parameters
    except (TypeError, ValueError):  # no signature to read (a builtin or extension callable)
        return False


def make_units(shots: Shots, video: Video, max_steps: int) -> Units:
    """The unit building stage: `content_units` of the shots, with their step segments."""
    frames = content_units(shots.frames, video.picks, video.features["features"], max_steps)
    return Units(frames, step_segments(frames, video.picks))


def cuts_to_shots(cuts: np.ndarray, n_frames: int) -> np.ndarray:
    """Shots (int64 [n_shots, 2], inclusive first and last frame, contiguous, covering 0..n_frames-1) from cuts, the
    ascending first frames of the shots after the first: each shot ends one frame before the next starts. Every
    detector's shots are made here."""
    starts = np.concatenate([[0], np.asarray(cuts, dtype=np.int64)]).astype(np.int64)
    return np.stack([starts, np.append(starts[1:], n_frames) - 1], axis=1)


def boundaries_to_shots(boundaries: np.ndarray, picks: np.ndarray, n_frames: int) -> np.ndarray:
    """Shots (inclusive [start, end] frames) from step boundaries.

    A shot starts at the frame of its first pick (the first at frame 0) and ends one frame before the next shot
    starts (the last at n_frames - 1), as the field's dataset tools build `change_points`.
    """
    return cuts_to_shots(np.asarray(picks, dtype=np.int64)[np.asarray(boundaries, dtype=np.int64)], n_frames)


def step_segments(shots: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Step segments of the shots: each step goes to the shot holding its pick; a shot holding no pick (shorter
    than the sampling step) gets no segment."""
    shots = np.asarray(shots, dtype=np.int64)
    owner = np.searchsorted(shots[:, 0], np.asarray(picks, dtype=np.int64), side="right") - 1
    firsts = np.flatnonzero(np.diff(owner, prepend=-1))
    return np.stack([firsts, np.append(firsts[1:], len(owner)) - 1], axis=1).astype(np.int64)


def content_units(shots: np.ndarray, picks: np.ndarray, features: np.ndarray, max_steps: int) -> np.ndarray:
    """Selection units from content: the shots, each holding more than `max_steps` picks split into sub-shots
    where its features change most (KTS within the shot, every part at most `max_steps` picks).

    A part after a shot's first starts at a pick; each shot's own first frame is kept. Units are never cut to
    the summary's budget: a long shot becomes several moments, not one budget-sized piece.
    """
    shots = np.asarray(shots, dtype=np.int64)
    picks = np.asarray(picks, dtype=np.int64)
    max_steps = max(int(max_steps), 1)
    starts = []
    for s, (a, b) in zip(shots[:, 0], _pick_ranges(shots, picks), strict=True):
        starts.append(s)
        if b - a > max_steps:
            starts.extend(picks[a + kts(features[a:b], max_segment=max_steps)])
    return cuts_to_shots(starts[1:], shots[-1, 1] + 1)  # shots[0, 0] is frame 0 (`check_shots`)


def _pick_ranges(shots: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """[a, b) range of step indices whose picks fall in each shot."""
    return np.stack(
        [np.searchsorted(picks, shots[:, 0], side="left"), np.searchsorted(picks, shots[:, 1], side="right")], axis=1
    )


def check_shots(shots: np.ndarray, n_frames: int, where: str) -> np.ndarray:
    """`shots` as int64 [n, 2] if they are contiguous inclusive frame ranges covering 0..n_frames-1, else an error."""
    shots = np.asarray(shots)
    if shots.ndim != 2 or shots.shape[1] != 2 or len(shots) == 0 or not np.issubdtype(shots.dtype, np.integer):
        raise SemsumError(f"{where}: shots must be an integer array [n_shots, 2], got {shots.dtype} {shots.shape}")
    shots = shots.astype(np.int64)
    ok = (
        shots[0, 0] == 0
        and shots[-1, 1] == n_frames - 1
        and np.all(shots[:, 1] >= shots[:, 0])
        and np.all(shots[1:, 0] == shots[:-1, 1] + 1)
    )
    if not ok:
        raise SemsumError(f"{where}: shots are not contiguous inclusive frame ranges covering frames 0-{n_frames - 1}")
    return shots


@dataclass(frozen=True)
class KTSOptions:
    """The `kts` detector's options (`auto` takes them too, for the videos it gives to KTS); with the settings
    that change its shots but are no user's option (fields without help)."""

    max_segment: int | None = option(
        MAX_SEGMENT, "KTS bound on shot length in sampled steps (0: unbounded, O(n^2) memory)."
    )
    feature_key: str = "features"  # the features it segments


class KTSDetector:
    """Kernel temporal segmentation of the video's sampled features (`semsum.summary.kts`), as frame shots."""

    name = "kts"
    reads_frames = False  # the sampled features alone: `summarize` may then decode only reference frames

    def __init__(self, options: KTSOptions = KTSOptions()):
        self.options = options

    def __call__(self, video: Video, progress: StepProgress | None = None) -> np.ndarray:
        key = self.options.feature_key
        if key not in video.features:
            raise SemsumError(f"{video.path}: KTS needs the feature key {key!r}")
        max_segment = self.options.max_segment or None  # 0: unbounded
        boundaries = kts(video.features[key], max_segment=max_segment, progress=progress)
        return boundaries_to_shots(boundaries, video.picks, video.n_frames)


@declares(KTSOptions)
def make_kts(options: KTSOptions, device: str = "cpu") -> KTSDetector:
    """Entry-point factory of the `kts` detector (`max_segment` 0: unbounded, declared as None; `device` is not
    used)."""
    return KTSDetector(replace(options, max_segment=options.max_segment or None))


@dataclass(frozen=True)
class AutoOptions(KTSOptions):
    """The `auto` detector's options: KTS's, and where the content detector stops on a CPU."""

    cpu_frames: int = option(
        0, "auto: on a CPU, the content detector for videos of up to this many frames, KTS beyond (0: every video)."
    )
    runtime: str = option("auto", RUNTIME_HELP)
    gpu: bool = False  # TransNetV2 on every video (on a GPU), else content or KTS: set from the device


class AutoDetector:
    """`summarize`'s default for users' videos: the best detector that is affordable on the device.

    On a GPU, TransNetV2 (trained, so it also sees gradual transitions). On a CPU it costs too much (about 55
    frames/s on 2 cores); the content detector (PySceneDetect's rule on frames at 96x54) finds the same hard cuts
    on the frame (21 of 23 within 2 frames, no false boundary, against TransNetV2's 21 and one false) at 8-9x less
    CPU, where KTS, tied to the 15-frame sampling grid, finds 4 and splits one-shot footage on lighting changes
    (12 false; benchmarks/shots.md). The content detector reads every frame of the sampling pass, by nearest sample,
    its cost in proportion to the video's length like the rest of a first run: so on a CPU it runs on every video,
    unless `cpu_frames` (0: no bound) sends longer ones to KTS. `name_for(video)` says which one runs.
    """

    name = "auto"

    def __init__(self, options: AutoOptions = AutoOptions(), device: str = "cpu"):
        from semsum.device import is_cuda

        # Which detector runs depends on the device actually used ("auto" resolved), so that is what is declared.
        self.options = replace(options, gpu=is_cuda(device))
        self.device = device
        self._transnetv2: ShotDetector | None = None  # loaded once, on first use

    def choose(self, video: Video) -> ShotDetector:
        """The detector that runs on `video` (a function of its length and the device only, so one AutoDetector
        serves concurrent requests)."""
        if self.options.gpu:
            from semsum.summary.transnetv2 import TransNetV2Detector, TransNetV2Options

            self._transnetv2 = self._transnetv2 or TransNetV2Detector(
                TransNetV2Options(runtime=self.options.runtime), self.device
            )
            return self._transnetv2
        if not self.options.cpu_frames or video.n_frames <= self.options.cpu_frames:
            from semsum.summary.content import ContentDetector

            return ContentDetector()
        return KTSDetector(KTSOptions(self.options.max_segment, self.options.feature_key))

    def name_for(self, video: Video) -> str:
        """What ran on `video`, for outputs: e.g. "auto: content" or "auto: kts"."""
        return f"auto: {self.choose(video).name}"

    def __call__(self, video: Video, progress: StepProgress | None = None) -> np.ndarray:
        return self.choose(video)(video, progress=progress)


@declares(AutoOptions)
def make_auto(options: AutoOptions, device: str = "cpu") -> AutoDetector:
    """Entry-point factory of the `auto` detector (`max_segment` 0: KTS unbounded, declared as None)."""
    return AutoDetector(replace(options, max_segment=options.max_segment or None), device)


def make_shot_detector(name: str = "kts", device: str = "cpu", **options: object) -> ShotDetector:
    """The shot detector registered as `name`, built from its declared `options` (one it lacks is an error)."""
    return create(SHOT_DETECTORS, name, device, **options)
