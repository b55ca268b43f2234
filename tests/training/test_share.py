"""Sharing runs safely: safetensors + JSON, `hf://` from a local Hub cache in offline mode, `push`, `run convert`.

The Hub is never mocked for reading: the cache is laid out as huggingface_hub lays it out (blobs, refs/main ->
commit, snapshots/COMMIT/files) under a temp HF_HUB_CACHE, and the runs load through semsum's real code in a fresh
process with HF_HUB_OFFLINE=1. Only the upload call itself is stubbed.
"""

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import semsum
from clitest import error_line, run_cli
from semsum.align.mapper import Mapper, MapperConfig, Normalization, apply_mapper, load_mapper, save_mapper
from semsum.data.hub import parse_hub
from semsum.errors import SemsumError
from semsum.testing import make_synthetic_dataset
from semsum.training import load_run
from semsum.training.saved import LEGACY, RECORD, WEIGHTS, load_model
from training.test_training import write_folds

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A `semsum train` run (2 folds, 1 epoch) on a small synthetic file."""
    root = tmp_path_factory.mktemp("share")
    ds = make_synthetic_dataset(root / "syn.h5", n_videos=6, steps=(30, 50), dim=16, seed=2, noise=0.05)
    splits = write_folds(root / "splits.txt", ds.keys(), 2)
    r = cli(
        "train",
        "--h5",
        root / "syn.h5",
        "--splits",
        splits,
        "--model",
        "vasnet",
        "--epochs",
        "1",
        "--out",
        root / "run",
    )
    assert r.returncode == 0, r.stderr
    return root / "syn.h5", root / "run"


def cli(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`semsum ARGS` in a fresh process (so HF_HUB_OFFLINE and HF_HUB_CACHE are read at import, as for a user)."""
    code = "from semsum.cli import app; app()"
    base = {**os.environ, "PYTHONPATH": str(Path(semsum.__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**base, **(env or {})},
    )


def lay_into_cache(folder: Path, cache: Path, repo_id: str, commit: str = COMMIT) -> None:
    """Put `folder` into a Hub cache as huggingface_hub does: blobs by hash, snapshot symlinks, refs/main."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = repo / "snapshots" / commit / path.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)


def offline(cache: Path) -> dict[str, str]:
    return {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(cache.parent / "hf_home")}


def predict(run: object, h5: Path, out: Path, env: dict[str, str] | None = None) -> dict:
    r = cli("predict", "--run", run, "--h5", h5, "--out", out, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())


def test_a_pushed_run_loads_from_the_hub_cache_offline_and_predicts_the_same(trained, tmp_path):
    h5, run = trained
    r = cli("push", run, "hf://someone/vasnet-syn", "--dry-run", tmp_path / "repo")
    assert r.returncode == 0, r.stderr
    files = sorted(str(p.relative_to(tmp_path / "repo")) for p in (tmp_path / "repo").rglob("*") if p.is_file())
    models = [f"fold_{k}/{name}" for k in (0, 1) for name in (RECORD, WEIGHTS)]
    assert files == sorted(["README.md", "config.json", "results.json", "results.md", "scores.json", *models])
    for name in files:  # this machine's folders stay here: paths are shared as file names only
        assert str(h5.parent) not in (tmp_path / "repo" / name).read_text(errors="replace"), name
    assert json.loads((tmp_path / "repo" / "config.json").read_text())["h5"] == h5.name
    lay_into_cache(tmp_path / "repo", tmp_path / "hub", "someone/vasnet-syn")
    local = predict(run, h5, tmp_path / "local.json")
    env = offline(tmp_path / "hub")
    assert predict("hf://someone/vasnet-syn", h5, tmp_path / "hub.json", env) == local
    assert predict(f"hf://someone/vasnet-syn@{COMMIT}", h5, tmp_path / "pinned.json", env) == local
    r = cli("predict", "--run", "hf://someone/vasnet-syn@v2", "--h5", h5, "--out", tmp_path / "x.json", env=env)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "hf://someone/vasnet-syn@v2: not in the" in r.stderr
    assert not (tmp_path / "x.json").exists()


def test_a_run_missing_from_the_cache_offline_is_one_line_in_under_5_s(tmp_path):
    code = (
        "import time; from semsum.data.hub import local_path; from semsum.errors import SemsumError\n"
        "t = time.perf_counter()\n"
        "try: local_path('hf://nobody/nothing')\n"
        "except SemsumError as e: print(f'{time.perf_counter() - t:.3f}'); print(e)\n"
    )
    env = {**os.environ, **offline(tmp_path / "hub"), "PYTHONPATH": str(Path(semsum.__file__).parents[1])}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    seconds, message = r.stdout.splitlines()
    assert float(seconds) < 5, seconds
    assert message.startswith("hf://nobody/nothing: not in the Hugging Face cache")
    start = time.perf_counter()
    r = cli(
        "predict",
        "--run",
        "hf://nobody/nothing",
        "--h5",
        tmp_path / "x.h5",
        "--out",
        tmp_path / "x.json",
        env=offline(tmp_path / "hub"),
    )
    seconds = time.perf_counter() - start  # the whole command, process start included
    assert r.returncode == 1 and r.stderr.splitlines() == [f"error: {message}"]
    assert seconds < 5, seconds


def test_the_model_card_names_every_number_with_its_protocol(trained, tmp_path):
    _, run = trained
    assert run_cli("push", run, "hf://someone/card", "--dry-run", tmp_path / "repo").exit_code == 0
    card = (tmp_path / "repo" / "README.md").read_text()
    meta = card.split("---")[1]
    assert "library_name: semsum" in meta and "video-summarization" in meta and "vasnet" in meta
    assert "semsum predict --run hf://someone/card" in card
    results = json.loads((run / "results.json").read_text())
    rows = [line for line in card.splitlines() if line.startswith("| ") and "(mean over folds)" in line]
    for name in results["protocols"]:
        tau = f"{results['mean_over_folds'][name]['kendall_tau']:.3f}"
        row = next(r for r in rows if r.startswith("| Kendall tau") and f"| {name}: " in r)
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == tau
        assert cells[3] == "k-fold, 2 folds of splits.txt"
        assert cells[4] == results["selection_label"]
        assert cells[5].startswith(results["annotations"]["source"])


def test_push_uploads_the_dry_run_folder(trained, tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    _, run = trained
    seen = {}
    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kw: seen.setdefault("created", repo_id))

    def upload_folder(self, *, repo_id, folder_path, revision, commit_message):
        seen["files"] = sorted(str(p.relative_to(folder_path)) for p in Path(folder_path).rglob("*") if p.is_file())
        seen["where"] = (repo_id, revision)

    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    result = run_cli("push", run, "hf://someone/up@dev")
    assert result.exit_code == 0, result.output
    assert seen["created"] == "someone/up" and seen["where"] == ("someone/up", "dev")
    assert run_cli("push", run, "hf://someone/up", "--dry-run", tmp_path / "repo").exit_code == 0
    assert seen["files"] == sorted(
        str(p.relative_to(tmp_path / "repo")) for p in (tmp_path / "repo").rglob("*") if p.is_file()
    )
    assert "push to hf://OWNER/NAME" in error_line(run_cli("push", run, "someone/up"))
    shutil.copytree(run, tmp_path / "bare")
    (tmp_path / "bare" / "results.json").write_text("{}")
    line = error_line(run_cli("push", tmp_path / "bare", "hf://someone/up", "--dry-run", tmp_path / "bare_repo"))
    assert "results.json: has no 'annotations'" in line and not (tmp_path / "bare_repo").exists()


class Payload:
    """Unpickling this creates a file: what a malicious model.pt would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_crafted_pickle_is_refused_and_never_runs(trained, tmp_path, shared_media):
    h5, _ = trained
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil"
    (evil / "fold_0").mkdir(parents=True)
    (evil / "fold_0" / LEGACY).write_bytes(pickle.dumps({"state_dict": Payload(marker)}, protocol=2))
    torch.save({"state_dict": {}, "x": Payload(marker)}, evil / "mapper.pt")  # a torch zip holding the payload
    r = cli("predict", "--run", evil, "--h5", h5, "--out", tmp_path / "s.json")
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "not opened because unpickling can run code" in r.stderr and "semsum run convert" in r.stderr
    summarize = ["summarize", shared_media / "bikes.mp4", "-o", tmp_path / "o", "--run", evil, "--random-googlenet"]
    assert "not opened because unpickling can run code" in error_line(run_cli(*summarize))
    assert not (tmp_path / "o").exists()
    with pytest.raises(SemsumError, match="pickled mapper"):
        load_mapper(evil / "mapper.pt")
    with pytest.raises(SemsumError, match="not a mapper file"):
        load_mapper(evil / "fold_0" / LEGACY)  # a bare pickle is not read as one either
    assert "add --trust" in error_line(run_cli("run", "convert", evil, tmp_path / "new"))
    # even with --trust, torch's restricted unpickler refuses to call `open`
    assert "not a semsum 0.1 torch file" in error_line(run_cli("run", "convert", evil, tmp_path / "new", "--trust"))
    assert not marker.exists() and not (tmp_path / "new").exists()


def test_an_old_run_converts_with_trust_and_predicts_the_same(trained, tmp_path):
    h5, run = trained
    old = tmp_path / "old"
    for path in run.rglob("*"):
        if path.is_file() and path.name not in (RECORD, WEIGHTS):
            (old / path.relative_to(run)).parent.mkdir(parents=True, exist_ok=True)
            (old / path.relative_to(run)).write_bytes(path.read_bytes())
    for k in (0, 1):  # fold_K/model.pt as semsum 0.1 wrote it: the record with its state_dict, one torch pickle
        record, weights = load_model(run / f"fold_{k}")
        del record["format"], record["semsum_version"]
        (old / f"fold_{k}").mkdir(exist_ok=True)
        torch.save({**record, "state_dict": weights}, old / f"fold_{k}" / LEGACY)
    assert "semsum run convert" in error_line(
        run_cli("predict", "--run", old, "--h5", h5, "--out", tmp_path / "s.json")
    )
    result = run_cli("run", "convert", old, tmp_path / "new", "--trust")
    assert result.exit_code == 0, result.output
    assert not list((tmp_path / "new").rglob("*.pt"))
    assert predict(tmp_path / "new", h5, tmp_path / "new.json") == predict(run, h5, tmp_path / "local.json")


def test_a_mapper_round_trips_converts_and_loads_from_the_hub_cache(tmp_path):
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    mapper = Mapper(
        MapperConfig(in_dim=8, out_dim=12, depth=1, width=16),
        Normalization.fit(rng.normal(size=(40, 8)), rng.normal(size=(40, 12))),
    )
    x = rng.normal(size=(5, 8)).astype(np.float32)
    expected = apply_mapper(mapper, x)
    state = {k: v.detach().clone() for k, v in mapper.state_dict().items()}
    from dataclasses import asdict

    torch.save({"format": "semsum-mapper/1", "config": asdict(mapper.config), "state_dict": state}, tmp_path / "old.pt")
    assert (
        run_cli("run", "convert", tmp_path / "old.pt", tmp_path / "repo" / "mapper.safetensors", "--trust").exit_code
        == 0
    )
    np.testing.assert_array_equal(apply_mapper(load_mapper(tmp_path / "repo" / "mapper.safetensors"), x), expected)
    save_mapper(mapper, tmp_path / "saved.safetensors")
    np.testing.assert_array_equal(apply_mapper(load_mapper(tmp_path / "saved.safetensors"), x), expected)
    lay_into_cache(tmp_path / "repo", tmp_path / "hub", "someone/fx")
    code = (
        "import sys, numpy as np; from semsum.align.mapper import apply_mapper, load_mapper\n"
        "np.save(sys.argv[2], apply_mapper(load_mapper(sys.argv[1]), np.load(sys.argv[3])))\n"
    )
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, **offline(tmp_path / "hub"), "PYTHONPATH": str(Path(semsum.__file__).parents[1])}
    args = ["hf://someone/fx/mapper.safetensors", str(tmp_path / "y.npy"), str(tmp_path / "x.npy")]
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), expected)


def test_hub_paths_parse_and_a_path_object_keeps_them():
    assert str(parse_hub(Path("hf://a/b@v1/sub/m.safetensors"))) == "hf://a/b@v1/sub/m.safetensors"
    assert parse_hub("runs/csta") is None
    with pytest.raises(SemsumError, match="not a Hub path"):
        parse_hub("hf://just-a-name")


def test_load_run_reads_no_pickle(trained):
    _, run = trained
    assert not list(run.rglob("*.pt"))  # nothing pickled is left in a finished run
    assert sorted(load_run(run).fold_models) == [0, 1]


def test_a_train_stream_run_round_trips_through_the_hub_cache(tmp_path):
    from semsum.testing import make_mrhisum_file, write_mrhisum_split

    keys = make_mrhisum_file(tmp_path / "mh.h5", n_videos=12, seconds=(20, 30), dim=16, seed=5, noise=0.05)
    write_mrhisum_split(tmp_path / "split.json", keys, val=2, test=3)
    args = ["--h5", tmp_path / "mh.h5", "--split", tmp_path / "split.json", "--model", "vasnet", "--epochs", "1"]
    result = run_cli("train-stream", *args, "--batch-size", "4", "--workers", "0", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert run_cli("push", tmp_path / "run", "hf://someone/stream", "--dry-run", tmp_path / "repo").exit_code == 0
    assert (tmp_path / "repo" / WEIGHTS).is_file() and "official Mr.HiSum evaluation" in (
        tmp_path / "repo" / "README.md"
    ).read_text()
    lay_into_cache(tmp_path / "repo", tmp_path / "hub", "someone/stream")
    local = predict(tmp_path / "run", tmp_path / "mh.h5", tmp_path / "local.json")
    assert predict("hf://someone/stream", tmp_path / "mh.h5", tmp_path / "hub.json", offline(tmp_path / "hub")) == local


def test_summarize_with_a_run_from_the_hub_cache_offline(tmp_path, shared_media):
    from semsum.training import TrainConfig, train

    ds = make_synthetic_dataset(tmp_path / "g.h5", n_videos=4, steps=(20, 30), dim=1024, seed=1)  # GoogLeNet's width
    cfg = TrainConfig(model="vasnet", epochs=1, device="cpu")
    train(tmp_path / "g.h5", write_folds(tmp_path / "g.txt", ds.keys(), 2), tmp_path / "run", cfg, show_progress=False)
    assert run_cli("push", tmp_path / "run", "hf://someone/g", "--dry-run", tmp_path / "repo").exit_code == 0
    lay_into_cache(tmp_path / "repo", tmp_path / "hub", "someone/g")
    fast = ["--random-googlenet", "--input-size", "32", "--shots", "kts"]
    scores = {}
    for name, run, env in (("local", tmp_path / "run", None), ("hub", "hf://someone/g", offline(tmp_path / "hub"))):
        r = cli("summarize", shared_media / "bikes.mp4", "-o", tmp_path / name, "--run", run, *fast, env=env)
        assert r.returncode == 0, r.stderr
        scores[name] = json.loads((tmp_path / name / "scores.json").read_text())
    assert scores["hub"]["scorer"] == "run hf://someone/g (features)"
    assert scores["hub"]["step_scores"] == scores["local"]["step_scores"]
    # a Hub run that cannot be had is refused before any stage loads: one line, in under 5 s, nothing written
    start = time.perf_counter()
    r = cli(
        "summarize",
        shared_media / "bikes.mp4",
        "-o",
        tmp_path / "x",
        "--run=hf://nobody/nothing",
        *fast,
        env=offline(tmp_path / "hub"),
    )
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "hf://nobody/nothing: not in the" in r.stderr
    assert time.perf_counter() - start < 5 and not (tmp_path / "x").exists()
