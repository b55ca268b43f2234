"""--export: the selected units as OTIO/EDL/FCPXML timelines and WebVTT chapters, each read back by its own reader
(OpenTimelineIO and its adapters, webvtt-py) to the units to the frame."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from fractions import Fraction

import opentimelineio as otio
import pytest
import webvtt

from clitest import error_line, run_cli
from semsum.errors import SemsumError
from semsum.features.pool5 import build_extractor
from semsum.pipeline import CoverageScorer, summarize
from semsum.summary.export import ADAPTERS, FILES, export_text, frame_rate, moments, parse_formats, write_exports
from semsum.summary.shots import KTSDetector

NTSC = 30000 / 1001
UNITS = [(0, 99, 0.1), (100, 249, 0.5), (250, 399, 0.2), (400, 599, 0.9), (600, 617, 0.3)]


def _doc(fps: float, selected: list[int], has_audio: bool = False, video: str = "/media/my clip.mp4") -> dict:
    """The fields of scores.json that the exports read."""
    units = [
        {"start_frame": s, "end_frame": e, "score": v, "selected": i in selected} for i, (s, e, v) in enumerate(UNITS)
    ]
    return {"video": video, "fps": fps, "n_frames": 618, "scorer": "coverage", "budget": 0.15, "units": units,
            "selected_units": selected, "has_audio": has_audio}  # fmt: skip


def _read_back(text: str, fmt: str, fps: float) -> dict[str, list[tuple[int, int]]]:
    """(first frame, frame count) of each clip of each track kind, as the format's own OpenTimelineIO adapter reads
    it."""
    extra = {"rate": fps} if fmt == "edl" else {}
    timeline = otio.adapters.read_from_string(text, adapter_name=ADAPTERS[fmt], **extra)
    return {
        track.kind: [
            (round(r.start_time.rescaled_to(fps).value), round(r.duration.rescaled_to(fps).value))
            for r in (c.source_range for c in track.find_clips())
        ]
        for track in timeline.tracks
    }


def _expected(doc: dict) -> list[tuple[int, int]]:
    return [(m.start_frame, m.end_frame - m.start_frame + 1) for m in moments(doc)]


@pytest.mark.parametrize("fps", [25.0, 24.0, NTSC, 24000 / 1001])
@pytest.mark.parametrize("fmt", ["otio", "edl"])
@pytest.mark.parametrize("has_audio", [False, True])
def test_timelines_read_back_to_the_selected_units(fmt, fps, has_audio):
    doc = _doc(fps, [3, 1, 4], has_audio)  # selection order is not time order: clips are in time order
    spans = [(100, 150), (400, 200), (600, 18)]
    assert spans == _expected(doc)
    tracks = {"Video": spans} | ({"Audio": spans} if has_audio and fmt != "edl" else {})  # an EDL: video events
    assert _read_back(export_text(doc, fmt, "file:///media/my%20clip.mp4"), fmt, fps) == tracks


def test_otio_clips_reference_the_source_at_its_rate_with_the_scores():
    timeline = otio.adapters.read_from_string(export_text(_doc(NTSC, [1, 3]), "otio", "file:///m.mp4"), "otio_json")
    clips = list(timeline.find_clips())
    assert [c.metadata["semsum"]["score"] for c in clips] == [0.5, 0.9]
    assert [c.metadata["semsum"]["unit"] for c in clips] == [1, 3]
    assert all(c.media_reference.target_url == "file:///m.mp4" for c in clips)
    assert clips[0].source_range.start_time.rate == NTSC
    assert clips[0].media_reference.available_range.duration.value == 618
    assert clips[1].trimmed_range_in_parent().start_time.value == 150  # back to back in the record


def test_edl_is_cmx3600_with_drop_frame_timecode_at_ntsc():
    text = export_text(_doc(NTSC, [3]), "edl", "file:///m.mp4")
    event = next(line for line in text.splitlines() if line.startswith("001"))
    assert event.split()[-4:] == ["00:00:13;10", "00:00:20;00", "00:00:00;00", "00:00:06;20"]


def test_an_edl_needs_a_timecode_rate():
    with pytest.raises(SemsumError, match=r"clip.mp4: --export edl needs a timecode frame rate .* 12.5 fps"):
        export_text(_doc(12.5, [1]), "edl", "file:///m.mp4")


@pytest.mark.parametrize(("fps", "has_audio"), [(25.0, False), (25.0, True), (10.0, False)])
def test_fcpxml_reads_back_through_its_adapter(fps, has_audio):
    text = export_text(_doc(fps, [1, 3], has_audio), "fcpxml", "file:///m.mp4")
    assert ET.fromstring(text.split("\n", 2)[2]).get("version") == "1.8"
    spans = [(100, 150), (400, 200)]
    assert _read_back(text, "fcpxml", fps) == {"Video": spans} | ({"Audio": spans} if has_audio else {})


@pytest.mark.parametrize("fps", [NTSC, 24000 / 1001, 179 / 6, 12.5])
def test_fcpxml_times_are_exact_at_rational_rates(fps):
    """The adapter's reader rounds a rate down to an int (29.97 -> 29), so the XML's rational times are read here:
    each clip starts and lasts an exact number of the format's frames."""
    root = ET.fromstring(export_text(_doc(fps, [1, 3], True), "fcpxml", "file:///m.mp4").split("\n", 2)[2])
    frame = Fraction(root.find("resources/format").get("frameDuration").removesuffix("s"))
    assert frame == 1 / frame_rate(fps)
    clips = root.findall("project/sequence/spine/clip")
    seconds = [[Fraction(c.get(key).removesuffix("s")) for key in ("start", "duration")] for c in clips]
    assert [[t / frame for t in pair] for pair in seconds] == [[100, 150], [400, 200]]
    assert [c.find("video").get("ref") for c in clips] == [root.find("resources/asset").get("id")] * 2


def test_vtt_chapters_point_at_the_moments_in_the_source():
    vtt = webvtt.from_string(export_text(_doc(NTSC, [3, 1]), "vtt", ""))
    assert [(c.start_in_seconds, c.end_in_seconds) for c in vtt] == [(3, 8), (13, 20)]  # whole seconds, rounded down
    assert [round(c.start_time.in_milliseconds()) for c in vtt] == [3337, 13347]  # 100 and 400 frames at 29.97
    assert [c.text for c in vtt] == ["Moment 1 (score 0.50)", "Moment 2 (score 0.90)"]


@pytest.mark.parametrize(
    ("spec", "formats"), [("otio", ("otio",)), ("VTT, edl,otio,edl", ("vtt", "edl", "otio")), (None, ()), ("", ())]
)
def test_parse_formats(spec, formats):
    assert parse_formats(spec) == formats


def test_an_unknown_format_is_a_one_line_error():
    with pytest.raises(SemsumError, match=r"^--export aaf: unknown format \(choose from otio, edl, fcpxml, vtt\)$"):
        parse_formats("otio,aaf")


@pytest.mark.parametrize(("name", "fps"), [("bikes.mp4", 25.0), ("big_buck_bunny_0_30.webm", 24.0)])
def test_a_real_clips_exports_give_the_units_of_scores_json(tmp_path, shared_media, name, fps):
    """Acceptance: every format of a real clip's summary reads back to the selected units of its scores.json."""
    out = tmp_path / "out"
    extractor = build_extractor(random_init=True, input_size=32)  # features do not matter here: small is fast
    result = summarize(
        shared_media / name, out, CoverageScorer(), extractor, KTSDetector(), show_progress=False, export=list(FILES)
    )
    doc = json.loads(result.scores_path.read_text())
    assert doc["exports"] == list(FILES.values()) and doc["fps"] == fps and doc["query"] is None
    units = [(u["start_frame"], u["end_frame"] - u["start_frame"] + 1) for u in doc["units"] if u["selected"]]
    assert doc["has_audio"] == (name != "bikes.mp4")
    for fmt in ("otio", "edl", "fcpxml"):
        tracks = {"Video": units} | ({"Audio": units} if doc["has_audio"] and fmt != "edl" else {})
        assert _read_back((out / FILES[fmt]).read_text(), fmt, fps) == tracks, fmt
    timeline = otio.adapters.read_from_file(str(out / FILES["otio"]))
    assert {c.media_reference.target_url for c in timeline.find_clips()} == {(shared_media / name).resolve().as_uri()}
    cues = webvtt.read(str(out / FILES["vtt"]))
    assert [round(c.start_time.in_milliseconds()) for c in cues] == [round(s * 1000 / fps) for s, _ in units]


def test_write_exports_names_its_files_and_the_source(tmp_path):
    written = write_exports(tmp_path, _doc(25.0, [1]), ["vtt", "otio"], source_url="my clip.mp4")
    assert [p.name for p in written] == ["chapters.vtt", "timeline.otio"]
    (clip,) = otio.adapters.read_from_file(str(tmp_path / "timeline.otio")).find_clips()
    assert clip.media_reference.target_url == "my clip.mp4"


def test_the_summarize_command_exports_and_refuses_an_unknown_format(tmp_path, shared_media):
    out, fast = tmp_path / "out", ("--random-googlenet", "--input-size", "32", "--shots", "kts")
    result = run_cli("summarize", shared_media / "bikes.mp4", "-o", out, "--export", "vtt,otio", *fast)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "chapters.vtt",
        "scores.json",
        "summary.mp4",
        "timeline.otio",
        "timeline.png",
    ]
    assert f"{out / 'chapters.vtt'}, {out / 'timeline.otio'}" in " ".join(result.output.split())
    line = error_line(run_cli("summarize", shared_media / "bikes.mp4", "-o", tmp_path / "o", "--export", "aaf", *fast))
    assert line == "error: --export aaf: unknown format (choose from otio, edl, fcpxml, vtt)"
    assert not (tmp_path / "o").exists()
