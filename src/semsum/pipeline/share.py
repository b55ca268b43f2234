"""`semsum push`: a trained run as a Hugging Face Hub repository, with its model card.

`share_folder` writes exactly what is uploaded: each model's `model.safetensors` and `model.json`, the run's
`config.json`, `results.json`, `results.md` and `scores.json`, and the generated `README.md` (the model card).
Resume checkpoints, TensorBoard logs and anything pickled stay on the machine, and so do local paths: every
absolute path in the JSON files (the training file, the split file, ...) is written as its file name only.
`push` uploads that folder with `huggingface_hub`'s `upload_folder` (one commit), or with `dry_run` only writes it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from semsum.atomic import atomic_folder, atomic_path, read_json, write_json
from semsum.data.hub import HubPath, local_path, parse_hub
from semsum.errors import SemsumError
from semsum.training.card import model_card
from semsum.training.run import load_run
from semsum.training.saved import RECORD, WEIGHTS

RUN_FILES = ("config.json", "results.json", "results.md", "scores.json")


def hub_target(target: str | os.PathLike[str]) -> HubPath:
    """The repository `target` (`hf://OWNER/NAME[@BRANCH]`) names; anything else is a SemsumError."""
    hub = parse_hub(target)
    if hub is None or hub.path:
        raise SemsumError(f"{target}: push to hf://OWNER/NAME[@BRANCH]")
    return hub


def share_folder(run: str | os.PathLike[str], hub: HubPath, out: str | os.PathLike[str]) -> list[str]:
    """Write into the new folder `out` the files `push` uploads for `run`; returns their paths in the repository.

    The run must load (`load_run`: safetensors models, no pickle) and have finished (`results.json`).
    """
    run, out = local_path(run), Path(out)
    trained = load_run(run)
    if not (run / "results.json").is_file():
        raise SemsumError(f"{run}: no results.json (an unfinished run); finish training before pushing it")
    if out.exists() and any(out.iterdir()):
        raise SemsumError(f"{out}: exists and is not empty; give a new folder")
    model_dirs = sorted({Path(m.source).parent.relative_to(run) for m in trained.fold_models.values()})
    files = [f for f in RUN_FILES if (run / f).is_file()]
    files += [str(d / name) for d in model_dirs for name in (WEIGHTS, RECORD)]
    with atomic_folder(out) as tmp:
        for name in files:
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".json"):
                write_json(tmp / name, without_local_paths(read_json(run / name)))
            else:
                shutil.copy2(run / name, tmp / name)
        try:
            card = model_card(read_json(run / "results.json"), read_json(run / "config.json"), hub.repo_id)
        except KeyError as e:
            raise SemsumError(f"{run / 'results.json'}: has no {e} (not written by this semsum's train)") from None
        with atomic_path(tmp / "README.md") as readme:
            readme.write_text(card)
    return sorted([*files, "README.md"])


def without_local_paths(doc: object) -> object:
    """`doc` (parsed JSON) with every absolute path reduced to its file name: what a run says about this machine's
    folders is not shared."""
    if isinstance(doc, dict):
        return {k: without_local_paths(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [without_local_paths(v) for v in doc]
    if isinstance(doc, str) and os.path.isabs(doc):
        return Path(doc).name
    return doc


def push(run: str | os.PathLike[str], target: str, dry_run: str | os.PathLike[str] | None = None) -> list[str]:
    """Upload `run` to `target` (hf://OWNER/NAME[@BRANCH]), creating the repository if needed; with `dry_run`,
    write the folder that would be uploaded there instead. Returns the files' paths in the repository."""
    hub = hub_target(target)
    if dry_run is not None:
        return share_folder(run, hub, dry_run)
    with tempfile.TemporaryDirectory(prefix="semsum-push-") as tmp:
        staging = Path(tmp) / "repo"
        files = share_folder(run, hub, staging)
        _upload(staging, hub, f"semsum push {Path(run).name}")
    return files


def _upload(folder: Path, hub: HubPath, message: str) -> None:
    """`folder` as one commit to `hub` (its branch, else main), the repository created if it does not exist."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    try:
        api = HfApi(library_name="semsum")
        api.create_repo(hub.repo_id, exist_ok=True)
        api.upload_folder(repo_id=hub.repo_id, folder_path=folder, revision=hub.revision, commit_message=message)
    except (HfHubHTTPError, OSError) as e:
        raise SemsumError(f"{hub}: upload failed ({e.__class__.__name__}: {str(e).splitlines()[0]})") from None
