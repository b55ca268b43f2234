"""`semsum summarize DIR -o OUT`: every video into its own folder, a corrupt one named and skipped (exit 2), a
re-run that recomputes nothing, and the same summaries on Ray. One batch over the six real clips (one of them in
a subfolder) and a corrupt file serves the module; Ray runs once, on a part of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clitest import error_line, run_cli
from semsum.errors import SemsumError
from semsum.pipeline.batch import SummaryWork, plan_batch, summarize_folder
from semsum.pipeline.executors import RayExecutor, VideosFailed
from semsum.pipeline.sampling import SamplingConfig
from semsum.pipeline.stages import StageConfig
from semsum.video.probe import find_videos

FAST = ("--random-googlenet", "--input-size", "32", "--shots", "kts", "--stride", "15", "--device", "cpu")
EXPORT = ("otio", "vtt")  # summarize's other outputs come along
STAGES = StageConfig(  # FAST, as the API takes it
    shots="kts",
    scorer="coverage",
    device="cpu",
    sampling=SamplingConfig(stride=15),
    options={"random_googlenet": True, "input_size": 32},
)
OUTPUTS = ["chapters.vtt", "scores.json", "summary.mp4", "timeline.otio", "timeline.png"]
IN_SUBFOLDER = "bikes.mp4"


class _NoModels(SummaryWork):
    def load(self):
        raise AssertionError("a model was loaded")


def _link_videos(folder: Path, clips: list[Path]) -> Path:
    """`folder` with links to `clips` (IN_SUBFOLDER in sub/), a corrupt video (bytes that are no container) and
    a text file."""
    for clip in clips:
        link = folder / ("sub" if clip.name == IN_SUBFOLDER else "") / clip.name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(clip)
    (folder / "corrupt.mp4").write_bytes(bytes(range(256)) * 400)
    (folder / "notes.txt").write_text("not a video")
    return folder


@pytest.fixture(scope="module")
def clips(shared_media) -> list[Path]:
    found = find_videos(shared_media)
    assert len(found) == 6
    return found


@pytest.fixture(scope="module")
def videos(clips, tmp_path_factory) -> Path:
    return _link_videos(tmp_path_factory.mktemp("videos"), clips)


@pytest.fixture(scope="module")
def batch(videos, tmp_path_factory):
    """The batch every test here looks at: the CLI's result and the output folder."""
    out = tmp_path_factory.mktemp("batch") / "out"
    return run_cli("summarize", videos, "-o", out, "--recursive", *FAST, "--export", ",".join(EXPORT)), out


def _keys(clips: list[Path]) -> list[str]:
    return sorted(("sub/" if c.name == IN_SUBFOLDER else "") + c.stem for c in clips)


def _document(folder: Path) -> dict:
    """A summary's scores.json without what names where it was made (the input's path, the cache's)."""
    doc = json.loads((folder / "scores.json").read_text())
    return {k: v for k, v in doc.items() if k not in ("video", "features_cache")}


def test_every_video_is_summarized_and_the_corrupt_one_named(batch, videos, clips):
    result, out = batch
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {videos / 'corrupt.mp4'}: not a readable video")
    report = json.loads((out / "report.json").read_text())
    assert sorted(report["written"]) == sorted(report["computed"]) == _keys(clips) and report["skipped"] == []
    (failure,) = report["failures"]
    assert failure["file"] == str(videos / "corrupt.mp4") and failure["problem"].startswith("not a readable video")
    for key in _keys(clips):
        assert sorted(p.name for p in (out / key).iterdir()) == OUTPUTS, key
        doc = json.loads((out / key / "scores.json").read_text())
        assert Path(doc["video"]).name == Path(key).name + Path(doc["video"]).suffix
        assert doc["sampling"] == {"step": 15} and doc["shot_detector"] == "kts"
    assert not (out / "corrupt").exists() and not (out / "notes").exists()
    assert json.loads((out / "settings.json").read_text())["budget"] == 0.15


def test_a_video_of_the_batch_equals_its_summary_alone(batch, videos, tmp_path):
    _, out = batch
    alone = tmp_path / "alone"
    result = run_cli("summarize", videos / "sub" / IN_SUBFOLDER, "-o", alone, *FAST, "--export", ",".join(EXPORT))
    assert result.exit_code == 0, result.output
    assert _document(alone) == _document(out / "sub" / "bikes")
    for name in (n for n in OUTPUTS if n != "scores.json"):
        assert (alone / name).read_bytes() == (out / "sub" / "bikes" / name).read_bytes(), name


def test_a_rerun_recomputes_nothing_but_an_unfinished_folder(batch, videos, clips):
    _, out = batch
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != "report.json"}
    again = ("summarize", videos, "-o", out, "--recursive", *FAST, "--export", ",".join(EXPORT))
    result = run_cli(*again)
    assert result.exit_code == 2, result.output  # the corrupt file is still there, still named
    report = json.loads((out / "report.json").read_text())
    assert report["computed"] == [] and sorted(report["skipped"]) == _keys(clips) and len(report["failures"]) == 1
    assert {p: p.stat().st_mtime_ns for p in before} == before
    with pytest.raises(VideosFailed) as failed:  # the corrupt file alone left: refused without loading a model
        summarize_folder(videos, out, _NoModels(STAGES, export=EXPORT), recursive=True, show_progress=False)
    assert [f.job.path for f in failed.value.failures] == [videos / "corrupt.mp4"]
    unfinished = out / "sub" / "bikes"
    kept = _document(unfinished)
    (unfinished / "scores.json").unlink()  # as a run killed while writing the folder leaves it
    run_cli(*again)
    assert json.loads((out / "report.json").read_text())["computed"] == ["sub/bikes"]
    assert _document(unfinished) == kept


def test_other_settings_are_refused_before_any_work(batch, videos):
    _, out = batch
    line = error_line(run_cli("summarize", videos, "-o", out, "--recursive", *FAST, "--budget", "0.3"))
    # without --export this time: both settings named
    assert line == (
        f"error: {out}: its summaries were made with other settings (budget, export); "
        "rerun with the same settings or delete that folder"
    )


def test_ray_gives_the_same_summaries(batch, clips, tmp_path, monkeypatch):
    """Two clips and the corrupt file on a local Ray instance (2 CPUs), its workers with a cache of their own (so
    they compute everything): the same folders as the local batch, the corrupt file named."""
    _, local = batch
    some = [c for c in clips if c.name in (IN_SUBFOLDER, "car-detection.mp4")]
    videos = _link_videos(tmp_path / "videos", some)
    monkeypatch.setenv("SEMSUM_CACHE", str(tmp_path / "ray_cache"))  # the workers inherit it
    out = tmp_path / "ray"
    with pytest.raises(VideosFailed) as failed:
        work = SummaryWork(STAGES, export=EXPORT)
        summarize_folder(videos, out, work, True, RayExecutor(num_cpus=2), show_progress=False)
    assert [f.job.path for f in failed.value.failures] == [videos / "corrupt.mp4"]
    report = json.loads((out / "report.json").read_text())
    assert report["executor"] == "ray" and sorted(report["computed"]) == _keys(some)
    assert any((tmp_path / "ray_cache").iterdir())
    for key in _keys(some):
        assert _document(out / key) == _document(local / key), key
        for name in ("summary.mp4", "timeline.png"):
            assert (out / key / name).read_bytes() == (local / key / name).read_bytes(), (key, name)


def test_other_executors_run_with_this_process_thread_count(clips, tmp_path):
    """Float sums depend on how many threads split them: a Ray worker (1 CPU: 1 thread by default) would score a
    little differently from this process, so the work carries this process's count, and loading it applies it."""
    import torch

    class Recording:
        name, shared_disk, retries = "recording", True, 0

        def __init__(self):
            self.works = []

        def run(self, jobs, work):
            self.works.append(work)
            return iter(())

    recording = Recording()
    one = _link_videos(tmp_path / "videos", [c for c in clips if c.name == IN_SUBFOLDER])
    (one / "corrupt.mp4").unlink()
    summarize_folder(one, tmp_path / "out", SummaryWork(STAGES), True, recording, show_progress=False)
    threads = torch.get_num_threads()
    assert [w.threads for w in recording.works] == [threads]
    try:
        SummaryWork(STAGES, threads=1).load()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


def test_plan_names_folders_by_relative_path(tmp_path):
    for name in ("a.mp4", "a.webm", "b.mkv", "sub/a.mp4", "out/old/summary.mp4"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    jobs = plan_batch(tmp_path, tmp_path / "out", recursive=True)  # the output folder's files are no inputs
    assert [(j.key, j.path.relative_to(tmp_path).as_posix()) for j in jobs] == [
        ("a.mp4", "a.mp4"),
        ("a.webm", "a.webm"),
        ("b", "b.mkv"),
        ("sub/a", "sub/a.mp4"),
    ]
    assert [j.key for j in plan_batch(tmp_path, tmp_path / "elsewhere", recursive=False)] == ["a.mp4", "a.webm", "b"]
    with pytest.raises(SemsumError, match="no video files outside the output folder"):
        plan_batch(tmp_path / "out", tmp_path / "out", recursive=True)


def test_folder_options_on_one_file_are_refused(shared_media):
    line = error_line(run_cli("summarize", shared_media / "bikes.mp4", "--recursive", *FAST))
    assert line == f"error: {shared_media / 'bikes.mp4'}: --recursive and --executor are for a folder of videos"
