"""A summary's selected units as files for editors and players (`semsum summarize --export otio,edl,fcpxml,vtt`).

The timelines are built with OpenTimelineIO and written by its adapters (no hand-written XML or EDL text): a video
track of clips (and, for a source with sound, an audio track of the same clips), one per selected unit in time
order, each referencing the source file (`source_url`, by default its absolute file:// URL) with its exact source
range at the source's own frame rate (a float rate such as 29.97002997 is taken as the rational 30000/1001 it
stands for), and the unit's index, frames and score as metadata under "semsum". `otio` is OpenTimelineIO's JSON;
`edl` CMX 3600 (otio-cmx3600-adapter: the video track's events, timecodes at the source rate, drop-frame at 29.97;
only rates that have timecode); `fcpxml` Final Cut Pro X XML version 1.8 (otio-fcpx-xml-adapter; Final Cut and
DaVinci Resolve import it). `vtt` is WebVTT chapters for the SOURCE video (webvtt-py), one cue per selected unit
at its source times, so a player can jump to the moments.

Everything is read from a summary's scores.json document (`scores_document`), so a summary can be exported again
without recomputing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from semsum.errors import SemsumError

FILES = {"otio": "timeline.otio", "edl": "timeline.edl", "fcpxml": "timeline.fcpxml", "vtt": "chapters.vtt"}
ADAPTERS = {"otio": "otio_json", "edl": "cmx_3600", "fcpxml": "fcpx_xml"}
MAX_DENOMINATOR = 1001  # NTSC rates: 24000/1001, 30000/1001, 60000/1001


def parse_formats(spec: str | Iterable[str] | None) -> tuple[str, ...]:
    """The formats of `--export` ("otio,edl" or a list of names), checked, each once, in the order given."""
    if spec is None:
        return ()
    names = spec.split(",") if isinstance(spec, str) else [n for s in spec for n in s.split(",")]
    formats = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    unknown = [f for f in formats if f not in FILES]
    if unknown:
        raise SemsumError(f"--export {', '.join(unknown)}: unknown format (choose from {', '.join(FILES)})")
    return formats


def supported_formats(fps: float) -> tuple[str, ...]:
    """The formats a video at `fps` can be exported to: all but `edl` where the rate has no timecode (12.5, 10)."""
    import opentimelineio as otio

    timecode = otio.opentime.RationalTime.is_valid_timecode_rate(float(frame_rate(fps)))
    return tuple(f for f in FILES if timecode or f != "edl")


def frame_rate(fps: float) -> Fraction:
    """The rational frame rate a float rate stands for (29.97002997 -> 30000/1001, 25.0 -> 25)."""
    return Fraction(fps).limit_denominator(MAX_DENOMINATOR)


@dataclass(frozen=True)
class Moment:
    """One selected unit: its index among the units, its inclusive frames and its score."""

    unit: int
    start_frame: int
    end_frame: int
    score: float


def moments(doc: dict[str, Any]) -> list[Moment]:
    """The selected units of a scores.json document, in time order."""
    units = doc["units"]
    chosen = sorted(doc["selected_units"], key=lambda i: units[i]["start_frame"])
    return [Moment(i, units[i]["start_frame"], units[i]["end_frame"], float(units[i]["score"])) for i in chosen]


def summary_timeline(doc: dict[str, Any], source_url: str) -> Any:
    """The selected units of `doc` as an OpenTimelineIO timeline of clips of `source_url`: a video track, and an
    audio track of the same clips if the source has sound."""
    import opentimelineio as otio

    rate = float(frame_rate(doc["fps"]))

    def span(start: int, n_frames: int) -> otio.opentime.TimeRange:
        return otio.opentime.TimeRange(
            otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(n_frames, rate)
        )

    name = Path(doc["video"]).name
    kinds = [otio.schema.TrackKind.Video] + ([otio.schema.TrackKind.Audio] if doc["has_audio"] else [])
    tracks = [otio.schema.Track(name=kind.lower(), kind=kind) for kind in kinds]
    for k, m in enumerate(moments(doc)):
        meta = {"unit": m.unit, "start_frame": m.start_frame, "end_frame": m.end_frame, "score": m.score}
        for track in tracks:
            reference = otio.schema.ExternalReference(target_url=source_url, available_range=span(0, doc["n_frames"]))
            track.append(
                otio.schema.Clip(
                    name=f"{name} moment {k + 1}",
                    media_reference=reference,
                    source_range=span(m.start_frame, m.end_frame - m.start_frame + 1),
                    metadata={"semsum": meta},
                )
            )
    meta = {"scorer": doc["scorer"], "budget": doc["budget"], "fps": doc["fps"], "source": source_url}
    return otio.schema.Timeline(name=f"{name} summary", tracks=tracks, metadata={"semsum": meta})


def chapters(doc: dict[str, Any]) -> str:
    """WebVTT chapters of the source video: one cue per selected unit, titled with its rank in time and score."""
    import webvtt

    fps = frame_rate(doc["fps"])

    def at(frame: int) -> str:
        return str(webvtt.models.Timestamp.from_seconds(float(frame / fps)))

    cues = [
        webvtt.Caption(
            start=at(m.start_frame),
            end=at(m.end_frame + 1),
            text=f"Moment {k + 1} (score {m.score:.2f})",
            identifier=f"moment-{k + 1}",
        )
        for k, m in enumerate(moments(doc))
    ]
    return webvtt.WebVTT(captions=cues).content


def export_text(doc: dict[str, Any], fmt: str, source_url: str) -> str:
    """The text of one export format of the summary `doc`."""
    if fmt == "vtt":
        return chapters(doc)
    import opentimelineio as otio

    timeline = summary_timeline(doc, source_url)
    if fmt not in supported_formats(doc["fps"]):
        raise SemsumError(
            f"{doc['video']}: --export edl needs a timecode frame rate (24, 25, 30, 29.97, 50, 60, ...), this video "
            f"has {doc['fps']:.4g} fps; use otio or fcpxml"
        )
    if fmt == "fcpxml":
        _register_rate(frame_rate(doc["fps"]))
    return otio.adapters.write_to_string(timeline, adapter_name=ADAPTERS[fmt])


def _register_rate(rate: Fraction) -> None:
    """Give otio-fcpx-xml-adapter the frame duration of `rate`: its table is keyed by int or rounded rates
    (29.97), so an exact NTSC rate (30000/1001 as a float) or one it lacks would get an empty frameDuration."""
    import opentimelineio as otio

    table = otio.adapters.from_name(ADAPTERS["fcpxml"]).module().FRAMERATE_FRAMEDURATION
    table.setdefault(float(rate), f"{rate.denominator}/{rate.numerator}s")


def write_exports(
    folder: Path, doc: dict[str, Any], formats: Sequence[str], source_url: str | None = None
) -> list[Path]:
    """Write each of `formats` (`FILES`) of the summary `doc` into `folder` (one being built: see
    `semsum.atomic.atomic_folder`); the clips reference `source_url`, by default the video's absolute file URL."""
    url = source_url or Path(doc["video"]).resolve().as_uri()
    written = []
    for fmt in parse_formats(formats):
        path = folder / FILES[fmt]
        path.write_text(export_text(doc, fmt, url), encoding="utf-8")
        written.append(path)
    return written
