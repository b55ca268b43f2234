"""The smart-cut writer against a full decode: same frames, copied GOPs bit-exact, re-encoded edges >= 40 dB PSNR,
monotonic timestamps, the audio of the same spans, a chapter per unit; a full re-encode where copying is impossible."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from semsum.video import h264, smartcut, write
from semsum.video.cutcost import Work, full_work, why_not_smart
from semsum.video.smartcut import Edge, GopIndex, copy_range, index_gops
from semsum.video.synthetic import make_scene_video, scene_frame
from semsum.video.write import write_summary


def _yuv(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="yuv420p") for f in c.decode(video=0)]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def _index(path) -> GopIndex | str:
    with av.open(str(path)) as c:
        return index_gops(c, c.streams.video[0])


def _samples(path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray().reshape(f.layout.nb_channels, -1) for f in c.decode(audio=0)], axis=1)


@pytest.fixture(scope="module")
def scenes_h264(tmp_path_factory):
    """A generated H.264/AAC input (x264 with B-frames, a tone per scene): keyframes at the scene cuts."""
    path = tmp_path_factory.mktemp("scenes") / "scenes.mp4"
    make_scene_video(path, scene_seconds=(2, 2, 2, 2), fps=20, size=(96, 64))
    return path


def test_parameter_sets_of_a_real_clip(shared_media):
    with av.open(str(shared_media / "bikes.mp4")) as c:
        extradata = c.streams.video[0].codec_context.extradata
        packet = next(p for p in c.demux(video=0) if p.is_keyframe)
    config = h264.parse_avcc(extradata)
    assert (config.profile, config.length_size, len(config.sps), len(config.pps)) == (100, 4, 1, 1)
    assert config.to_bytes()[: len(extradata)] == extradata  # this encoder left out the High extension bytes
    assert h264.parse_avcc(config.to_bytes()) == config
    assert [h264.param_set_id(u) for u in config.sps + config.pps] == [0, 0]
    assert h264.parse_avcc(b"\x00\x00\x00\x01" + config.sps[0]) is None  # Annex B extradata is not an avcC record
    units = h264.length_prefixed_units(bytes(packet), 4)
    assert h264.to_length_prefixed(units, 4) == bytes(packet)
    assert h264.annexb_units(b"".join(b"\x00\x00\x00\x01" + u for u in units)) == units
    assert [h264.nal_type(u) for u in config.sps + config.pps] == [h264.NAL_SPS, h264.NAL_PPS]


@pytest.mark.parametrize("name", ["bikes.mp4", "car-detection.mp4", "one-by-one-person-detection.mp4", "scenes"])
def test_smart_cut_matches_a_full_decode(tmp_path, shared_media, scenes_h264, name, monkeypatch):
    feed = Edge.feed
    src = scenes_h264 if name == "scenes" else shared_media / name
    index = _index(src)
    assert isinstance(index, GopIndex), index
    n = index.n_frames
    cut = int(index.cuts[1])  # a GOP start: the first span reaches over it, the second starts on one
    mid = int(index.cuts[len(index.cuts) // 2])
    units = [(3, cut + 5), (mid, mid + 4), (n - 45, n - 1)]
    fed = []  # packets decoded by the re-encoded edges, against the cost check's count
    monkeypatch.setattr(
        Edge, "feed", lambda edge, packet, shown=None: fed.append(packet is not None) or feed(edge, packet, shown)
    )
    with av.logging.Capture() as logs:
        written = write_summary(src, tmp_path / "smart.mp4", units, smart_cut=True)
        got = _yuv(tmp_path / "smart.mp4")
    assert written.estimates[0] == Work(sum(fed), written.n_frames - written.copied, written.copied, fed.count(False))
    assert not [m for level, _, m in logs if level <= av.logging.ERROR], logs
    full = _yuv(src)
    expected = [(i, full[i]) for s, e in units for i in range(s, e + 1)]
    assert written.n_frames == len(got) == len(expected) and written.why_encoded == ""
    whole_gops = {i for a, b in zip(index.cuts[:-1], index.cuts[1:], strict=True) for i in range(a, b)
                  if any(s <= a and b - 1 <= e for s, e in units)}  # fmt: skip
    copied = {i for s, e in units for i in range(*copy_range(index, s, e))}  # also up to a clean end inside a GOP
    assert written.copied == len(copied) and copied >= whole_gops and whole_gops
    starts = np.cumsum([0] + [e - s + 1 for s, e in units])[:-1]
    for k, (i, frame) in enumerate(expected):
        if i in copied:
            assert np.array_equal(got[k], frame), f"copied frame {i} differs"
        else:
            assert _psnr(got[k], frame) >= 40, f"re-encoded frame {i}: {_psnr(got[k], frame):.1f} dB"
        if k in starts:  # the first frame of every span is the selected one, not a neighbour
            others = [full[j] for j in (i - 1, i + 1) if 0 <= j < n and not np.array_equal(full[j], frame)]
            assert all(_psnr(got[k], frame) > _psnr(got[k], other) for other in others)
    with av.open(str(tmp_path / "smart.mp4")) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == "h264" and all(a.codec_context.name == "aac" for a in c.streams.audio)
        packets = [p for p in c.demux(v) if p.size]
        chapters = c.chapters()
    dts, shown = [p.dts for p in packets], np.sort([p.pts for p in packets])
    assert np.all(np.diff(dts) > 0)
    assert len(shown) == len(expected) and np.all(np.diff(shown) == shown[1] - shown[0])  # a constant frame rate
    frame_seconds = written.duration / written.n_frames
    assert [float(ch["start"] * ch["time_base"]) for ch in chapters] == pytest.approx(starts * frame_seconds, abs=1e-3)


def test_smart_cut_keeps_the_audio_of_a_full_re_encode(tmp_path, scenes_h264, monkeypatch):
    units = [(5, 84), (100, 159)]  # GOPs of 40 frames (the scenes): each span holds one whole, then edges
    smart = write_summary(scenes_h264, tmp_path / "smart.mp4", units, smart_cut=True)
    monkeypatch.setattr(write, "_gop_index", lambda _: "forced full re-encode")
    full = write_summary(scenes_h264, tmp_path / "full.mp4", units)
    assert smart.copied >= 80 and (full.copied, full.why_encoded) == (0, "forced full re-encode")
    assert (smart.n_frames, smart.duration, smart.has_audio) == (full.n_frames, full.duration, True)
    x, y = _samples(tmp_path / "full.mp4"), _samples(tmp_path / "smart.mp4")
    assert x.shape == y.shape and np.abs(x).max() > 0.1
    assert np.sqrt(np.mean((y - x) ** 2)) < 1e-3
    a, b = _yuv(tmp_path / "full.mp4"), _yuv(tmp_path / "smart.mp4")
    source = _yuv(scenes_h264)
    assert all(_psnr(y_, source[i]) >= _psnr(x_, source[i]) - 1 for x_, y_, i in
               zip(a, b, [i for s, e in units for i in range(s, e + 1)], strict=True))  # fmt: skip


def _vfr_h264(path) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.time_base = Fraction(1, 100)
        for i, t in enumerate([0, 10, 20, 35, 45, 55, 70, 80, 90, 100, 110, 120]):
            frame = av.VideoFrame.from_ndarray(scene_frame(0, i / 12, 64, 48))
            frame.pts, frame.time_base = t, s.codec_context.time_base
            c.mux(s.encode(frame))
        c.mux(s.encode())


def test_full_re_encode_where_packets_cannot_be_copied(tmp_path, shared_media):
    """VP8 WebM, MS-MPEG4 AVI and variable frame timing: every frame re-encoded, the reason said, same frames."""
    vfr = tmp_path / "vfr.mp4"
    _vfr_h264(vfr)
    for src, units, why in [
        (shared_media / "big_buck_bunny_0_30.webm", [(10, 40)], "the video is vp8, not H.264"),
        (shared_media / "vtest.avi", [(10, 40)], "the video is msmpeg4, not H.264"),
        (vfr, [(1, 8)], "variable frame timing (presentation times not a constant step apart)"),
    ]:
        written = write_summary(src, tmp_path / "out.mp4", units)
        assert (written.copied, written.why_encoded, written.n_frames) == (0, why, units[0][1] - units[0][0] + 1)
        got, full = _yuv(tmp_path / "out.mp4"), _yuv(src)
        psnr = [_psnr(g, full[i]) for g, i in zip(got, range(units[0][0], units[0][1] + 1), strict=True)]
        assert min(psnr) > 20 and psnr[0] > _psnr(got[0], full[units[0][0] - 1])  # x264 at crf 25


def test_chapters_of_a_real_clip_are_at_the_unit_starts(tmp_path, shared_media):
    """One chapter per unit, at its start in the summary, titled with the unit's source time (issue 25)."""
    units = [(25, 74), (75, 99), (200, 249)]  # bikes.mp4: 25 fps; the first two adjacent
    write_summary(shared_media / "bikes.mp4", tmp_path / "bikes.mp4", units)
    with av.open(str(tmp_path / "bikes.mp4")) as c:
        chapters = c.chapters()
    assert [float(ch["start"] * ch["time_base"]) for ch in chapters] == pytest.approx([0.0, 2.0, 3.0])
    assert [float(ch["end"] * ch["time_base"]) for ch in chapters] == pytest.approx([2.0, 3.0, 5.0])
    assert [ch["metadata"]["title"] for ch in chapters] == [
        "00:00:01.000-00:00:03.000",
        "00:00:03.000-00:00:04.000",
        "00:00:08.000-00:00:10.000",
    ]


def test_a_selection_without_an_idr_to_copy_from_is_re_encoded(tmp_path, shared_media):
    """bikes.mp4 has IDRs at 30 and 76: a span inside that GOP has nothing to copy, so all of it is re-encoded."""
    written = write_summary(shared_media / "bikes.mp4", tmp_path / "out.mp4", [(31, 60)])
    assert (written.n_frames, written.copied) == (30, 0)
    assert written.why_encoded == "no selected span reaches a keyframe (IDR) to copy from"


def test_the_full_re_encodes_work_is_counted_as_it_decodes():
    """bottle-detection's GOPs (an IDR every 250 frames), the sampling's picks every 15 frames as anchors: the first
    stretch from the IDR at 0, the second (70 frames on, under the 5 s gap) by decoding on, the third from 500;
    with a shorter gap the second is sought: from the IDR at 0 again."""
    cuts = np.array([0, 250, 500, 750, 1000, 1189])
    index = GopIndex(np.arange(1189), cuts, cuts, 1, 0, h264.AvcConfig(100, 0, 30, 4, (), ()))
    runs = [(70, 139), (210, 279), (602, 671)]
    assert full_work(index, runs, np.arange(0, 1189, 15), gap=149) == Work(141 + 140 + 172, 210, 0, 1)
    assert full_work(index, runs, None, gap=149) == Work(672, 210, 0, 1)
    assert full_work(index, runs, np.arange(0, 1189, 15), gap=50) == Work(141 + 281 + 172, 210, 0, 1)  # from 0 again


def test_the_cheaper_writer_is_chosen_and_the_choice_said(tmp_path, shared_media):
    """bottle-detection.mp4 (an IDR every 250 frames): units between its IDRs would be decoded from up to 250 frames
    before them to copy 29 of 210 frames, so all are re-encoded and why is said; one-by-one-person-detection.mp4
    (an IDR every 10 frames) copies all but 8 frames: those of its first span before its IDR and after its clean end."""
    picks = np.arange(0, 1189, 15)
    anchors = (picks, picks / (179 / 6))  # the sampling's picks and their times, as `summarize` passes them
    units = [(70, 139), (210, 279), (602, 671)]
    bottle = write_summary(shared_media / "bottle-detection.mp4", tmp_path / "b.mp4", units, anchors=anchors)
    report = bottle.report()
    assert (report["writer"], report["frames_copied"], report["frames_encoded"]) == ("full re-encode", 0, 210)
    assert report["why_encoded"].startswith("a full re-encode is cheaper: the smart cut would decode 599 and encode")
    assert report["estimates"]["smart_cut"]["copied"] == 29 and report["estimates"]["full_re_encode"]["encoded"] == 210
    one = write_summary(shared_media / "one-by-one-person-detection.mp4", tmp_path / "o.mp4", [(5, 33), (100, 500)])
    report = one.report()
    assert (report["writer"], report["frames_copied"], report["frames_encoded"]) == ("smart cut", 422, 8)
    assert report["why_encoded"] == "" and report["estimates"]["smart_cut"]["copied"] == 422


def test_edges_do_not_decode_frames_nothing_refers_to(tmp_path, shared_media, monkeypatch):
    """An edge decoded from its GOP's start skips the frames before it that no frame refers to (bottle-detection's
    non-reference B-frames, about half its packets; car-detection, Baseline, has none), and still writes the frames
    of the source: the first frame of the span is the selected one, every edge frame >= 40 dB."""
    assert h264.disposable(b"\x00\x00\x00\x02\x01\x88", 4) and not h264.disposable(b"\x00\x00\x00\x02\x21\x88", 4)
    for name, share in (("bottle-detection.mp4", (0.4, 0.6)), ("car-detection.mp4", (0.0, 0.0))):
        with av.open(str(shared_media / name)) as c:
            size = h264.parse_avcc(c.streams.video[0].codec_context.extradata).length_size
            flags = [h264.disposable(bytes(p), size) for p in c.demux(video=0) if p.size]
        assert share[0] <= np.mean(flags) <= share[1], (name, np.mean(flags))
    src, units = shared_media / "bottle-detection.mp4", [(200, 300)]  # an IDR at 250: head 200-249 decoded from 0
    skipped, real = [], smartcut.disposable
    monkeypatch.setattr(smartcut, "disposable", lambda data, n: skipped.append(real(data, n)) or skipped[-1])
    written = write_summary(src, tmp_path / "smart.mp4", units, smart_cut=True)
    assert written.copied > 0 and sum(skipped) >= 80  # of the 200 frames before the span
    full, got = _yuv(src), _yuv(tmp_path / "smart.mp4")
    assert len(got) == 101 and all(_psnr(g, full[200 + k]) >= 40 for k, g in enumerate(got))
    assert _psnr(got[0], full[200]) > _psnr(got[0], full[199])


def test_the_cost_check_smart_cuts_the_ten_minute_videos_kind_of_selection():
    """The first 2 minutes of the generated 720p video, its `--budget 0.2` selection (session 9): the smart cut
    copies 303 of 628 frames, decoding 624 for its 6 edges; it took 35-45 % less CPU than the full re-encode
    (decode 799, encode 628), so it must be chosen. bottle-detection's case (29 of 210 copied) stays re-encoded."""
    assert why_not_smart(Work(624, 325, 303, 6), Work(799, 628, 0, 1)) == ""
    assert why_not_smart(Work(599, 181, 29, 4), Work(453, 210, 0, 1)).startswith("a full re-encode is cheaper")
