"""`semsum app`: the real server (`python -m semsum app`, random-init GoogLeNet at 64 px) on a free localhost port,
called through gradio_client as any API user would and driven in headless Chromium as a person would.

The browser test needs Debian's `chromium` (`apt-get install -y chromium`; .ci/run installs it) and is skipped,
saying so, where it is missing. With SEMSUM_UPDATE_SCREENSHOT=1 it saves its screenshot as docs/app_screenshot.png
(the README shows it); otherwise only under pytest's tmp folder, so test runs leave the work tree as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import opentimelineio as otio
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from apptest import CHROMIUM, AppServer, app_server, browser_page, summarize_in_page
from semsum.video.decode import probe

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "app_screenshot.png"
MAX_UPLOAD_MB, MAX_MINUTES = 5, 1  # vtest.avi (8.1 MB) is too big, one-by-one-person-detection (2.3 min) too long


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[AppServer]:
    """`semsum app` in a subprocess (random-init GoogLeNet at 64 px), up until the module's tests are done."""
    tmp = tmp_path_factory.mktemp("app_server")
    options = ["--random-googlenet", "--input-size", "64", "--device", "cpu", "--shots", "kts",  # KTS: fast
               "--max-upload-mb", str(MAX_UPLOAD_MB), "--max-minutes", str(MAX_MINUTES),
               "--example-dir", str(tmp / "example")]  # fmt: skip
    try:
        with app_server(tmp, *options) as running:
            assert len(list(tmp.glob("semsum-app-cache-*"))) == 1  # the features of uploads, kept while it runs
            yield running
    except RuntimeError as e:  # it did not start: the server's log says why
        pytest.fail(str(e))
    assert list(tmp.glob("semsum-app-cache-*")) == [], "the server left its features cache behind"


def connect(server: AppServer, downloads: Path) -> Client:
    return Client(server.url, verbose=False, download_files=str(downloads))


def _outputs(result: tuple) -> dict:
    """The /summarize outputs by name, with scores.json read."""
    video, plot, gallery, files, status = result
    scores = next(f for f in files if f.endswith("_scores.json"))
    return {
        "video": Path(video),
        "plot": plot,
        "gallery": gallery,
        "files": [Path(f) for f in files],
        "status": status,
        "scores": json.loads(Path(scores).read_text()),
    }


def test_api_summarizes_a_real_clip_keeping_audio(server, shared_media, tmp_path):
    clip = shared_media / "car-detection.mp4"  # 30.2 s, 12.5 fps, AAC audio
    out = _outputs(connect(server, tmp_path).predict(handle_file(str(clip)), api_name="/summarize"))
    source, summary = probe(clip), probe(out["video"])
    doc = out["scores"]
    assert out["video"].name == "car-detection_summary.mp4"
    assert doc["video"] == "car-detection.mp4" and doc["budget"] == 0.15
    kept = [u for u in doc["units"] if u["selected"]]
    assert kept and doc["summary"]["n_frames"] == sum(u["end_frame"] - u["start_frame"] + 1 for u in kept)
    assert 0 < summary.n_frames == doc["summary"]["n_frames"] <= 0.15 * source.n_frames
    assert summary.has_audio and doc["summary"]["has_audio"]
    assert summary.duration == pytest.approx(doc["summary"]["duration"], abs=0.1)
    assert len(out["gallery"]) == len(kept)
    for unit, item in zip(sorted(kept, key=lambda u: u["start_time"]), out["gallery"], strict=True):
        assert Path(item["image"]).is_file() and item["caption"].startswith(f"{unit['start_time']:.1f}–")
    plot = json.loads(out["plot"]["plot"])
    assert [t["name"] for t in plot["data"]] == ["importance", "selected units (mean score)", "shot boundaries"]
    assert len(plot["data"][0]["x"]) == len(doc["picks"])
    assert "with audio" in out["status"]
    # The timelines and chapters, pointing at the user's file by name; 12.5 fps has no timecode: no EDL.
    files = {f.name.removeprefix("car-detection_"): f for f in out["files"]}
    assert sorted(files) == ["chapters.vtt", "scores.json", "summary.mp4", "timeline.fcpxml", "timeline.otio"]
    offered = [f.name for f in out["files"] if not f.name.endswith(("summary.mp4", "scores.json"))]
    assert sorted(doc["exports"]) == sorted(offered) and len(offered) == 3  # scores.json lists what it came with
    timeline = otio.adapters.read_from_file(str(files["timeline.otio"]))
    spans = sorted((u["start_frame"], u["end_frame"] - u["start_frame"] + 1) for u in kept)
    for track in timeline.tracks:  # video, and audio: the clip has sound
        assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in track] == spans
    assert [t.kind for t in timeline.tracks] == ["Video", "Audio"]
    assert {c.media_reference.target_url for c in timeline.find_clips()} == {"car-detection.mp4"}
    assert server.request_folders() == []  # each request's work folder is gone once it answered


def test_bad_uploads_give_one_line_and_the_server_goes_on(server, shared_media, tmp_path):
    client = connect(server, tmp_path / "downloads")
    not_video = tmp_path / "holiday.mp4"
    not_video.write_text("not a video\n" * 100)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    expected = {
        not_video: "holiday.mp4: not a readable video file",
        empty: "empty.mp4: empty file (0 bytes)",
        shared_media / "one-by-one-person-detection.mp4": "over this server's limit of 1 min",
    }
    for path, message in expected.items():
        with pytest.raises(AppError) as err:
            client.predict(handle_file(str(path)), api_name="/summarize")
        text = str(err.value)
        assert message in text and "\n" not in text and str(server.tmp) not in text
    # Over --max-upload-mb: refused before the upload (Gradio's own check, from the server's config).
    with pytest.raises(ValueError, match="exceeds the maximum file size of 5242880 bytes"):
        client.predict(handle_file(str(shared_media / "vtest.avi")), api_name="/summarize")
    # The next request works; a name made to look like a path names no file outside the request's folder.
    odd = tmp_path / "a..%2F..%2Fbikes; (copy) ü.mp4"
    shutil.copyfile(shared_media / "bikes.mp4", odd)
    out = _outputs(client.predict(handle_file(str(odd)), api_name="/summarize"))
    assert probe(out["video"]).n_frames > 0 and "bikes" in out["scores"]["video"]
    made = r"summary\.mp4|scores\.json|timeline\.(otio|edl|fcpxml)|chapters\.vtt"
    assert all(re.fullmatch(rf"[A-Za-z0-9_.-]+_({made})", f.name) for f in out["files"]) and len(out["files"]) == 6
    # A request to focus on, with a scorer that cannot use one: one line.
    with pytest.raises(AppError, match="--query: scorer coverage cannot use a query"):
        client.predict(
            handle_file(str(shared_media / "bikes.mp4")), 15, "coverage", "kts", "the jumps", api_name="/summarize"
        )
    assert server.request_folders() == []


def test_three_users_at_once_each_get_their_own_summary(server, shared_media, tmp_path):
    requests = [("bikes.mp4", 15), ("bikes.mp4", 40), ("car-detection.mp4", 15)]

    def one(i: int) -> dict:
        name, percent = requests[i]
        client = connect(server, tmp_path / str(i))
        return _outputs(client.predict(handle_file(str(shared_media / name)), percent, api_name="/summarize"))

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(one, range(3)))
    for (name, percent), out in zip(requests, results, strict=True):
        doc = out["scores"]
        assert doc["video"] == name and doc["budget"] == pytest.approx(percent / 100)
        assert 0 < doc["summary"]["fraction"] <= percent / 100
        assert probe(out["video"]).has_audio == (name == "car-detection.mp4")
    assert results[1]["scores"]["summary"]["n_frames"] > results[0]["scores"]["summary"]["n_frames"]
    assert server.request_folders() == []


def test_page_in_headless_chromium(server, shared_media, tmp_path):
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"browser test skipped: no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    external: list[str] = []
    with browser_page(server.url, external) as page:
        summarize_in_page(page, shared_media / "big_buck_bunny_0_30.webm", timeout_s=90)  # real cuts, sound
        duration = page.locator("#summary video").evaluate("v => v.duration")
        page.locator("#importance .js-plotly-plot").wait_for(timeout=30_000)
        thumbs = page.locator("#units img")
        thumbs.first.wait_for(timeout=30_000)
        assert 0 < duration <= 0.15 * 30.1  # the browser plays the summary: its length is known
        assert thumbs.count() >= 1
        assert "big_buck_bunny_0_30.webm" in page.locator("#status").inner_text()
        assert page.locator("#importance .js-plotly-plot .scatterlayer .trace").count() == 3
        page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
        # A file that is not a video: one line in the page, and the page still shows the last summary.
        not_video = tmp_path / "holiday.mp4"
        not_video.write_text("not a video\n" * 100)
        page.locator("#upload button[aria-label='Clear']").click()
        page.locator("#upload input[type=file]").set_input_files(str(not_video))
        page.wait_for_load_state("networkidle")
        page.locator("#summarize").click()
        page.get_by_text("holiday.mp4: not a readable video file").wait_for(timeout=30_000)
    assert external == []  # the page works offline: nothing fetched from anywhere but the server
    if os.environ.get("SEMSUM_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(tmp_path / "app.png", SCREENSHOT)


def test_the_page_shows_summarize_progress_stage_by_stage():
    from semsum.app import _page_progress

    calls = []
    report = _page_progress(lambda *args, **kwargs: calls.append((args, kwargs)), "kts", "coverage")
    for event in [("features", 0, None), ("features", 16, 40), ("shots", 0, None), ("scores", 0, None)]:
        report(*event)
    report("summary", 0, 90)
    report("summary", 45, 90)  # frames written: the page's line does not change
    assert calls == [
        (((0, None),), {"unit": "sampled frames decoded and encoded"}),
        (((16, None),), {"unit": "sampled frames decoded and encoded"}),
        ((0.8,), {"desc": "finding shots (kts)"}),
        ((0.85,), {"desc": "scoring (coverage)"}),
        ((0.9,), {"desc": "selecting units, writing the summary"}),
    ]
