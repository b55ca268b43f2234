"""Where benchmark data lives: `--data-dir`, else `$SEMSUM_DATA`, else a per-user cache folder.

Layout under the data dir (the same as the project's `../shared/data`):

    summe/GT/*.mat                       SumMe ground truth (25 files)
    tvsum/ydata-tvsum50-anno.tsv         TVSum per-annotator scores
    tvsum/ydata-tvsum50-info.tsv         TVSum video list
    eccv16_dataset_{summe,tvsum}_google_pool5.h5   optional, the field's feature files
    mrhisum/mr_hisum.h5, mrhisum/metadata.csv      optional, Mr.HiSum (docs/mrhisum.md)
    splits/mrhisum/mr_hisum_split.json   optional, the official Mr.HiSum split
    extra/umt-tvsum/tvsum_umt_features.h5   optional, TVSum I3D/audio/title features (semsum.features.umt)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_VAR = "SEMSUM_DATA"
#: Said by every "missing" error: where the data folder is chosen and what to run.
WHERE_HINT = (
    f"the data folder is --data-dir, else ${ENV_VAR}, else the user cache folder; "
    "`semsum data check` lists what is missing and where to get it"
)


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data folder to use, by precedence: argument, environment variable, user cache."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return Path(platformdirs.user_cache_dir("semsum")) / "data"


@dataclass(frozen=True)
class Resource:
    relpath: str
    what: str
    source: str
    sha256: str | None = None
    required: bool = True
    #: Bytes of the released file, when known: a file of another size cannot match `sha256`, so it is not hashed.
    size: int | None = None


SUMME_GT = Resource(
    "summe/GT",
    "SumMe ground truth (25 .mat files)",
    "https://gyglim.github.io/me/vsum/index.html (SumMe.zip, folder GT/)",
)
TVSUM_ANNO = Resource(
    "tvsum/ydata-tvsum50-anno.tsv", "TVSum annotations", "https://github.com/yalesong/tvsum (ydata-tvsum50.tgz, data/)"
)
TVSUM_INFO = Resource(
    "tvsum/ydata-tvsum50-info.tsv", "TVSum video list", "https://github.com/yalesong/tvsum (ydata-tvsum50.tgz, data/)"
)
_H5_SOURCE = (
    "https://github.com/e-apostolidis/PGL-SUM (data/SumMe, data/TVSum: .rar archives), "
    "or the download links in the DSNet and CSTA READMEs"
)
SUMME_H5 = Resource(
    "eccv16_dataset_summe_google_pool5.h5",
    "SumMe GoogLeNet features",
    _H5_SOURCE,
    "db3816d2504f322c1107fd5e4d8d612380b1f3ca9cb1e5ce06a113f6515ab278",
    required=False,
    size=37099544,
)
TVSUM_H5 = Resource(
    "eccv16_dataset_tvsum_google_pool5.h5",
    "TVSum GoogLeNet features",
    _H5_SOURCE,
    "ec9cbcc715887d30ba2ad46764cb810f07eb6d6241e96c0eac5fca51d398228b",
    required=False,
    size=125126256,
)
H5_FILES = (SUMME_H5, TVSUM_H5)
_MRHISUM = "https://github.com/MRHiSum/MR.HiSum (README, Getting Started)"
MRHISUM_H5 = Resource(
    "mrhisum/mr_hisum.h5",
    "Mr.HiSum labels (gtscore, change_points, gt_summary; features are added from YouTube-8M)",
    f"https://drive.google.com/file/d/1ahLq7h-VE410cVTsRl1Kwno4mIQeQdkr, linked from {_MRHISUM}; then add `features`: "
    "YouTube-8M frame-level features (https://research.google.com/youtube8m/) with that repository's "
    "preprocess/preprocess.py",
    required=False,
)
MRHISUM_META = Resource(
    "mrhisum/metadata.csv",
    "Mr.HiSum metadata (video_id, yt8m_file, random_id, youtube_id, duration, views, labels)",
    f"https://drive.google.com/file/d/1GhUSEzPif5h2sUtHsSK9zn4qlEqeKcgY, linked from {_MRHISUM}",
    required=False,
)
MRHISUM_SPLIT = Resource(
    "splits/mrhisum/mr_hisum_split.json",
    "Mr.HiSum split (train 27,892 / val 2,000 / test 2,000)",
    "https://github.com/MRHiSum/MR.HiSum (dataset/mr_hisum_split.json)",
    "5c571d1d9f00b33662d631d85a62468dfb7599b096dc640d67873a2a0ba93f63",
    required=False,
)
UMT_TVSUM = Resource(
    "extra/umt-tvsum/tvsum_umt_features.h5",
    "TVSum I3D RGB/flow, PANN audio and CLIP title features per 2 s clip (`semsum data import umt-tvsum`)",
    "https://github.com/TencentARC/UMT (tvsum-ec05ad4e.zip), repacked as described in the project's PROVENANCE.md",
    "b17047353cc4ebb6f1b4a57ddabde95b02957303d816f48d793d50d0c4776dbf",
    required=False,
    size=63500541,
)
RESOURCES = (SUMME_GT, TVSUM_ANNO, TVSUM_INFO, *H5_FILES, MRHISUM_H5, MRHISUM_META, MRHISUM_SPLIT, UMT_TVSUM)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class CheckResult:
    resource: Resource
    path: Path
    status: str  # "ok", "missing" or "bad hash"
    detail: str = ""


def check(root: Path) -> list[CheckResult]:
    """What is present under `root`, with sha256 verification of the eccv16 HDF5 files."""
    results = []
    for r in RESOURCES:
        p = root / r.relpath
        if r is SUMME_GT:
            n = len(list(p.glob("*.mat"))) if p.is_dir() else 0
            status, detail = ("ok", f"{n} files") if n == 25 else ("missing", f"{n} of 25 files")
        elif not p.is_file():
            status, detail = "missing", ""
        elif r is MRHISUM_H5:
            from semsum.data.mrhisum import describe

            status, detail = "ok", describe(p)
        elif r.sha256 is not None:
            digest = sha256_file(p)
            status, detail = ("ok", "sha256 matches") if digest == r.sha256 else ("bad hash", f"sha256 {digest}")
        else:
            status, detail = "ok", ""
        results.append(CheckResult(r, p, status, detail))
    return results
