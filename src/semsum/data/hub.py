"""Runs and mappers on the Hugging Face Hub: `hf://OWNER/NAME[@REVISION][/PATH]` read as a local folder.

`local_path` is what every reader of a run or mapper calls: a local path comes back as it is; an `hf://` one is
downloaded with `huggingface_hub.snapshot_download` into its cache (`HF_HUB_CACHE`, default
`~/.cache/huggingface/hub`), pinned to REVISION (a branch, tag or commit; default `main`), and the snapshot
folder (or PATH inside it) comes back. With `HF_HUB_OFFLINE=1` only the cache is used, and a repository that is
not there is a one-line error at once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from semsum.errors import SemsumError

#: `hf://` as typed; a `pathlib.Path` made from it collapses the slashes to `hf:/`, which is read the same.
_URI = re.compile(r"^hf:/+(?P<repo>[^/@]+/[^/@]+)(?:@(?P<revision>[^/]+))?(?:/(?P<path>.*))?$")


@dataclass(frozen=True)
class HubPath:
    """A parsed `hf://OWNER/NAME[@REVISION][/PATH]`."""

    repo_id: str
    revision: str | None
    path: str

    def __str__(self) -> str:
        rev = f"@{self.revision}" if self.revision else ""
        return f"hf://{self.repo_id}{rev}" + (f"/{self.path}" if self.path else "")


def parse_hub(path: str | os.PathLike[str]) -> HubPath | None:
    """The Hub repository `path` names, or None for a local path; a malformed `hf:` path is a SemsumError."""
    text = os.fspath(path)
    if not text.startswith("hf:"):
        return None
    m = _URI.match(text)
    if m is None:
        raise SemsumError(f"{text}: not a Hub path (expected hf://OWNER/NAME[@REVISION][/PATH])")
    return HubPath(m["repo"], m["revision"], (m["path"] or "").strip("/"))


def local_path(path: str | os.PathLike[str]) -> Path:
    """`path` itself, or for `hf://...` the folder (or file) of its snapshot in the Hugging Face cache."""
    hub = parse_hub(path)
    if hub is None:
        return Path(path)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    import semsum

    try:
        folder = snapshot_download(
            hub.repo_id, revision=hub.revision, library_name="semsum", library_version=semsum.__version__
        )
    except LocalEntryNotFoundError:
        raise SemsumError(
            f"{hub}: not in the Hugging Face cache and the Hub cannot be reached (HF_HUB_OFFLINE or no network); "
            "load it once online"
        ) from None
    except RepositoryNotFoundError:
        raise SemsumError(f"{hub}: no such repository on the Hub (or a private one: `hf auth login`)") from None
    except RevisionNotFoundError:
        raise SemsumError(f"{hub}: the repository has no revision {hub.revision!r}") from None
    except (HFValidationError, OSError) as e:
        raise SemsumError(f"{hub}: cannot download ({e.__class__.__name__}: {str(e).splitlines()[0]})") from None
    return Path(folder) / hub.path if hub.path else Path(folder)
