"""`semsum summarize --run` on runs trained on MLLM-space features: real Video-LLaVA (tiny) or F(x)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from clitest import run_cli
from semsum.align.mapper import Mapper, MapperConfig, Normalization, apply_mapper, load_mapper, save_mapper
from semsum.data.h5 import load_dataset, save_dataset
from semsum.features.prompts import load_prompt
from semsum.pipeline.cache import read_entry
from semsum.testing import make_synthetic_dataset, make_tiny_videollava
from semsum.training import TrainConfig, load_run, train

FAST = ("--random-googlenet", "--input-size", "32", "--stride", "30", "--shots", "kts")
TINY_WIDTH = 64  # hidden size of make_tiny_videollava's language model


@pytest.fixture(scope="module")
def mllm_run(tmp_path_factory):
    """A VASNet run trained on `features_mllm` of the tiny model's width, and a 1024 -> 64 mapper."""
    tmp = tmp_path_factory.mktemp("mllm_run")
    ds = make_synthetic_dataset(tmp / "d.h5", n_videos=4, steps=(20, 30), dim=1024, seed=2)
    rng = np.random.default_rng(0)
    proj = rng.normal(size=(1024, TINY_WIDTH)).astype(np.float32) / 32
    for v in ds:
        v.features["features_mllm"] = v.features["features"] @ proj
    tiny = make_tiny_videollava(tmp / "tiny")  # as `semsum extract mllm` records it: the run keeps it
    prompt = load_prompt("importance")
    ds.attrs.update(
        {
            "mllm_model": tiny,
            "mllm_prompt": prompt.name,
            "mllm_prompt_sha256": prompt.sha256,
            "mllm_padding": "edge",
            "mllm_window": np.int64(8),
        }
    )
    save_dataset(tmp / "d.h5", ds)
    keys = ds.keys()
    lines = [f"Synthetic/split{i}/{','.join(k for k in keys if k != t)}/{t}" for i, t in enumerate(keys[:2])]
    (tmp / "s.txt").write_text("\n".join(lines) + "\n")
    cfg = TrainConfig(model="vasnet", feature_keys=("features_mllm",), epochs=1, device="cpu")
    train(tmp / "d.h5", tmp / "s.txt", tmp / "run", cfg, show_progress=False)
    x = np.concatenate([v.features["features"] for v in load_dataset(tmp / "d.h5")])
    mapper = Mapper(MapperConfig(in_dim=1024, out_dim=TINY_WIDTH, depth=1, width=32), Normalization.fit(x, x @ proj))
    save_mapper(mapper, tmp / "mapper.pt")
    wrong = Mapper(MapperConfig(in_dim=1024, out_dim=16, depth=0, width=16), Normalization.fit(x, x[:, :16]))
    save_mapper(wrong, tmp / "wrong.pt")
    return tmp


def test_run_on_mllm_features_through_the_mapper(mllm_run, shared_media, tmp_path):
    run, mapper = mllm_run / "run", mllm_run / "mapper.pt"
    out = tmp_path / "out"
    result = run_cli(
        "summarize",
        shared_media / "bikes.mp4",
        "-o",
        out,
        "--run",
        run,
        "--run-input",
        "mapped",
        "--mapper",
        mapper,
        *FAST,
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "scores.json").read_text())
    assert doc["scorer"] == f"run {run} (features_mllm via F(x))"
    _, cached = read_entry(doc["features_cache"])  # the run's prediction on F(pool5) of these features
    expected = load_run(run).predict(apply_mapper(load_mapper(mapper), cached.features))
    np.testing.assert_allclose(doc["step_scores"], expected - min(expected.min(), 0) + 1e-9, rtol=1e-5, atol=1e-6)


def test_run_on_mllm_features_with_the_mllm_it_was_trained_on(mllm_run, shared_media, tmp_path):
    recorded = json.loads((mllm_run / "run" / "config.json").read_text())["features"]
    assert recorded["mllm_model"] == str(mllm_run / "tiny") and recorded["mllm_window"] == 8
    out = tmp_path / "out"  # no --mllm-model: the run's own model and prompt are used
    run = mllm_run / "run"
    result = run_cli("summarize", shared_media / "bikes.mp4", "-o", out, "--run", run, "--device", "cpu", *FAST)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "scores.json").read_text())
    assert doc["scorer"] == f"run {run} (features_mllm)" and len(doc["step_scores"]) == len(doc["picks"])
    changed = tmp_path / "changed"
    shutil.copytree(run, changed)
    config = json.loads((changed / "config.json").read_text())
    config["features"]["mllm_prompt_sha256"] = "0" * 64
    (changed / "config.json").write_text(json.dumps(config))
    result = run_cli("summarize", shared_media / "bikes.mp4", "-o", tmp_path / "o", "--run", changed, *FAST)
    assert result.exit_code == 1 and "which now reads differently" in result.output


def test_feature_source_errors(mllm_run, shared_media, tmp_path):
    run = mllm_run / "run"
    cases = [
        (("--run-input", "mapped"), "the run needs features_mllm: pass --mapper FILE"),
        (
            ("--run-input", "mapped", "--mapper", mllm_run / "wrong.pt"),
            "trained on 64-d features_mllm; summarize computes 16-d",
        ),
        (("--run-input", "clip"), "unknown --run-input 'clip'"),
    ]
    for extra, message in cases:
        result = run_cli("summarize", shared_media / "bikes.mp4", "-o", tmp_path / "o", "--run", run, *extra, *FAST)
        assert result.exit_code == 1 and message in result.output, result.output
        assert not (tmp_path / "o").exists()
    # The old spelling still works for one release, and says so.
    result = run_cli("summarize", shared_media / "bikes.mp4", "-o", tmp_path / "o", "--run", run, "--features", "clip")
    warning, error = result.output.splitlines()
    assert warning == "warning: `summarize --features` is deprecated (removed in 0.3): use --run-input"
    assert result.exit_code == 1 and error.startswith("error: unknown --run-input 'clip'")


@pytest.mark.parametrize("encoder", ["videollava", "fx"])
def test_mllm_space_encoders_feed_shots_and_scores(mllm_run, shared_media, tmp_path, encoder):
    out = tmp_path / encoder
    # Each encoder takes its own options only: GoogLeNet's go to fx (it runs GoogLeNet), not to videollava.
    videollava = ("--mllm-model", mllm_run / "tiny", "--stride", "30", "--shots", "kts")
    extra = videollava if encoder == "videollava" else ("--mapper", mllm_run / "mapper.pt", *FAST)
    result = run_cli("summarize", shared_media / "bikes.mp4", "-o", out, "--encoder", encoder, *extra)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "scores.json").read_text())
    assert doc["features"]["encoder"] == encoder and doc["features"]["dim"] == TINY_WIDTH
    assert doc["units"][0]["start_frame"] == 0 and any(u["selected"] for u in doc["units"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--encoder", "clip"), "unknown encoder 'clip' (available: fx, googlenet, videollava"),
        (("--shots", "scenes"), "unknown shot detector 'scenes' (available: auto, content, kts, transnetv2"),
        (("--encoder", "fx"), "the fx encoder needs --mapper FILE"),
    ],
)
def test_unknown_or_incomplete_stage_choices_are_one_line_errors(shared_media, tmp_path, args, message):
    result = run_cli("summarize", shared_media / "bikes.mp4", "-o", tmp_path / "o", *FAST, *args)
    assert result.exit_code == 1 and message in result.output, result.output
    assert not (tmp_path / "o").exists()


def test_a_run_on_googlenet_features_needs_the_googlenet_encoder(mllm_run, shared_media, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(mllm_run / "run", run)
    args = ("--run-input", "mapped", "--mapper", mllm_run / "mapper.pt", "--encoder", "fx")
    result = run_cli("summarize", shared_media / "bikes.mp4", "-o", tmp_path / "o", "--run", run, *args, *FAST)
    assert result.exit_code == 1 and "needs GoogLeNet pool5 features; use --encoder googlenet" in result.output


def test_a_run_on_videollava_features_takes_a_query_and_one_on_fx_refuses_it(mllm_run, shared_media, tmp_path):
    """--query reaches the prompt of a run's Video-LLaVA inputs (recorded in scores.json, scores moved); a run fed
    F(x) of GoogLeNet cannot use one and says so before any output."""
    run, docs = mllm_run / "run", {}
    for query in (None, "key action"):
        out = tmp_path / str(query)
        extra = () if query is None else ("--query", query)
        result = run_cli("summarize", shared_media / "bikes.mp4", "-o", out, "--run", run, *extra, *FAST)
        assert result.exit_code == 0, result.output
        docs[query] = json.loads((out / "scores.json").read_text())
    prompt = load_prompt("importance").with_query("key action")
    assert docs["key action"]["query"] == prompt.query_record("key action") and docs[None]["query"] is None
    assert not np.allclose(docs[None]["step_scores"], docs["key action"]["step_scores"], atol=1e-6)
    mapped = ("--run-input", "mapped", "--mapper", mllm_run / "mapper.pt", "--query", "key action")
    result = run_cli("summarize", shared_media / "bikes.mp4", "-o", tmp_path / "o", "--run", run, *mapped, *FAST)
    assert result.exit_code == 1 and "is fed GoogLeNet or F(x) features, which cannot take a query" in result.output
    assert not (tmp_path / "o").exists()
