"""The `semsum` command line: a thin layer over the package's API.

Every command turns a SemsumError into one line on stderr and exit status 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from semsum.errors import SemsumError


class _Group(TyperGroup):
    """Report SemsumError as `error: <message>` (one line) and exit 1, for every subcommand."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SemsumError as e:
            typer.echo(f"error: {e}", err=True)
            ctx.exit(1)


def _typer(help: str) -> typer.Typer:
    return typer.Typer(
        cls=_Group, help=help, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False
    )


app = _typer("Video summarization with semantic embeddings from multimodal LLMs.")
console = Console()

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Benchmark data folder (default: $SEMSUM_DATA, else a user cache folder)."),
]

# ---------------------------------------------------------------- data
data_app = _typer("Benchmark data: what is present and where to get the rest.")
app.add_typer(data_app, name="data")


@data_app.command("check")
def data_check(data_dir: DataDir = None) -> None:
    """Verify the annotations and eccv16 HDF5 files (sha256) and say where to get what is missing."""
    from semsum.data import paths

    root = paths.data_dir(data_dir)
    results = paths.check(root)
    table = Table(title=f"semsum data in {root}")
    for col in ("file", "status", "detail", "get it from"):
        table.add_column(col)
    for r in results:
        style = {"ok": "green", "missing": "yellow" if not r.resource.required else "red"}.get(r.status, "red")
        table.add_row(
            r.resource.relpath, f"[{style}]{r.status}[/]", r.detail, "" if r.status == "ok" else r.resource.source
        )
    console.print(table)
    bad = [r for r in results if r.status == "bad hash" or (r.status == "missing" and r.resource.required)]
    if bad:
        raise SemsumError(
            f"{root}: {len(bad)} required file(s) missing or corrupt: " + ", ".join(r.resource.relpath for r in bad)
        )


# ---------------------------------------------------------------- extract
extract_app = _typer("Compute features for a dataset file or for loose videos.")
app.add_typer(extract_app, name="extract")


@extract_app.command("mllm")
def extract_mllm(
    videos: Annotated[list[Path] | None, typer.Argument(help="Loose video files (instead of --h5/--videos).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Output eccv16 HDF5 file (written atomically).")] = ...,
    h5: Annotated[Path | None, typer.Option("--h5", help="Input eccv16 dataset; every key is copied.")] = None,
    videos_dir: Annotated[Path | None, typer.Option("--videos", help="Folder with the dataset's videos.")] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="JSON {key: file} or CSV key,file (default: video_name).")
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help="Hugging Face id or local folder of a Video-LLaVA (-hf) model.")
    ] = "LanguageBind/Video-LLaVA-7B-hf",
    revision: Annotated[str | None, typer.Option("--revision", help="Model revision (hub only).")] = None,
    prompt: Annotated[str, typer.Option("--prompt", help="importance, summarize, or a prompt file.")] = "importance",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per forward pass.")] = 4,
    vision_cache: Annotated[
        bool, typer.Option("--vision-cache/--no-vision-cache", help="Encode each frame once for its 8 windows.")
    ] = True,
    padding: Annotated[str, typer.Option("--padding", help="Window edges: edge (repeat) or reflect.")] = "edge",
    step: Annotated[int, typer.Option("--step", help="Loose videos: sample every STEP-th frame.")] = 15,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N.")] = "auto",
    dtype: Annotated[str, typer.Option("--dtype", help="auto (bf16/fp16 on GPU), float32, bfloat16.")] = "auto",
    attn: Annotated[str, typer.Option("--attn", help="auto (flash_attention_2 if installed, else sdpa).")] = "auto",
    quantize: Annotated[str | None, typer.Option("--quantize", help="8bit or 4bit (CUDA + bitsandbytes).")] = None,
    replace_features: Annotated[
        bool, typer.Option("--replace-features", help="Write the embeddings as `features` instead of features_mllm.")
    ] = False,
    store_dtype: Annotated[str, typer.Option("--store-dtype", help="float32 or float16.")] = "float32",
) -> None:
    """MLLM semantic embeddings (paper Eq. 1) per sampled frame, plus zero-shot scores; resumable per video."""
    from semsum.features import mllm

    if bool(videos) == (h5 is not None):
        raise SemsumError("extract mllm: give either VIDEO files or --h5 DATASET.h5 with --videos DIR")
    if h5 is not None and videos_dir is None:
        raise SemsumError(f"{h5}: --videos DIR is needed to find the dataset's videos")
    embedder = mllm.MLLMEmbedder.from_pretrained(
        model,
        prompt,
        revision=revision,
        device=device,
        dtype=dtype,
        attn=attn,
        quantize=quantize,
        batch_size=batch_size,
        vision_cache=vision_cache,
        padding=padding,
    )
    options = {"replace_features": replace_features, "store_dtype": store_dtype, "progress": True}
    if h5 is not None:
        dataset = mllm.extract_dataset(embedder, h5, videos_dir, out, mapping, **options)
    else:
        dataset = mllm.extract_videos(embedder, videos, out, step, **options)
    console.print(f"wrote {out}: {len(dataset)} videos, {sum(v.n_steps for v in dataset)} windows")
