"""The `videollava` encoder: Video-LLaVA window embeddings (`semsum.features.mllm`) as a registered stage, with its
options declared once (`extract mllm` takes the same ones and loads it the same way)."""

from __future__ import annotations

from dataclasses import dataclass

from semsum.features.mllm import DEFAULT_MODEL, MLLMEmbedder
from semsum.registry import declares, option


@dataclass(frozen=True)
class MllmModelOptions:
    """Which Video-LLaVA: the `videollava` encoder's, and that of the scorers that run one."""

    mllm_model: str | None = option(
        None, f"Video-LLaVA (-hf) id or local folder (default: {DEFAULT_MODEL.split('/')[-1]}, or a run's own)."
    )


@dataclass(frozen=True)
class VideoLlavaOptions(MllmModelOptions):
    """The `videollava` encoder's options: the model, how it is loaded, the prompt and the windows."""

    revision: str | None = option(None, "Video-LLaVA model revision (hub only).")
    prompt: str = option("importance", "Video-LLaVA prompt: importance, summarize, or a prompt file.")
    dtype: str = option("auto", "Video-LLaVA dtype: auto (bf16/fp16 on GPU), float32, bfloat16.")
    attn: str = option("auto", "Video-LLaVA attention: auto (flash_attention_2 if installed, else sdpa).")
    quantize: str | None = option(None, "Video-LLaVA weights in 8bit or 4bit (CUDA + bitsandbytes).")
    windows_per_batch: int = option(4, "Video-LLaVA windows (8 frames each) per forward pass.")
    vision_cache: bool = option(True, "Video-LLaVA: encode each frame once for its 8 windows.")
    padding: str = option("edge", "Video-LLaVA window edges: edge (repeat) or reflect.")


@declares(VideoLlavaOptions)
def make_videollava(options: VideoLlavaOptions, device: str = "auto") -> MLLMEmbedder:
    """Entry-point factory of the `videollava` encoder."""
    embedder = MLLMEmbedder.from_pretrained(
        options.mllm_model or DEFAULT_MODEL,
        options.prompt,
        revision=options.revision,
        device=device,
        dtype=options.dtype,
        attn=options.attn,
        quantize=options.quantize,
        batch_size=options.windows_per_batch,
        vision_cache=options.vision_cache,
        padding=options.padding,
    )
    embedder.options = options
    return embedder
