"""`semsum reproduce` for the real-TVSum track (issue 22): ridge and the shuffled-label control as plan stages,
per-summarizer training settings, modality inputs of the file, on a tiny file in the imported file's schema."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from semsum.data.h5 import load_dataset, save_dataset
from semsum.errors import SemsumError
from semsum.pipeline.reproduce import build_plan, load_config, reproduce
from semsum.pipeline.reproduce.plan import evaluated_as
from semsum.testing import make_synthetic_dataset

CONFIG = """\
summarizers = ["vasnet"]
inputs = ["visual", "visual+audio"]
epochs = 2
seeds = [1, 2]
select = "val"
device = "cpu"
ridge = true
control = ["vasnet"]
[input_keys]
visual = ["features"]
"visual+audio" = ["features", "features_audio"]
[train.vasnet]
lr = 1e-3
standardize = true
[datasets.tvsum_i3d]
h5 = "tiny_i3d.h5"
splits = "splits.json"
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """Eight synthetic videos with the imported file's extra streams (audio per step, the title repeated)."""
    root = tmp_path_factory.mktemp("i3d")
    make_synthetic_dataset(root / "tiny_i3d.h5", n_videos=8, steps=(20, 30), dim=12, seed=3, noise=0.05)
    ds, rng = load_dataset(root / "tiny_i3d.h5"), np.random.default_rng(1)
    for v in ds:
        n = len(v.features["features"])
        v.features["features_audio"] = rng.normal(size=(n, 6)).astype(np.float32)
        v.features["features_title"] = np.repeat(rng.normal(size=(1, 4)).astype(np.float32), n, axis=0)
    save_dataset(root / "tiny_i3d.h5", ds)
    keys = ds.keys()
    folds = [{"train_keys": [k for k in keys if k not in keys[i::2]], "test_keys": keys[i::2]} for i in range(2)]
    (root / "splits.json").write_text(json.dumps(folds))
    (root / "track.toml").write_text(CONFIG)
    return root / "track.toml"


def test_the_track_plans_ridge_the_control_and_every_seed(tiny):
    plan = build_plan(load_config(tiny))
    assert [s.label for s in plan] == [
        "train tvsum_i3d visual vasnet seed 1 folds 0,1",
        "train tvsum_i3d visual vasnet seed 2 folds 0,1",
        "train tvsum_i3d visual+audio vasnet seed 1 folds 0,1",
        "train tvsum_i3d visual+audio vasnet seed 2 folds 0,1",
        "ridge tvsum_i3d visual",
        "ridge tvsum_i3d visual+audio",
        "control tvsum_i3d: shuffled labels",
        "train tvsum_i3d visual, shuffled labels vasnet seed 1 folds 0,1",
        "train tvsum_i3d visual, shuffled labels vasnet seed 2 folds 0,1",
    ]
    config = plan[0].settings["config"]
    assert (config["lr"], config["standardize"], config["select"]) == (1e-3, True, "val")
    assert plan[-1].inputs == plan[-2].inputs == (plan[-3],)


def test_the_track_runs_resumes_and_recomputes_only_what_a_setting_changes(tiny, tmp_path):
    report, ran = reproduce(tiny, tmp_path / "out", progress=False)
    assert len(ran) == 9
    protocol = report["per_fold"][0]["protocol"]  # the file's own user summaries: not a benchmark's protocol
    rows = {(r["input"], r["summarizer"]): r["cells"]["tvsum_i3d"][protocol]["tau"] for r in report["table1"]}
    assert set(rows) == {
        ("visual", "vasnet"),
        ("visual+audio", "vasnet"),
        ("visual", "ridge"),
        ("visual+audio", "ridge"),
        ("visual, shuffled labels", "vasnet"),
    }
    assert rows[("visual", "vasnet")]["n_seeds"] == 2 and rows[("visual, shuffled labels", "vasnet")]["n_seeds"] == 2
    # the ridge rows are the probe's own results (`semsum baseline ridge --json`), one per input
    probes = sorted((tmp_path / "out" / "baseline").glob("*/results.json"))
    assert len(probes) == 2
    for path in probes:
        results = json.loads(path.read_text())
        name = "visual" if results["feature_keys"] == ["features"] else "visual+audio"
        taus = [f[protocol]["kendall_tau"] for f in results["folds"]]
        assert rows[(name, "ridge")]["mean"] == pytest.approx(np.mean(taus))
    assert report["status"].startswith("MINI-BENCHMARK")  # not TVSum's frame counts
    assert "| visual, ridge |" in (tmp_path / "out" / "report.md").read_text()
    assert reproduce(tiny, tmp_path / "out", progress=False)[1] == []
    # the file's own annotations asked for by name: what `auto` evaluated against already, so nothing runs again
    h5 = tiny.with_name("h5.toml")
    h5.write_text(tiny.read_text().replace('splits = "splits.json"', 'splits = "splits.json"\nannotations = "h5"'))
    assert reproduce(h5, tmp_path / "out", progress=False)[1] == []
    tiny.with_name("lr.toml").write_text(tiny.read_text().replace("lr = 1e-3", "lr = 1e-4"))
    assert reproduce(tiny.with_name("lr.toml"), tmp_path / "out", progress=False)[1] == [
        "train tvsum_i3d visual vasnet seed 1 folds 0,1",
        "train tvsum_i3d visual vasnet seed 2 folds 0,1",
        "train tvsum_i3d visual+audio vasnet seed 1 folds 0,1",
        "train tvsum_i3d visual+audio vasnet seed 2 folds 0,1",
        "train tvsum_i3d visual, shuffled labels vasnet seed 1 folds 0,1",
        "train tvsum_i3d visual, shuffled labels vasnet seed 2 folds 0,1",
    ]


def test_an_earlier_config_keeps_its_train_stage_keys(tiny):
    """Options added to `semsum train` stay out of a stage's settings at their defaults: old stores stay valid."""
    text = tiny.read_text().split("[input_keys]")[0].replace('ridge = true\ncontrol = ["vasnet"]\n', "")
    path = tiny.with_name("plain.toml")
    path.write_text(text + '[input_keys]\nvisual = ["features"]\n"visual+audio" = ["features"]\n')
    path.write_text(path.read_text() + '[datasets.tvsum_i3d]\nh5 = "tiny_i3d.h5"\nsplits = "splits.json"\n')
    config = build_plan(load_config(path))[0].settings["config"]
    assert not {"standardize", "dropout", "lr_grid"} & set(config)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("[train.vasnet]", "[train.csta]"), "train.csta: give a table for one of the summarizers (vasnet)"),
        (("standardize = true", "momentum = 1"), "train.vasnet.momentum: unknown setting"),
        (("lr = 1e-3", "dropout = 2.0"), "train.vasnet: dropout must be in"),
        (('control = ["vasnet"]', 'control = ["csta"]'), "control: 'csta' is not among the summarizers"),
        (('splits = "splits.json"', 'splits = "splits.json"\nannotations = "otani"'), "annotations is 'otani'; one of"),
    ],
)
def test_track_settings_errors_name_the_setting(tiny, edit, message):
    path = tiny.with_name("bad.toml")
    path.write_text(tiny.read_text().replace(*edit))
    with pytest.raises(SemsumError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(path)


def test_the_shipped_config_plans_the_whole_table(shared_data, tmp_path):
    """benchmarks/umt_tvsum.toml, pointed at a stand-in file with the 50 TVSum keys: every row of the table."""
    import h5py

    with h5py.File(tmp_path / "tvsum_i3d.h5", "w") as f:
        for i in range(1, 51):
            f.create_group(f"video_{i}")
    text = (Path(__file__).parents[1] / "benchmarks" / "umt_tvsum.toml").read_text()
    text = text.replace('"../tvsum_i3d.h5"', json.dumps(str(tmp_path / "tvsum_i3d.h5")))
    text = text.replace('"../../shared/data/splits', json.dumps(str(shared_data / "splits"))[:-1])
    (tmp_path / "track.toml").write_text(text)
    config = load_config(tmp_path / "track.toml")
    plan = build_plan(config)
    trains = [s for s in plan if s.kind == "train"]
    assert len(trains) == 3 * 4 * 3 + 3 and [s.kind for s in plan].count("baseline") == 4
    assert {(s.tags["summarizer"], s.settings["config"]["lr"]) for s in trains} == {
        ("vasnet", 1e-4),
        ("pgl-sum", 1e-4),
        ("csta", 1e-3),
    }
    assert all(s.settings["config"]["select"] == "val" for s in trains)
    assert plan[-1].label == "train tvsum_i3d visual, shuffled labels vasnet seed 3 folds 0,1,2,3,4"


@pytest.mark.parametrize(
    ("asked", "benchmark", "note", "kept"),
    [
        ("auto", "tvsum", "annotations missing: the file's user_summary", True),
        ("tvsum", "tvsum", "annotations missing: the file's user_summary", False),  # the fallback: evaluate again
        ("tvsum", "tvsum", None, True),
        ("tvsum", "summe", None, False),
        ("h5", None, None, True),
        ("h5", "tvsum", None, False),
    ],
)
def test_stored_results_evaluated_against_other_annotations_are_evaluated_again(tmp_path, asked, benchmark, note, kept):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"annotations": {"benchmark": benchmark, "note": note}}))
    assert evaluated_as(results, asked) is kept
    assert evaluated_as(tmp_path / "absent.json", asked) is (asked == "auto")
