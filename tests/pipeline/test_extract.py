"""`semsum extract mllm` and its storage: real clip, tiny Video-LLaVA, eccv16 files, resumption."""

from __future__ import annotations

import filecmp
import json
import shutil

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from semsum.cli import app
from semsum.data.h5 import Dataset, VideoData, load_dataset, save_dataset
from semsum.errors import SemsumError
from semsum.features.mllm import MLLMEmbedder, load_videollava
from semsum.features.prompts import load_prompt
from semsum.pipeline.extract import extract_to_h5, frames_at_picks, read_mapping
from semsum.testing import make_tiny_videollava, synthetic_video

CLIP = "bikes.mp4"  # 10 s, 250 frames at 25 fps
STRIDE = 45  # 6 sampled frames, to keep the tests quick


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    return make_tiny_videollava(tmp_path_factory.mktemp("tiny-videollava"))


@pytest.fixture(scope="module")
def embedder(tiny) -> MLLMEmbedder:
    return MLLMEmbedder(*load_videollava(tiny, device="cpu"), batch_size=4)


def h5_contents(path) -> dict:
    """Every dataset and attribute of an HDF5 file, for exact comparison."""
    out: dict = {"/": dict(h5py.File(path, "r").attrs)}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()] if isinstance(obj, h5py.Dataset) else None))
        for name in f:
            out[name + "@"] = dict(f[name].attrs)
    return out


def assert_same_file(a, b) -> None:
    ca, cb = h5_contents(a), h5_contents(b)
    assert ca.keys() == cb.keys()
    for k in ca:
        if isinstance(ca[k], dict):
            assert ca[k].keys() == cb[k].keys()
            for name in ca[k]:
                np.testing.assert_array_equal(ca[k][name], cb[k][name])
        else:
            np.testing.assert_array_equal(ca[k], cb[k], err_msg=k)


def test_cli_on_a_real_clip_loose_video(tiny, shared_media, tmp_path):
    out = tmp_path / "clip.h5"
    args = [
        "extract",
        "mllm",
        str(shared_media / CLIP),
        "--mllm-model",
        tiny,
        "--out",
        str(out),
        "--stride",
        str(STRIDE),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = load_dataset(out)
    video = data["bikes"]
    assert video.n_frames == 250 and video.picks.tolist() == list(range(0, 250, STRIDE))
    assert video.features["features_mllm"].shape == (6, 64) and video.features["features_mllm"].dtype == np.float32
    assert video.extra["fps"] == pytest.approx(25.0) and video.video_name == CLIP
    assert ((video.extra["score_mllm"] >= 0) & (video.extra["score_mllm"] <= 1)).all()
    assert data.attrs["mllm_prompt"] == "importance"
    assert data.attrs["mllm_prompt_sha256"] == load_prompt("importance").sha256
    assert data.attrs["mllm_window"] == 8 and data.attrs["mllm_padding"] == "edge"
    assert data.attrs["mllm_model"] == tiny and data.attrs["mllm_store_dtype"] == "float32"
    assert not out.with_name(out.name + ".parts").exists()
    # zero-shot scores of the same clip straight from the scorer
    direct = direct_scores(tiny, shared_media / CLIP, video.picks)
    np.testing.assert_allclose(direct, video.extra["score_mllm"], rtol=1e-4, atol=1e-6)


def direct_scores(tiny: str, path, picks) -> np.ndarray:
    """Zero-shot scores of the frames of `path` at `picks`, straight from the embedder."""
    embedder = MLLMEmbedder(*load_videollava(tiny, device="cpu"))
    return embedder.embed_stream(frames_at_picks(path, np.asarray(picks))).scores


def clip_dataset(path) -> Dataset:
    """Two eccv16 videos that are the real clip (picks every 45 frames); only the first has a video_name."""
    rng = np.random.default_rng(0)
    videos = [
        VideoData(
            key=f"video_{i}",
            n_frames=250,
            picks=np.arange(0, 250, STRIDE),
            features={"features": rng.normal(size=(6, 16)).astype(np.float32)},
            gtscore=rng.random(6).astype(np.float32),
            user_summary=(rng.random((3, 250)) < 0.15).astype(np.float32),
            change_points=np.array([[0, 124], [125, 249]]),
            n_frame_per_seg=np.array([125, 125]),
        )
        for i in (1, 2)
    ]
    videos[0].video_name = "bikes"
    dataset = Dataset({v.key: v for v in videos}, attrs={"origin": "test"})
    save_dataset(path, dataset)
    return dataset


def test_cli_dataset_copies_every_key_and_maps_videos(tiny, shared_media, tmp_path):
    src = tmp_path / "in.h5"
    original = clip_dataset(src)
    out = tmp_path / "out.h5"
    base = ["extract", "mllm", "--h5", str(src), "--videos", str(shared_media), "--mllm-model", tiny, "--out", str(out)]
    result = CliRunner().invoke(app, [*base, "--device", "cpu"])
    assert result.exit_code == 1 and "video_2: has no video_name; pass --mapping" in result.output
    mapping = tmp_path / "map.csv"
    mapping.write_text("key,file\nvideo_1,bikes.mp4\nvideo_2,bikes.mp4\n")
    scores = tmp_path / "scores.json"
    args = [*base, "--mapping", str(mapping), "--store-dtype", "float16", "--scores-out", str(scores)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = load_dataset(out)
    frame_level = json.loads(scores.read_text())
    assert len(frame_level["video_2"]) == 250
    np.testing.assert_allclose(frame_level["video_2"][45:90], np.full(45, data["video_2"].extra["score_mllm"][1]))
    assert data.attrs["origin"] == "test" and data.attrs["mllm_store_dtype"] == "float16"
    for key, v in original.videos.items():
        got = data[key]
        np.testing.assert_array_equal(got.features["features"], v.features["features"])
        np.testing.assert_array_equal(got.user_summary, v.user_summary)
        np.testing.assert_array_equal(got.gtscore, v.gtscore)
        assert got.features["features_mllm"].shape == (6, 64) and got.features["features_mllm"].dtype == np.float16
    np.testing.assert_array_equal(data["video_1"].features["features_mllm"], data["video_2"].features["features_mllm"])
    replaced = tmp_path / "replaced.h5"
    args = [*base[:-1], str(replaced), "--mapping", str(mapping), "--replace-features"]
    assert CliRunner().invoke(app, args).exit_code == 0
    r = load_dataset(replaced)
    assert set(r["video_1"].features) == {"features"} and r.attrs["mllm_feature_key"] == "features"
    np.testing.assert_allclose(
        r["video_1"].features["features"], data["video_1"].features["features_mllm"], rtol=1e-3, atol=1e-3
    )


def test_missing_model_is_one_clear_cli_error(tmp_path, shared_media):
    missing = str(tmp_path / "nope")
    args = ["extract", "mllm", str(shared_media / CLIP), "--out", "o.h5"]
    result = CliRunner().invoke(app, [*args, "--mllm-model", missing])
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1
    assert (
        result.output.startswith(f"error: {missing}: not in the local Hugging Face cache")
        and "--mllm-model DIR" in result.output
    )
    # The old spellings still work for one release, and say so.
    result = CliRunner().invoke(app, [*args, "--model", missing, "--batch-size", "2"])
    model, batch, error = result.output.splitlines()
    assert result.exit_code == 1 and error.startswith(f"error: {missing}: not in the local Hugging Face cache")
    assert model == "warning: `extract mllm --model` is deprecated (removed in 0.3): use --mllm-model"
    assert batch == "warning: `extract mllm --batch-size` is deprecated (removed in 0.3): use --windows-per-batch"
    result = CliRunner().invoke(app, [*args, "--mllm-model", missing, "--step", "30"])
    assert (
        result.output.splitlines()[0] == "warning: `extract mllm --step` is deprecated (removed in 0.3): use --stride"
    )


def test_interrupted_run_resumes_to_the_identical_file(embedder, shared_media, tmp_path):
    rng = np.random.default_rng(1)
    videos = [synthetic_video(f"video_{i}", 5, dim=8, rng=rng) for i in (1, 2, 3)]
    clip = np.concatenate(list(frames_at_picks(shared_media / CLIP, videos[0].picks)))
    calls: list[str] = []

    def frames_of(video):
        calls.append(video.key)
        shift = int(video.key[-1])  # different frames per video
        yield np.roll(clip, shift, axis=0)

    whole = tmp_path / "whole.h5"
    extract_to_h5(embedder, videos, frames_of, whole)

    def killed_at_video_2(video):
        if video.key == "video_2":
            raise KeyboardInterrupt
        return frames_of(video)

    out = tmp_path / "resumed.h5"
    with pytest.raises(KeyboardInterrupt):
        extract_to_h5(embedder, videos, killed_at_video_2, out)
    assert not out.exists() and (tmp_path / "resumed.h5.parts" / "video_1" / "meta.json").is_file()
    other = MLLMEmbedder(embedder.model, embedder.tokenizer, embedder.image_processor, padding="reflect")
    with pytest.raises(SemsumError, match="other settings \\(mllm_padding\\)"):
        extract_to_h5(other, videos, frames_of, out)
    calls.clear()
    extract_to_h5(embedder, videos, frames_of, out)
    assert calls == ["video_2", "video_3"]  # video_1 was not recomputed
    assert_same_file(whole, out)
    assert filecmp.cmp(whole, out, shallow=False)  # byte for byte


def test_frames_at_picks_checks_the_video(shared_media):
    with pytest.raises(SemsumError, match="picks reach frame 300"):
        list(frames_at_picks(shared_media / CLIP, np.array([0, 150, 300])))
    with pytest.raises(SemsumError, match="expected n_frames=1000"):
        list(frames_at_picks(shared_media / CLIP, np.array([0, 150]), n_frames=1000))
    got = np.concatenate(list(frames_at_picks(shared_media / CLIP, np.array([0, 10, 245]), batch_size=2)))
    assert got.shape == (3, 272, 640, 3)


def test_read_mapping_json_and_csv(tmp_path):
    j = tmp_path / "m.json"
    j.write_text('{"video_1": "a.mp4"}')
    assert read_mapping(j) == {"video_1": "a.mp4"}
    c = tmp_path / "m.csv"
    c.write_text("video_1,a b.mp4\nvideo_2\n")
    with pytest.raises(SemsumError, match="row 2"):
        read_mapping(c)


def test_summarize_zero_shot_on_a_real_clip(tiny, shared_media, tmp_path):
    """`semsum summarize --scorer zero-shot`: bikes.mp4 -> zero-shot scores -> knapsack -> summary.mp4."""
    out = tmp_path / "summary"
    args = ["summarize", str(shared_media / CLIP), "-o", str(out), "--scorer", "zero-shot", "--mllm-model", tiny]
    fast = ["--random-googlenet", "--input-size", "64", "--shots", "kts"]  # KTS: no TransNetV2 pass, shots not tested
    result = CliRunner().invoke(app, [*args, "--step", str(STRIDE), *fast])
    assert result.exit_code == 0, result.output
    # --step is the old spelling of --stride: it still works for one release, and says so.
    assert "warning: `summarize --step` is deprecated (removed in 0.3): use --stride" in result.output.splitlines()
    doc = json.loads((out / "scores.json").read_text())
    assert doc["scorer"].startswith("zero-shot") and (out / "summary.mp4").is_file() and doc["selected_units"]
    direct = direct_scores(tiny, shared_media / CLIP, doc["picks"])
    np.testing.assert_allclose(doc["step_scores"], direct + 1e-9, rtol=1e-4, atol=1e-6)


def test_mrhisum_file_through_metadata_one_window_per_second(tiny, shared_media, tmp_path):
    """A Mr.HiSum file's videos found by youtube_id, one window per labelled second; the output is the Mr.HiSum file's
    groups with features_mllm added; a download much shorter than its labels fails alone; missing files are counted."""
    from semsum.data.mrhisum import MrHiSumFile
    from semsum.testing import make_mrhisum_file
    from semsum.video.write import Mp4Writer

    h5 = tmp_path / "mr_hisum.h5"
    make_mrhisum_file(h5, n_videos=3, seconds=(11, 11), features=False)  # the release: labels only
    videos = tmp_path / "downloads"
    videos.mkdir()
    shutil.copy(shared_media / CLIP, videos / "abcDEF12345.mp4")  # 10 s for 11 labelled seconds: the last repeats
    short = Mp4Writer(videos / "short000000.mp4", 25, 64, 48)  # 3 s for 11: a different or truncated file
    for i in range(75):
        short.add_frame(np.full((48, 64, 3), i * 3, np.uint8))
    short.close()
    meta = tmp_path / "metadata.csv"
    meta.write_text(
        "video_id,yt8m_file,random_id,youtube_id,duration,views,labels\n"
        "video_1,a.tfrecord,r1,abcDEF12345,10,100,x\nvideo_2,a.tfrecord,r2,short000000,3,100,x\n"
        "video_3,a.tfrecord,r3,gone0000000,11,100,x\n"
    )
    out, scores = tmp_path / "mllm.h5", tmp_path / "zero_shot.json"
    args = ["extract", "mllm", "--h5", str(h5), "--videos", str(videos), "--mapping", str(meta), "--mllm-model", tiny]
    args += ["--out", str(out), "--scores-out", str(scores)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "1 of 3 videos have no file" in result.output, result.output
    assert "short000000.mp4: 3 s of video, but the labels have 11 s" in result.output
    with MrHiSumFile(out, features_key="features_mllm") as f, MrHiSumFile(h5) as src:
        assert f.keys() == ["video_1"]
        video = f.read("video_1")  # checked as any Mr.HiSum video
        assert video.features.shape == (11, 64)
        np.testing.assert_array_equal(video.gtscore, src.read("video_1", features=False).gtscore)
        assert f._group("video_1")["score_mllm"].shape == (11,)
    (videos / "short000000.mp4").unlink()  # the re-run reuses video_1's part; video_2 now has no file
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 of 3 videos have no file" in result.output
    per_second = json.loads(scores.read_text())
    assert list(per_second) == ["video_1"] and len(per_second["video_1"]) == 11
    result = CliRunner().invoke(app, ["evaluate", str(scores), "--dataset", "mrhisum", "--h5", str(h5)])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("key,file\nvideo_1,x.mp4\n")
    result = CliRunner().invoke(app, [*args[:7], str(bad), *args[8:]])
    assert result.exit_code != 0 and "needs the columns video_id and youtube_id" in result.output
