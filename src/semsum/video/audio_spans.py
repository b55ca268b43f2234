"""The summary's sound: for each run of kept video frames, exactly that span of the input's audio, re-encoded to AAC
through an `Mp4Writer`, with silence where the input's audio does not cover it (sound and picture stay in sync)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

from semsum.video.decode import _open

if TYPE_CHECKING:
    from semsum.video.write import Mp4Writer

SEEK_GAP_SECONDS = 5.0  # a stretch starting sooner than this after the last one is reached by decoding on
AUDIO_PREROLL_SECONDS = 0.2  # audio decoded before a sought span and dropped: the codec's overlap is then right


class _AudioSpans:
    """Fills sample windows [a, b) of the input's audio clock, in order, into a writer's audio stream: from blocks
    of decoded samples, with silence where the blocks leave a gap, so sound and picture stay in sync shot by shot."""

    def __init__(self, writer: Mp4Writer, windows: list[tuple[int, int]]):
        self.writer, self.windows = writer, windows
        self.channels = 1 if writer.layout == "mono" else 2
        self.w, self.filled = 0, 0  # current window, samples of it written so far

    @property
    def done(self) -> bool:
        return self.w >= len(self.windows)

    @property
    def need(self) -> int:
        """The input sample index wanted next."""
        return self.windows[self.w][0] + self.filled

    def feed(self, block: np.ndarray, at: int) -> None:
        """Write what the windows take of `block` [channels, n], whose first sample is input sample `at`."""
        while not self.done:
            a, b = self.windows[self.w]
            lo = max(a + self.filled, at)
            if lo >= at + block.shape[1]:
                return
            if lo > a + self.filled:  # a gap before this block: silence
                self._silence(lo - a - self.filled)
            hi = min(b, at + block.shape[1])
            self.writer.add_audio(block[:, lo - at : hi - at])
            self.filled = hi - a
            if hi < b:
                return
            self.w, self.filled = self.w + 1, 0

    def pad(self) -> None:
        """Silence for whatever the windows still lack (the audio ended or broke before them)."""
        for a, b in self.windows[self.w :]:
            self._silence(b - a - self.filled)
            self.filled = 0
        self.w = len(self.windows)

    def _silence(self, n: int) -> None:
        self.writer.add_audio(np.zeros((self.channels, n), np.float32))
        self.filled += n


def copy_audio(src: Path, writer: Mp4Writer, runs: list[tuple[float, int]], fps: float, seek: bool) -> None:
    """Append, for each (start second, n video frames) run, exactly that span of the input's audio.

    Streams the audio (memory stays bounded); spans the audio does not cover are padded with silence so
    sound and picture stay in sync shot by shot. With `seek`, a span more than `SEEK_GAP_SECONDS` ahead is reached
    by seeking to `AUDIO_PREROLL_SECONDS` before it (the decoder's overlap with the frame before is then in place),
    not by decoding the audio between.
    """
    sr = writer.audio.rate
    spans = _AudioSpans(writer, [(round(t * sr), round(t * sr) + round(n / fps * sr)) for t, n in runs])
    resampler = av.AudioResampler(format="fltp", layout=writer.layout, rate=sr)
    position = None  # input sample index of the next resampled sample
    with _open(src) as container:
        astream = container.streams.audio[0]

        def start_at(seconds: float) -> tuple[Iterator[av.AudioFrame], av.AudioResampler]:
            """Decoding (and a fresh resampler) from the audio frame at or before `seconds`."""
            container.seek(round(seconds / float(astream.time_base)), stream=astream, backward=True)
            return container.decode(astream), av.AudioResampler(format="fltp", layout=writer.layout, rate=sr)

        frames, here, sought = container.decode(astream), 0, False  # here: at least where decoding is
        try:
            while not spans.done:
                need = spans.need
                if seek and need - (here if position is None else position) > SEEK_GAP_SECONDS * sr:
                    at = max(need / sr - AUDIO_PREROLL_SECONDS, 0.0)
                    (frames, resampler), position, here, sought = start_at(at), None, round(at * sr), True
                frame = next(frames, None)
                if frame is None:
                    break
                if position is None:
                    position = round(float(frame.pts * frame.time_base) * sr) if frame.pts is not None else 0
                    if sought and position > need:  # landed past the window (a coarse index): decode through
                        (frames, resampler), position, here, seek, sought = start_at(0.0), None, 0, False, False
                        continue
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(spans.channels, -1)
                    spans.feed(block, position)
                    position += block.shape[1]
        except av.error.FFmpegError:
            pass  # audio damaged near the end: keep what decoded; silence pads the rest
    spans.pad()
