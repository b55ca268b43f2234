"""Load Video-LLaVA (model, tokenizer, image processor) from a Hugging Face id or a local folder.

Chooses the device, compute dtype, attention implementation and optional 8-/4-bit quantization; a model that is
neither a complete local folder nor reachable fails at once with what to do (`locate_model`). The embedding and
scoring that use the loaded model are in `semsum.features.mllm`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semsum.device import resolve_device
from semsum.errors import SemsumError

if TYPE_CHECKING:
    import torch

DEFAULT_MODEL = "LanguageBind/Video-LLaVA-7B-hf"


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """`auto`: bfloat16 on GPUs that support it, else float16 on GPU, float32 on CPU."""
    import torch

    if dtype == "auto":
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    names = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if dtype not in names:
        raise SemsumError(f"dtype {dtype!r}: expected auto, {', '.join(names)}")
    return names[dtype]


def resolve_attention(attn: str, device: torch.device, dtype: torch.dtype) -> str:
    """`auto`: FlashAttention-2 on CUDA in 16-bit when the `flash_attn` package is installed, else PyTorch SDPA."""
    import torch

    if attn != "auto":
        return attn
    half = dtype in (torch.float16, torch.bfloat16)
    if device.type == "cuda" and half and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def _quantization(quantize: str | None, device: torch.device, dtype: torch.dtype):
    if quantize is None:
        return None
    if quantize not in ("8bit", "4bit"):
        raise SemsumError(f"quantize {quantize!r}: expected 8bit or 4bit")
    if device.type != "cuda":
        raise SemsumError(f"quantize {quantize}: 8-/4-bit loading needs a CUDA device (got {device})")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise SemsumError(f"quantize {quantize}: needs the bitsandbytes package (pip install bitsandbytes)")
    from transformers import BitsAndBytesConfig

    if quantize == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=dtype)


_OFFLINE_HINT = (
    f"Without internet access, download it on another machine (`hf download {DEFAULT_MODEL} --local-dir DIR`), "
    "copy DIR here and pass --mllm-model DIR"
)
#: What a Video-LLaVA folder must hold: (what, any of these file patterns).
MODEL_FILES = (
    ("the model config", ("config.json",)),
    ("the weights", ("*.safetensors", "pytorch_model*.bin")),
    ("the tokenizer", ("tokenizer.json", "tokenizer.model")),
    ("the image processor config", ("preprocessor_config.json",)),
)


def locate_model(model: str, revision: str | None = None) -> str:
    """`model` as a local folder (checked for every file it needs) or a Hugging Face id that is in the local cache
    or can be downloaded; fails at once, with what to do, when it is neither (no minute of network retries)."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants, snapshot_download

    folder = Path(model).expanduser()
    if folder.is_dir():
        for what, patterns in MODEL_FILES:
            if not any(any(folder.glob(p)) for p in patterns):
                raise SemsumError(f"{folder}: not a complete Video-LLaVA folder: no {' or '.join(patterns)} ({what})")
        return str(folder)
    try:
        return snapshot_download(model, revision=revision, local_files_only=True)
    except Exception:  # not in the local cache (or not a valid id): look online, if online is possible
        pass
    if constants.HF_HUB_OFFLINE:
        raise SemsumError(f"{model}: not in the local Hugging Face cache and HF_HUB_OFFLINE is set. {_OFFLINE_HINT}")
    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=5).close()
    except OSError:
        raise SemsumError(
            f"{model}: not in the local Hugging Face cache and {host} is unreachable. {_OFFLINE_HINT}"
        ) from None
    return model


def load_videollava(
    model: str = DEFAULT_MODEL,
    revision: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    attn: str = "auto",
    quantize: str | None = None,
):
    """Load (model, tokenizer, image processor) from a Hugging Face id or a local folder, ready for inference.

    Tokenizer and image processor are loaded directly rather than through `VideoLlavaProcessor`, whose constructor
    needs torchvision in transformers 5; `<image>` expansion is done here with the processor's own rule.
    """
    model = locate_model(model, revision)  # before the heavy import: a missing model fails at once
    from transformers import AutoImageProcessor, AutoTokenizer, VideoLlavaForConditionalGeneration

    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    quant = _quantization(quantize, dev, torch_dtype)
    kwargs: dict[str, Any] = {"revision": revision}
    try:
        tokenizer = AutoTokenizer.from_pretrained(model, **kwargs)
        image_processor = AutoImageProcessor.from_pretrained(model, **kwargs)
        extra = {"quantization_config": quant, "device_map": {"": dev.index or 0}} if quant else {}
        net = VideoLlavaForConditionalGeneration.from_pretrained(
            model, dtype=torch_dtype, attn_implementation=resolve_attention(attn, dev, torch_dtype), **kwargs, **extra
        )
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SemsumError(f"{model}: cannot load the Video-LLaVA model ({first}). {_OFFLINE_HINT}") from None
    if quant is None:
        net = net.to(dev)
    return net.eval(), tokenizer, image_processor
