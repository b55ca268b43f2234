"""Windows per second of the MLLM embedder: naive vs vision cache, over batch sizes.

CPU, tiny model (the numbers in benchmarks/mllm.md):
    PYTHONPATH=src python benchmarks/mllm_speed.py --tiny --frames 24 --batch-sizes 1 2 4 8

Real architecture with random weights (Video-LLaVA-7B sizes: CLIP-L/14 224 px towers, Llama-7B), on a GPU:
    PYTHONPATH=src python benchmarks/mllm_speed.py --full-size --device cuda --frames 64 --batch-sizes 1 2 4 8 16
`--text-layers N --vision-layers N` shrink the depth (widths stay full size) for a quick CPU smoke run.
A saved model folder works too: `--model DIR`.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import numpy as np
import torch

from semsum.device import resolve_device
from semsum.features.mllm import MLLMEmbedder
from semsum.features.mllm_load import load_videollava, resolve_dtype
from semsum.testing import make_tiny_videollava


def full_size(
    tokenizer_dir: str, device: torch.device, dtype: torch.dtype, text_layers: int, vision_layers: int, attn: str
):
    """Video-LLaVA-7B's architecture with random weights, built directly on `device` in `dtype`."""
    from transformers import (
        AutoTokenizer,
        CLIPVisionConfig,
        LlamaConfig,
        VideoLlavaConfig,
        VideoLlavaForConditionalGeneration,
        VideoLlavaImageProcessor,
    )

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)  # tiny vocabulary; ids fit in the 32064 rows
    vision = CLIPVisionConfig(
        hidden_size=1024,
        intermediate_size=4096,
        num_hidden_layers=vision_layers,
        num_attention_heads=16,
        image_size=224,
        patch_size=14,
        projection_dim=768,
    )
    text = LlamaConfig(
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=text_layers,
        num_attention_heads=32,
        vocab_size=32064,
        max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id,
    )
    config = VideoLlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
    )
    config._attn_implementation = attn
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with device:
            model = VideoLlavaForConditionalGeneration(config).eval()
    finally:
        torch.set_default_dtype(old)
    return model, tokenizer, VideoLlavaImageProcessor()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--tiny", action="store_true")
    src.add_argument("--full-size", action="store_true")
    src.add_argument("--model")
    ap.add_argument("--frames", type=int, default=24, help="sampled frames = windows per run")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--attn", default="sdpa")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave torch's default)")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per setting; the best is reported")
    ap.add_argument("--text-layers", type=int, default=32)
    ap.add_argument("--vision-layers", type=int, default=24)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            loaded = load_videollava(args.model, device=str(device), dtype=args.dtype, attn=args.attn)
        elif args.tiny:
            loaded = load_videollava(make_tiny_videollava(tmp), device=str(device), dtype=args.dtype)
        else:
            depth = (args.text_layers, args.vision_layers)
            loaded = full_size(make_tiny_videollava(tmp), device, dtype, *depth, args.attn)
    frames = np.random.default_rng(0).integers(0, 256, (args.frames, 360, 640, 3), dtype=np.uint8)
    model = loaded[0]
    n_params = sum(p.numel() for p in model.parameters())
    print(f"# {platform.node()} {device} {dtype} threads={torch.get_num_threads()} params={n_params / 1e9:.2f}B")
    print(f"# {args.frames} windows of 8 frames, 360x640 input frames, attn={model.config._attn_implementation}")
    print("| batch | vision cache | windows/s | s/window | tokens/window |")
    print("|---|---|---|---|---|")
    for batch in args.batch_sizes:
        for cache in (False, True):
            emb = MLLMEmbedder(*loaded, batch_size=batch, vision_cache=cache)
            emb.embed_frames(frames[: min(len(frames), batch + 8)])  # warm-up
            best = float("inf")
            for _ in range(args.repeats):
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                emb.embed_frames(frames)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                best = min(best, time.perf_counter() - t0)
            tokens = len(emb.tokens(emb.prompt.text)[0])
            rate = args.frames / best
            print(f"| {batch} | {'yes' if cache else 'no'} | {rate:.2f} | {1 / rate:.4f} | {tokens} |", flush=True)


if __name__ == "__main__":
    main()
