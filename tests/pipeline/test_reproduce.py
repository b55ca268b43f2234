"""`semsum reproduce` end to end on a generated mini-benchmark: report, equality with the single commands, caching."""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from semsum.atomic import read_json
from semsum.cli import app
from semsum.data.h5 import Dataset, load_dataset, save_dataset
from semsum.errors import SemsumError
from semsum.features.mllm import MLLMEmbedder
from semsum.pipeline.extract import extract_dataset
from semsum.pipeline.reproduce import TEMPLATE, ReproduceConfig, build_plan, load_config, reproduce
from semsum.testing import make_tiny_videollava, synthetic_video
from semsum.video.synthetic import make_scene_video

runner = CliRunner()
N_VIDEOS, STEPS = 6, 12  # 12 sampled steps = 180 frames = 6 s at 30 fps


def make_mini_benchmark(root: Path) -> dict[str, Path]:
    """Generated videos, an eccv16 file with synthetic annotations naming them, a two-fold split file."""
    videos = root / "videos"
    videos.mkdir(parents=True)
    rng = np.random.default_rng(0)
    items = {}
    for i in range(N_VIDEOS):
        make_scene_video(videos / f"clip{i}.mp4", (2 + i % 3, 4 - i % 3), fps=30, size=(64, 48), audio=False)
        v = synthetic_video(f"video_{i + 1}", STEPS, dim=16, rng=rng)
        v.video_name = f"clip{i}"
        items[v.key] = v
    save_dataset(root / "mini.h5", Dataset(videos=items, attrs={"generator": "test_reproduce"}))
    keys = sorted(items, key=lambda k: int(k.split("_")[1]))
    folds = [{"train_keys": keys[3:], "test_keys": keys[:3]}, {"train_keys": keys[:3], "test_keys": keys[3:]}]
    (root / "splits.json").write_text(json.dumps(folds))
    return {"h5": root / "mini.h5", "videos": videos, "splits": root / "splits.json"}


CONFIG = """\
mllm = "{mllm}"
prompts = [{prompts}]
summarizers = ["csta"]
inputs = ["features", "features_mllm", "features_mapped", "fused"]
epochs = 1
seeds = [1]
device = "cpu"
[align]
mode = "auto"
epochs = 2
width = 32
[extract]
batch_size = 8
[datasets.mini]
h5 = "mini.h5"
videos = "videos"
splits = "{splits}"
"""


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mini")
    files = make_mini_benchmark(root)
    files["mllm"] = Path(make_tiny_videollava(root / "tiny"))
    return files


def write_config(bench, name: str, prompts: str = '"importance", "summarize"', splits: str = "splits.json") -> Path:
    path = bench["h5"].parent / name
    path.write_text(CONFIG.format(mllm=bench["mllm"], prompts=prompts, splits=splits))
    return path


def fold_numbers(report: dict, **match) -> dict[tuple[int, str], tuple[float, float]]:
    rows = [r for r in report["per_fold"] if all(r[k] == v for k, v in match.items())]
    return {(r["fold"], r["protocol"]): (r["tau"], r["rho"]) for r in rows}


def test_reproduce_report_equals_single_commands_and_recomputes_only_what_changed(bench, tmp_path):
    out = tmp_path / "out"
    config = write_config(bench, "repro.toml")
    result = runner.invoke(app, ["reproduce", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = read_json(out / "report.json")
    assert "MINI-BENCHMARK" in report["status"] and "MINI-BENCHMARK" in (out / "report.md").read_text()
    protocols = {"user_summary", "keyshots"}
    assert [(r["input"], r["summarizer"]) for r in report["table1"]] == [
        ("features", "csta"),
        ("features_mllm", "csta"),
        ("features_mapped", "csta"),
        ("fused", "csta"),
    ]
    for row in report["table1"] + report["table2"]:
        assert set(row["cells"]["mini"]) == protocols
        for cell in row["cells"]["mini"].values():
            assert all(cell[m]["n_seeds"] == 1 and np.isfinite(cell[m]["mean"]) for m in ("tau", "rho", "f1"))
    assert [r["prompt"] for r in report["table2"]] == ["importance", "summarize"]
    assert set(report["fx"]["mini"]) == protocols
    assert {m["mode"] for m in report["mappers"]} <= {"ridge", "regression"} and len(report["mappers"]) == 4
    assert all(set(m["candidates"]) == {"ridge", "regression"} for m in report["mappers"])
    assert set(report["stages"]) == {"extract", "align", "train"}
    assert report["published"]["table1"]["Ours (MLLM embeddings, CSTA)"]["summe"] == [0.267, 0.298]

    # The same steps through the single commands give the same numbers.
    embedder = MLLMEmbedder.from_pretrained(str(bench["mllm"]), "importance", device="cpu", batch_size=8)
    extract_dataset(embedder, bench["h5"], bench["videos"], tmp_path / "mllm.h5", progress=False)
    stored = next(
        p for p in (out / "extract").glob("*/data.h5") if load_dataset(p).attrs["mllm_prompt"] == "importance"
    )
    for a, b in zip(load_dataset(stored), load_dataset(tmp_path / "mllm.h5"), strict=True):
        np.testing.assert_array_equal(a.features["features_mllm"], b.features["features_mllm"])
    fold0 = tmp_path / "fold0.json"
    fold0.write_text(json.dumps(json.loads(bench["splits"].read_text())[:1]))
    common = ["--epochs", "1", "--seed", "1", "--device", "cpu", "--model", "csta"]
    train = ["train", "--h5", str(bench["h5"]), "--splits", str(bench["splits"]), "--out", str(tmp_path / "g")]
    assert runner.invoke(app, [*train, *common]).exit_code == 0
    align = ["align", "train", "--h5", str(tmp_path / "mllm.h5"), "--mode", "auto", "--epochs", "2", "--width", "32"]
    align += ["--splits", str(bench["splits"]), "--fold", "0", "--out", str(tmp_path / "m.pt"), "--device", "cpu"]
    assert runner.invoke(app, align).exit_code == 0
    apply = ["align", "apply", "--mapper", str(tmp_path / "m.pt"), "--h5", str(tmp_path / "mllm.h5")]
    assert runner.invoke(app, [*apply, "--out", str(tmp_path / "mapped.h5")]).exit_code == 0
    train = ["train", "--h5", str(tmp_path / "mapped.h5"), "--splits", str(fold0), "--out", str(tmp_path / "f")]
    assert runner.invoke(app, [*train, *common, "--features-key", "features_mapped"]).exit_code == 0
    for run, match in [("g", {"input": "features"}), ("f", {"input": "features_mapped", "prompt": "importance"})]:
        results = read_json(tmp_path / run / "results.json")
        direct = {
            (f["fold"], p): (f[p]["kendall_tau"], f[p]["spearman_rho"]) for f in results["folds"] for p in protocols
        }
        ours = {k: v for k, v in fold_numbers(report, **match).items() if k[0] in {f["fold"] for f in results["folds"]}}
        assert ours == direct and len(ours) == 2 * len(results["folds"])

    # A second run recomputes nothing, nor one on inputs rewritten with the same bytes (a fresh copy of the data).
    again, ran = reproduce(config, out, progress=False)
    assert ran == []
    assert again["per_fold"] == report["per_fold"]
    for path in (bench["h5"], bench["splits"]):
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)
        os.utime(path, ns=(1, 1))
    assert reproduce(config, out, progress=False)[1] == []

    # Deleting one fold's trained run retrains that fold only.
    google = next(
        p for p in (out / "train").iterdir() if read_json(p / "meta.json")["label"].startswith("train mini features ")
    )
    kept = (google / "run" / "fold_0" / "model.safetensors").stat().st_mtime_ns
    shutil.rmtree(google / "run" / "fold_1")
    _, ran = reproduce(config, out, progress=False)
    assert ran == ["train mini features csta seed 1 folds 0,1"]
    assert read_json(google / "meta.json")["trained_folds"] == [1]
    assert (google / "run" / "fold_0" / "model.safetensors").stat().st_mtime_ns == kept

    # A changed prompt recomputes extraction and what follows it, not the GoogLeNet rows or the other prompt's.
    prompt = bench["h5"].parent / "mine.txt"
    prompt.write_text("USER: " + "<image> " * 8 + "Describe the center frame in one short sentence.")
    changed = write_config(bench, "changed.toml", prompts='"mine.txt", "summarize"')
    report2, ran = reproduce(changed, out, progress=False)
    assert ran[0] == "extract mini prompt mine.txt"
    assert all("mine.txt" in label for label in ran)
    assert sum(label.startswith("align") for label in ran) == 2 and sum(label.startswith("train") for label in ran) == 4
    assert fold_numbers(report2, input="features") == fold_numbers(report, input="features")

    # --only: a stage whose input is missing is named; the report alone recomputes nothing.
    (prompt.parent / "mine2.txt").write_text(prompt.read_text() + " Be brief.")
    with pytest.raises(SemsumError, match=r"extract mini prompt mine2.txt is not computed yet.*--only extract"):
        reproduce(write_config(bench, "other.toml", prompts='"mine2.txt"'), out, only=["train"], progress=False)
    (out / "report.md").unlink()
    assert reproduce(changed, out, only=["report"], progress=False)[1] == []
    assert (out / "report.md").is_file()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('h5 = "mini.h5"', 'h5 = "gone.h5"'), "datasets.mini.h5: "),
        (lambda t: t.replace('["csta"]', '["nope"]'), "summarizers: unknown model 'nope'"),
        (lambda t: t.replace('"importance", "summarize"', '"importance", "nope.txt"'), "prompts: "),
        (lambda t: t.replace('splits = "splits.json"', 'splits = "bad.json"'), "datasets.mini.splits: split 0 names"),
        (lambda t: t.replace('device = "cpu"', 'device = "cpu"\nepoch = 3'), "unknown setting 'epoch'"),
        (lambda t: t.replace("width = 32", "widht = 32"), "align.widht: unknown setting"),
        (lambda t: t.replace('videos = "videos"', ""), "datasets.mini.videos: missing"),
    ],
    ids=[
        "missing-file",
        "unknown-model",
        "unknown-prompt",
        "split-key-absent",
        "unknown-setting",
        "unknown-align",
        "videos-to-extract-missing",
    ],
)
def test_config_errors_are_one_line_naming_the_setting_before_any_work(bench, tmp_path, edit, message):
    (bench["h5"].parent / "bad.json").write_text(json.dumps([{"train_keys": ["video_1"], "test_keys": ["video_99"]}]))
    path = write_config(bench, "bad.toml")
    path.write_text(edit(path.read_text()))
    with pytest.raises(SemsumError, match=message.replace("(", r"\(").replace("[", r"\[")) as err:
        load_config(path)
    assert "\n" not in str(err.value)
    result = runner.invoke(app, ["reproduce", "--config", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and not (tmp_path / "o").exists()


def test_init_writes_a_template_that_parses(tmp_path):
    path = tmp_path / "r.toml"
    result = runner.invoke(app, ["reproduce", "--init", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_text() == TEMPLATE
    with pytest.raises(SemsumError, match=r"datasets.summe.h5: .*no such file"):
        load_config(path)  # the template's data paths do not exist here: named before any work
    assert runner.invoke(app, ["reproduce", "--init", str(path)]).exit_code == 1  # never overwrites


def test_the_plan_lists_every_stage_in_order_and_is_the_progress_total(bench):
    config = load_config(write_config(bench, "plan.toml"))
    plan = build_plan(config)
    per_prompt = ["extract", "train", "train", "align", "train", "align", "train"]  # mllm, fused; 2 folds of F(x)
    assert [s.kind for s in plan] == ["train", *per_prompt, *per_prompt]
    assert len({s.key for s in plan}) == len(plan)
    extract, align = plan[1], plan[4]
    assert align.inputs == (extract,) and plan[5].inputs == (align,) and plan[5].tags["input"] == "features_mapped"
    assert align.settings["extract"] == extract.digest  # a changed extraction changes what reads it


def test_inputs_read_from_the_file_need_no_extraction(bench, tmp_path):
    path = write_config(bench, "own.toml")
    text = path.read_text().replace("inputs = [", 'inputs = ["own"]\n# inputs = [')
    text = text.replace('videos = "videos"\n', "")  # nothing is extracted: no videos needed
    path.write_text(text + '[input_keys]\nown = ["features", "features"]\n')
    config = load_config(path)
    assert [(s.kind, s.settings["config"]["feature_keys"]) for s in build_plan(config)] == [
        ("train", ["features", "features"])
    ]
    report, ran = reproduce(config, tmp_path / "out", progress=False)
    assert ran == ["train mini own csta seed 1 folds 0,1"]
    assert [(r["input"], r["prompt"]) for r in report["table1"]] == [("own", None)]
    assert set(report["stages"]) == {"train"} and not (tmp_path / "out" / "extract").exists()
    text = (tmp_path / "out" / "report.md").read_text()  # the paper's MLLM tables are said to be absent, not empty
    assert "Not in this config: no input is `features_mllm`." in text and "| importance," not in text
    assert "Not in this config: no input is mapped" in text
    bad = path.read_text().replace('own = ["features", "features"]', "own = []")
    path.write_text(bad)
    with pytest.raises(SemsumError, match="input_keys.own: give a list of one or more feature keys"):
        load_config(path)


def test_the_template_is_the_declared_defaults():
    parsed = tomllib.loads(TEMPLATE)
    defaults = ReproduceConfig(datasets=[]).to_dict()
    assert set(parsed) == set(defaults)
    assert {k: v for k, v in parsed.items() if k != "datasets"} == {
        k: v for k, v in defaults.items() if k != "datasets"
    }
    assert set(parsed["datasets"]) == {"summe", "tvsum"}


def test_every_trainer_option_can_be_set_per_summarizer_and_keeps_old_stage_keys_at_its_default():
    from dataclasses import fields

    from semsum.pipeline.reproduce.config import TRAIN_SETTINGS
    from semsum.pipeline.reproduce.plan import ADDED_TRAIN_FIELDS
    from semsum.training import TrainConfig

    set_by_the_plan = {"model", "seed", "device", "feature_keys", "model_kwargs"}
    fixed = {"batch_size", "normalize", "deterministic"}  # the paper's settings, the same in every stage
    names = {f.name for f in fields(TrainConfig)}
    assert names - set_by_the_plan - fixed == set(TRAIN_SETTINGS)
    defaults = TrainConfig().to_dict()
    assert {k: defaults[k] for k in ADDED_TRAIN_FIELDS} == ADDED_TRAIN_FIELDS
