"""`semsum dataset build --executor local|ray`: same file from both, a killed Ray worker or driver survived, bad
videos reported. One local Ray instance (2 CPUs) serves the whole module."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import ray

from clitest import run_cli
from semsum.pipeline.build import build_dataset
from semsum.pipeline.executors import LocalExecutor, RayExecutor, report_path
from semsum.pipeline.sampling import SamplingConfig
from semsum.pipeline.stages import StageConfig
from semsum.testing import make_tiny_videollava
from semsum.video.synthetic import make_scene_video

N_VIDEOS = 4
TINY = ("--random-googlenet", "--input-size", "32", "--shots", "kts", "--device", "cpu")
STAGES = StageConfig(
    shots="kts", device="cpu", sampling=SamplingConfig(), options={"random_googlenet": True, "input_size": 32}
)


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray instance limited to the machine's 2 cores, for every test here."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    """Tiny two-scene videos of different lengths (32x32, 15 fps)."""
    folder = tmp_path_factory.mktemp("videos")
    for i in range(N_VIDEOS):
        make_scene_video(folder / f"clip{i}.mp4", (1.0, 1.0 + i / 2), fps=15, size=(32, 32), audio=False)
    return folder


@pytest.fixture(scope="module")
def local_h5(videos, tmp_path_factory) -> Path:
    """The reference: the same build by the local executor."""
    out = tmp_path_factory.mktemp("local") / "local.h5"
    build_dataset(videos, out, stages=STAGES, executor=LocalExecutor(), show_progress=False)
    return out


def assert_same_build(a: Path, b: Path, n_videos: int = N_VIDEOS) -> None:
    """Same keys, attributes, picks, shots and frame counts; features equal to 1e-5."""
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert dict(fa.attrs) == dict(fb.attrs)
        assert list(fa) == list(fb) == [f"video_{i}" for i in range(1, n_videos + 1)]
        for key in fa:
            assert sorted(fa[key]) == sorted(fb[key]), key
            for name in fa[key]:
                if name == "features":
                    np.testing.assert_allclose(fa[key][name][()], fb[key][name][()], atol=1e-5, err_msg=key)
                else:
                    np.testing.assert_array_equal(fa[key][name][()], fb[key][name][()], err_msg=f"{key}/{name}")


def test_ray_and_local_give_the_same_file(ray_cluster, videos, local_h5, tmp_path):
    out = tmp_path / "ray.h5"
    build_dataset(videos, out, stages=STAGES, executor=RayExecutor(actors=2), show_progress=False)
    assert_same_build(local_h5, out)
    report = json.loads(report_path(out).read_text())
    assert report["executor"] == "ray" and sorted(report["computed"]) == sorted(report["written"])
    assert report["failures"] == [] and report["sampled_frames"] > 0


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    """A tiny random Video-LLaVA saved as a model folder (each Ray actor loads its own copy)."""
    return str(make_tiny_videollava(tmp_path_factory.mktemp("tiny-videollava")))


def test_ray_and_local_give_the_same_file_with_tiny_videollava(ray_cluster, videos, tiny, tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("clip0.mp4", "clip3.mp4"):
        (folder / name).write_bytes((videos / name).read_bytes())
    stages = StageConfig(encoder="videollava", shots="kts", device="cpu", options={"mllm_model": str(tiny)})
    build_dataset(folder, tmp_path / "local.h5", stages=stages, executor=LocalExecutor(), show_progress=False)
    build_dataset(folder, tmp_path / "ray.h5", stages=stages, executor=RayExecutor(actors=1), show_progress=False)
    with h5py.File(tmp_path / "ray.h5", "r") as f:
        assert f.attrs["encoder"] == "videollava" and f["video_2/features"].shape[0] == len(f["video_2/picks"]) == 4
    assert_same_build(tmp_path / "local.h5", tmp_path / "ray.h5", n_videos=2)


def test_extract_mllm_on_ray_equals_local(ray_cluster, videos, tiny, tmp_path):
    clips = [str(videos / "clip0.mp4"), str(videos / "clip3.mp4")]
    for executor in ("local", "ray"):
        out = tmp_path / f"{executor}.h5"
        args = ["extract", "mllm", *clips, "--mllm-model", tiny, "--out", out, "--device", "cpu"]
        result = run_cli(*args, "--executor", executor)
        assert result.exit_code == 0, result.output
    with h5py.File(tmp_path / "local.h5", "r") as fa, h5py.File(tmp_path / "ray.h5", "r") as fb:
        assert dict(fa.attrs) == dict(fb.attrs) and list(fa) == list(fb) == ["clip0", "clip3"]
        for key in fa:
            assert sorted(fa[key]) == sorted(fb[key])
            np.testing.assert_array_equal(fa[key]["picks"][()], fb[key]["picks"][()])
            np.testing.assert_allclose(fa[key]["features_mllm"][()], fb[key]["features_mllm"][()], atol=1e-5)
            np.testing.assert_allclose(fa[key]["score_mllm"][()], fb[key]["score_mllm"][()], atol=1e-5)


def test_extract_mllm_reports_a_corrupt_loose_video(videos, tiny, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes((videos / "clip0.mp4").read_bytes()[:300])  # header cut
    out = tmp_path / "out.h5"
    result = run_cli(
        "extract", "mllm", videos / "clip0.mp4", bad, "--mllm-model", tiny, "--out", out, "--device", "cpu"
    )
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {bad}: "), result.stderr
    assert [f["file"] for f in json.loads(report_path(out).read_text())["failures"]] == [str(bad)]
    with h5py.File(out, "r") as f:
        assert list(f) == ["clip0"] and f["clip0/features_mllm"].shape[0] == len(f["clip0/picks"])


def _actor_pids(busy: bool) -> list[int]:
    """Ray worker processes holding our actor (its process title), only those inside a video if `busy`."""
    title = "ray::_VideoActor.process" if busy else "ray::_VideoActor"
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if entry.name.isdigit() and cmdline.startswith(title):
            found.append(int(entry.name))
    return found


def test_sigkill_of_a_ray_worker_mid_video_gives_the_same_output(ray_cluster, videos, local_h5, tmp_path):
    killed: list[int] = []
    stop = threading.Event()

    def kill_first_busy_worker() -> None:
        while not stop.is_set() and not killed:
            for pid in _actor_pids(busy=True):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.002)

    killer = threading.Thread(target=kill_first_busy_worker, daemon=True)
    killer.start()
    out = tmp_path / "ray.h5"
    try:
        build_dataset(videos, out, stages=STAGES, executor=RayExecutor(actors=1), show_progress=False)
    finally:
        stop.set()
        killer.join()
    assert killed, "no Ray worker was seen inside a video"
    report = json.loads(report_path(out).read_text())
    assert report["worker_restarts"] >= 1 and report["failures"] == []
    assert_same_build(local_h5, out)


def test_killed_driver_rerun_recomputes_nothing(ray_cluster, videos, local_h5, tmp_path):
    out = tmp_path / "ray.h5"
    args = ["dataset", "build", "--videos", str(videos), "--out", str(out), *TINY, "--executor", "ray"]
    args += ["--ray-address", ray_cluster]
    semsum = Path(sys.executable).with_name("semsum")
    driver = subprocess.Popen([str(semsum), *args], stderr=subprocess.DEVNULL)
    parts = Path(str(out) + ".parts")
    deadline = time.monotonic() + 120
    while not list(parts.glob("video_*/meta.json")) and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    done = sorted(p.parent.name for p in parts.glob("video_*/meta.json"))
    assert 1 <= len(done) < N_VIDEOS, done
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    report = json.loads(report_path(out).read_text())
    assert sorted(report["skipped"]) == done
    assert sorted(report["computed"]) == sorted(set(report["written"]) - set(done))
    assert_same_build(local_h5, out)


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_a_corrupt_video_is_reported_and_the_others_written(ray_cluster, videos, tmp_path, executor):
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("clip0.mp4", "clip1.mp4"):
        (folder / name).write_bytes((videos / name).read_bytes())
    bad = folder / "clip0b.mp4"  # sorts between the good ones: key video_2
    bad.write_text("not a video\n" * 50)
    out = tmp_path / "out.h5"
    result = run_cli("dataset", "build", "--videos", folder, "--out", out, *TINY, "--executor", executor)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {bad}: "), result.stderr
    report = json.loads(report_path(out).read_text())
    assert [f["file"] for f in report["failures"]] == [str(bad)] and report["failures"][0]["problem"]
    assert report["written"] == ["video_1", "video_3"]
    with h5py.File(out, "r") as f:
        assert list(f) == ["video_1", "video_3"] and f["video_3/video_name"][()] == b"clip1"
    bad.write_bytes((videos / "clip2.mp4").read_bytes())  # the file repaired: only it is computed
    result = run_cli("dataset", "build", "--videos", folder, "--out", out, *TINY, "--executor", executor)
    assert result.exit_code == 0, result.output
    report = json.loads(report_path(out).read_text())
    assert report["computed"] == ["video_2"] and report["skipped"] == ["video_1", "video_3"]
    assert report["failures"] == [] and not Path(f"{out}.parts").exists()


def test_parts_made_with_other_settings_are_not_mixed(videos, tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "clip0.mp4").write_bytes((videos / "clip0.mp4").read_bytes())
    (folder / "clip1.mp4").write_text("not a video")  # fails: the good part stays for the re-run
    build = ("dataset", "build", "--videos", folder, "--out", tmp_path / "out.h5", *TINY)
    assert run_cli(*build).exit_code == 2
    (folder / "clip1.mp4").write_bytes((videos / "clip1.mp4").read_bytes())
    result = run_cli(*build, "--stride", "5")
    assert result.exit_code == 1 and "were made with other settings (sampling)" in result.output, result.output
    assert run_cli(*build).exit_code == 0
