"""Semantic embeddings from Video-LLaVA over 8-frame windows (paper Sec. 3.2, Eq. 1), and zero-shot scores.

For each sampled frame t the window is the sampled frames t-4 ... t+3 (t at index 4, `CENTER`); at the video's
edges the missing frames repeat the first or last frame (`padding="edge"`, the default) or mirror around it
(`"reflect"`: t-1, t-2, ... become t+1, t+2, ...). The eight frames enter as the prompt's eight `<image>`
inputs; each expands to the vision tower's patch tokens (256 for CLIP-L/14 at 224 px), followed by the text and
the assistant opener (see `semsum.features.prompts`).

The embedding (Eq. 1) is the mean over all N prompt tokens (visual and text, padding excluded) of the last
entry of `hidden_states` as transformers returns it: the output of the language model's final RMSNorm, which
transformers ties to `last_hidden_state` (the tensor the LM head reads). It is `hidden_size`-d (4096 for 7B).

The zero-shot score comes from the same forward pass: the tokens of `SCORE_SUFFIX` ("Score: 0.") are appended
after the assistant opener, and the next-token distribution at its last token, restricted to the ten digit tokens
and renormalised, gives score = E[digit] / 9 in [0, 1] (the expected first decimal of "Score: 0.d", rescaled).
Causal attention means the appended tokens cannot change the hidden states of the prompt tokens, so the
embedding is the same with or without scoring (tested).

Speed: windows run in batches (right padding, mask-aware mean); with `vision_cache=True` every sampled frame goes
through the vision tower and projector once and its visual tokens are reused by the 8 windows that contain it
(passed to the model as `mm_encoder_outputs`); frames stream through so memory stays bounded on long videos.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semsum.atomic import write_json
from semsum.data.h5 import Dataset, PartsWriter, VideoData
from semsum.errors import SemsumError
from semsum.features.prompts import IMAGE_TOKEN, Prompt, load_prompt

if TYPE_CHECKING:
    import torch

DEFAULT_MODEL = "LanguageBind/Video-LLaVA-7B-hf"
WINDOW = 8
CENTER = 4
PADDINGS = ("edge", "reflect")
FEATURE_KEY = "features_mllm"
SCORE_KEY = "score_mllm"
POOLING = "mean of hidden_states[-1] (final RMSNorm output) over all prompt tokens, padding excluded"
SCORING = "E[digit]/9 of the next-token distribution over digits 0-9 after the assistant opener + 'Score: 0.'"


def window_indices(
    n_steps: int,
    size: int = WINDOW,
    center: int = CENTER,
    padding: str = "edge",
    steps: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """[len(steps), size] sampled-frame indices of each window; step t sits at column `center`."""
    if padding not in PADDINGS:
        raise SemsumError(f"window padding {padding!r}: expected one of {', '.join(PADDINGS)}")
    if not 0 <= center < size:
        raise SemsumError(f"window centre {center}: must lie in [0, {size})")
    steps = np.arange(n_steps) if steps is None else np.asarray(steps, dtype=np.int64)
    idx = steps[:, None] + (np.arange(size) - center)[None, :]
    if padding == "edge" or n_steps == 1:
        return np.clip(idx, 0, n_steps - 1)
    period = 2 * (n_steps - 1)
    idx = np.abs(idx) % period
    return np.where(idx >= n_steps, period - idx, idx)


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `hidden` [B, T, D] over the positions where `mask` [B, T] is 1, in float32 -> [B, D]."""
    m = mask.float().unsqueeze(-1)
    return (hidden.float() * m).sum(1) / m.sum(1).clamp_min(1.0)


def image_tokens_per_frame(config: Any) -> int:
    """Visual tokens one `<image>` expands to: patches (+ CLS unless the "default" strategy drops it)."""
    vision = config.vision_config
    n = (vision.image_size // vision.patch_size) ** 2 + 1
    return n - 1 if config.vision_feature_select_strategy == "default" else n


def resolve_device(device: str = "auto") -> torch.device:
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise SemsumError(f"device {device!r}: not a torch device (use auto, cpu, cuda, cuda:1, ...)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SemsumError(f"device {device!r}: CUDA is not available on this machine")
    return dev


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
        raise SemsumError(
            f"{model}: cannot load the Video-LLaVA model ({first}). Without internet access, download it on another "
            f"machine (`hf download {DEFAULT_MODEL} --local-dir DIR`), copy DIR here and pass "
            "`--model DIR` (in Python: model='DIR')"
        ) from None
    if quant is None:
        net = net.to(dev)
    return net.eval(), tokenizer, image_processor


@dataclass
class EmbedResult:
    """Per sampled frame: `embeddings` [n_steps, D] float32, `scores` [n_steps] in [0, 1] (None if not scored)."""

    embeddings: np.ndarray
    scores: np.ndarray | None


class MLLMEmbedder:
    """Window embeddings (and zero-shot scores) for a stream of sampled frames, with a loaded Video-LLaVA."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        image_processor: Any,
        prompt: Prompt | None = None,
        *,
        window: int = WINDOW,
        center: int = CENTER,
        padding: str = "edge",
        batch_size: int = 4,
        vision_cache: bool = True,
        score: bool = True,
        model_id: str = "",
        revision: str | None = None,
    ):
        self.prompt = prompt or load_prompt("importance", window)
        if self.prompt.n_images != window:
            raise SemsumError(f"prompt {self.prompt.name}: has {self.prompt.n_images} images, window is {window}")
        window_indices(1, window, center, padding)  # validates the policy
        if batch_size < 1:
            raise SemsumError(f"batch size {batch_size}: must be at least 1")
        self.model, self.tokenizer, self.image_processor = model, tokenizer, image_processor
        self.window, self.center, self.padding = window, center, padding
        self.batch_size, self.vision_cache = batch_size, vision_cache
        self.score = score and self.prompt.score_suffix is not None
        self.model_id = model_id or str(getattr(model.config, "_name_or_path", ""))
        self.revision = revision or getattr(model.config, "_commit_hash", None) or "local"
        config = model.config
        self.image_token_id = config.image_token_id
        self.image_token = tokenizer.convert_ids_to_tokens(self.image_token_id)
        self.tokens_per_image = image_tokens_per_frame(config)
        crop = getattr(image_processor, "crop_size", None) or {}
        if crop and crop.get("height") != config.vision_config.image_size:
            raise SemsumError(
                f"{self.model_id}: image processor crops to {crop.get('height')} px but the vision tower expects "
                f"{config.vision_config.image_size} px"
            )
        digits = tokenizer.convert_tokens_to_ids([str(d) for d in range(10)])
        if self.score and (tokenizer.unk_token_id in digits or None in digits):
            raise SemsumError(f"{self.model_id}: tokenizer has no single-digit tokens 0-9; cannot read a score")
        self.digit_ids = digits
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._token_cache: dict[str, tuple[list[int], int]] = {}

    @classmethod
    def from_pretrained(
        cls,
        model: str = DEFAULT_MODEL,
        prompt: str = "importance",
        *,
        revision: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        attn: str = "auto",
        quantize: str | None = None,
        **kwargs: Any,
    ) -> MLLMEmbedder:
        """Load the model (Hugging Face id or local folder) and a prompt by name or file."""
        window = kwargs.get("window", WINDOW)
        loaded = load_videollava(model, revision, device, dtype, attn, quantize)
        return cls(*loaded, load_prompt(prompt, window), model_id=model, revision=revision, **kwargs)

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def dtype(self) -> torch.dtype:
        return self.model.dtype

    def metadata(self) -> dict[str, Any]:
        """What produced the embeddings, stored as HDF5 attributes next to them."""
        return {
            "mllm_model": self.model_id,
            "mllm_revision": self.revision,
            "mllm_prompt": self.prompt.name,
            "mllm_prompt_sha256": self.prompt.sha256,
            "mllm_window": self.window,
            "mllm_center": self.center,
            "mllm_padding": self.padding,
            "mllm_tokens_per_frame": self.tokens_per_image,
            "mllm_compute_dtype": str(self.dtype).removeprefix("torch."),
            "mllm_pooling": POOLING,
            "mllm_score": SCORING if self.score else "none",
        }

    # ---- text side
    def tokens(self, text: str) -> tuple[list[int], int]:
        """Token ids of a prompt with every `<image>` expanded, plus the score suffix; and N, the prompt's length."""
        if text not in self._token_cache:
            expanded = text.replace(IMAGE_TOKEN, self.image_token * self.tokens_per_image)
            ids = list(self.tokenizer(expanded)["input_ids"])
            n_visual = sum(i == self.image_token_id for i in ids)
            if n_visual != self.window * self.tokens_per_image:
                raise SemsumError(
                    f"{self.model_id}: prompt {self.prompt.name} tokenizes to {n_visual} image tokens, expected "
                    f"{self.window} x {self.tokens_per_image} (is {self.image_token!r} a special token?)"
                )
            suffix = []
            if self.score:
                suffix = self.tokenizer(self.prompt.score_suffix, add_special_tokens=False)["input_ids"]
            self._token_cache[text] = (ids + list(suffix), len(ids))
        return self._token_cache[text]

    def encode(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Right-padded batch: input_ids, attention_mask, embed_mask (the N prompt tokens), last token's index."""
        import torch

        rows = [self.tokens(t) for t in texts]
        width = max(len(ids) for ids, _ in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        embed_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for b, (ids, n_prompt) in enumerate(rows):
            input_ids[b, : len(ids)] = torch.tensor(ids)
            attention[b, : len(ids)] = 1
            embed_mask[b, :n_prompt] = 1
        last = torch.tensor([len(ids) - 1 for ids, _ in rows])
        dev = self.device
        return {
            "input_ids": input_ids.to(dev),
            "attention_mask": attention.to(dev),
            "embed_mask": embed_mask.to(dev),
            "last": last.to(dev),
        }

    # ---- vision side
    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 RGB frames [b, H, W, 3] -> pixel values [b, 3, S, S] on the model's device and dtype."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise SemsumError(f"frames: expected uint8 RGB [b, H, W, 3], got {frames.dtype} {frames.shape}")
        out = self.image_processor(images=list(frames), return_tensors="pt", return_legacy_image_output=False)
        return out["pixel_values"].to(self.device, self.dtype)

    def vision_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Projected visual tokens [b, tokens_per_frame, hidden] (vision tower + multimodal projector)."""
        import torch

        with torch.inference_mode():
            return self.model.model.get_image_features(pixel_values=pixel_values, return_dict=True).pooler_output

    # ---- windows
    def forward_windows(self, units: torch.Tensor, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One batch of windows: `units` [B*window, ...] are projected visual tokens (vision cache) or pixel values.

        Returns embeddings [B, D] float32 and scores [B] (or None).
        """
        import torch
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        enc = self.encode(texts)
        if self.vision_cache:
            visual = {"mm_encoder_outputs": {"image": BaseModelOutputWithPooling(pooler_output=units)}}
        else:
            visual = {"pixel_values": units}
        with torch.inference_mode():
            out = self.model.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], **visual)
            hidden = out.last_hidden_state  # == hidden_states[-1]: after the final RMSNorm
            emb = masked_mean(hidden, enc["embed_mask"])
            if not self.score:
                return emb, None
            last = hidden[torch.arange(len(texts), device=hidden.device), enc["last"]]
            logits = self.model.lm_head(last)[:, self.digit_ids].float()
            probs = logits.softmax(-1)
            return emb, probs @ torch.arange(10.0, device=probs.device) / 9.0

    def embed_stream(
        self, batches: Iterable[np.ndarray], on_windows: Callable[[int], None] | None = None
    ) -> EmbedResult:
        """Embed every sampled frame of a video, given as consecutive uint8 RGB batches [b, H, W, 3].

        Windows are formed and run as soon as their frames have arrived; units no window needs any more are
        dropped, so memory holds about `batch_size + window` frames whatever the video's length.
        """
        import torch

        units: dict[int, torch.Tensor] = {}
        embs: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        received = next_t = 0
        unbounded = np.iinfo(np.int64).max // 4  # mid-stream the video's end is unknown: pad only on the left
        reach = max(self.center, self.window - 1 - self.center)  # no later window reaches further back

        def run(final: bool) -> None:
            nonlocal next_t
            while next_t < received:
                steps = np.arange(next_t, min(next_t + self.batch_size, received))
                rows = window_indices(received if final else unbounded, self.window, self.center, self.padding, steps)
                if not final:
                    ready = int(np.argmin(np.append(rows.max(1) < received, False)))
                    if ready < self.batch_size:
                        return
                    rows = rows[:ready]
                flat = torch.stack([units[int(i)] for i in rows.reshape(-1)])
                emb, score = self.forward_windows(flat, [self.prompt.text] * len(rows))
                embs.append(emb.cpu().numpy())
                if score is not None:
                    scores.append(score.cpu().numpy())
                next_t += len(rows)
                for k in [k for k in units if k < next_t - reach]:
                    del units[k]
                if on_windows is not None:
                    on_windows(len(rows))

        for frames in batches:
            px = self.preprocess(frames)
            new = self.vision_features(px) if self.vision_cache else px
            for i in range(len(new)):
                units[received + i] = new[i]
            received += len(new)
            run(final=False)
        if received == 0:
            raise SemsumError("frames: the video yielded no sampled frames")
        run(final=True)
        return EmbedResult(
            np.concatenate(embs).astype(np.float32), np.concatenate(scores).astype(np.float32) if scores else None
        )

    def embed_frames(self, frames: np.ndarray) -> EmbedResult:
        """All sampled frames of one video at once, uint8 RGB [n_steps, H, W, 3]."""
        return self.embed_stream([frames])

    def embed_sampled(self, video: Any, batch_size: int = 16) -> EmbedResult:
        """Embed a `semsum.scoring.SampledVideo` (the summarize pipeline's video), decoding its sampled frames again.

        This is how `semsum summarize` gets `features_mllm` for a new video when a run was trained on it.
        """
        result = self.embed_stream(frames for _, frames in video.iter_frames(batch_size=batch_size))
        if len(result.embeddings) != video.n_steps:
            got = len(result.embeddings)
            raise SemsumError(f"{video.path}: decoded {got} sampled frames, expected {video.n_steps}")
        return result


class ZeroShotScorer:
    """A training-free summarizer scorer: the MLLM's own answer to the Importance Score prompt, per sampled frame.

    It reads the score from the same forward pass as the embedding (see the module docstring), so it costs one
    7B pass per sampled frame and needs no training data.
    """

    name = "zero-shot (training-free: Video-LLaVA's expected answer to the paper's Importance Score prompt)"

    def __init__(self, embedder: MLLMEmbedder):
        if not embedder.score:
            raise SemsumError(f"prompt {embedder.prompt.name}: zero-shot scoring needs the importance prompt")
        self.embedder = embedder

    @classmethod
    def from_pretrained(cls, model: str = DEFAULT_MODEL, **kwargs: Any) -> ZeroShotScorer:
        return cls(MLLMEmbedder.from_pretrained(model, "importance", **kwargs))

    def __call__(self, video: Any) -> np.ndarray:
        """The `semsum.scoring.Scorer` interface: scores [n_steps] in [0, 1] for a SampledVideo."""
        return self.embedder.embed_sampled(video).scores

    def score_stream(self, batches: Iterable[np.ndarray]) -> np.ndarray:
        """Importance in [0, 1] per sampled frame, from consecutive uint8 RGB frame batches."""
        scores = self.embedder.embed_stream(batches).scores
        assert scores is not None  # guaranteed by __init__
        return scores

    def score_video(self, path: str | Path, step: int = 15) -> tuple[VideoData, np.ndarray]:
        """Decode a video file every `step` frames: its eccv16 group (picks, n_frames, fps, ...) and the scores."""
        video = embed_video(self.embedder, path, step)
        return video, video.extra[SCORE_KEY]


# ---- storage
def extract_to_h5(
    embedder: MLLMEmbedder,
    videos: Sequence[VideoData],
    frames_of: Callable[[VideoData], Iterable[np.ndarray]],
    out: str | Path,
    *,
    attrs: dict[str, Any] | None = None,
    replace_features: bool = False,
    store_dtype: str = "float32",
    progress: bool = False,
) -> Dataset:
    """Write `videos` (every key kept) plus their MLLM embeddings to `out`, one resumable part per video.

    `frames_of(video)` yields the video's sampled frames (aligned with its `picks`) in batches. Embeddings go to
    `features_mllm` (or `features` with `replace_features`), zero-shot scores to `score_mllm`; the settings
    are file attributes (`mllm_*`). A killed run resumes with the videos already finished; parts made with other
    settings are refused rather than mixed. `progress` shows a rich progress bar of windows.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if store_dtype not in ("float32", "float16"):
        raise SemsumError(f"store dtype {store_dtype!r}: expected float32 or float16")
    key = "features" if replace_features else FEATURE_KEY
    meta = {**embedder.metadata(), "mllm_feature_key": key, "mllm_store_dtype": store_dtype}
    writer = PartsWriter(out)
    manifest = writer.parts / "mllm.json"
    if manifest.is_file():
        import json

        old = json.loads(manifest.read_text())
        diff = sorted(k for k in set(old) | set(meta) if old.get(k) != meta.get(k))
        if diff:
            raise SemsumError(
                f"{writer.parts}: unfinished parts were made with other settings ({', '.join(diff)}); "
                "rerun with the same settings or delete that folder"
            )
    else:
        write_json(manifest, meta)
    todo = [v for v in videos if not writer.done(v.key)]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("MLLM windows", total=sum(v.n_steps for v in todo))
        for video in todo:
            bar.update(task, description=f"MLLM windows ({video.key})")
            result = embedder.embed_stream(frames_of(video), lambda n: bar.advance(task, n))
            if len(result.embeddings) != video.n_steps:
                raise SemsumError(
                    f"{video.key}: got {len(result.embeddings)} sampled frames from the video, picks need "
                    f"{video.n_steps}"
                )
            features = {**video.features, key: result.embeddings.astype(store_dtype)}
            extra = dict(video.extra)
            if result.scores is not None:
                extra[SCORE_KEY] = result.scores
            writer.put(dataclasses.replace(video, features=features, extra=extra))
    return writer.finish([v.key for v in videos], {**(attrs or {}), **meta})


# ---- videos on disk
def _close(a: int, b: int) -> bool:
    return abs(a - b) <= max(2, round(0.02 * b))


def frames_at_picks(
    path: str | Path, picks: np.ndarray, n_frames: int | None = None, batch_size: int = 16
) -> Iterator[np.ndarray]:
    """Decode `path` and yield the frames at `picks` (decoded-frame indices, increasing) in uint8 RGB batches.

    Decodes on the coarsest grid that contains every pick (the gcd of the picks: 15 for eccv16 files). Raises
    SemsumError if the video ends before the last pick, or decodes to a frame count far from `n_frames` (the
    sign of a wrong video for this key).
    """
    from semsum.video.decode import iter_sampled_frames

    picks = np.asarray(picks, dtype=np.int64)
    sampler = iter_sampled_frames(path, step=max(1, int(np.gcd.reduce(picks))), batch_size=batch_size)
    found = 0
    for got, frames in sampler:
        keep = np.isin(got, picks)
        found += int(keep.sum())
        if keep.any():
            yield frames[keep]
    if found != len(picks):
        raise SemsumError(f"{path}: decodes to {sampler.n_decoded} frames, but the picks reach frame {picks[-1]}")
    if n_frames is not None and sampler.n_decoded is not None and not _close(sampler.n_decoded, n_frames):
        raise SemsumError(f"{path}: decodes to {sampler.n_decoded} frames, expected n_frames={n_frames}")


def read_mapping(path: str | Path) -> dict[str, str]:
    """HDF5 key -> video file, from JSON (`{"video_1": "Air_Force_One.mp4", ...}`) or CSV (`key,file` rows)."""
    import csv
    import json

    path = Path(path)
    if not path.is_file():
        raise SemsumError(f"{path}: no such mapping file")
    text = path.read_text("utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise SemsumError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise SemsumError(f"{path}: expected a JSON object of key -> video file")
        return {str(k): v for k, v in data.items()}
    rows = [r for r in csv.reader(text.splitlines()) if r and not r[0].startswith("#")]
    if rows and [c.strip().lower() for c in rows[0][:2]] in (["key", "file"], ["key", "video"]):
        rows = rows[1:]
    bad = [i for i, r in enumerate(rows) if len(r) != 2]
    if bad:
        raise SemsumError(f"{path}: row {bad[0] + 1}: expected two columns `key,file`")
    return {k.strip(): v.strip() for k, v in rows}


VIDEO_SUFFIXES = (".mp4", ".webm", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv")


def resolve_videos(dataset: Dataset, videos_dir: str | Path, mapping: str | Path | None = None) -> dict[str, Path]:
    """The video file of every key: from `mapping` if given, else the group's `video_name` found in `videos_dir`.

    `video_name` matches a file name exactly or its stem with a common video suffix (`Air_Force_One` ->
    `Air_Force_One.mp4`). Mapping entries are paths relative to `videos_dir` (or absolute).
    """
    root = Path(videos_dir)
    if not root.is_dir():
        raise SemsumError(f"{root}: no such videos folder")
    table = read_mapping(mapping) if mapping is not None else None
    files = [p for p in root.iterdir() if p.is_file()]
    found: dict[str, Path] = {}
    for video in dataset:
        where = f"{dataset.path}: {video.key}"
        if table is not None:
            if video.key not in table:
                raise SemsumError(f"{mapping}: no entry for {video.key}")
            path = root / table[video.key]
            if not path.is_file():
                raise SemsumError(f"{where}: mapped video {path} not found")
        elif video.video_name:
            name = video.video_name
            hits = [p for p in files if p.name == name] or [
                p for p in files if p.stem == name and p.suffix.lower() in VIDEO_SUFFIXES
            ]
            if len(hits) != 1:
                what = "no file" if not hits else f"{len(hits)} files"
                raise SemsumError(f"{where}: {what} named {name!r} in {root}; pass --mapping FILE to say which")
            path = hits[0]
        else:
            raise SemsumError(f"{where}: has no video_name; pass --mapping FILE (JSON {{key: file}} or CSV key,file)")
        found[video.key] = path
    return found


def loose_video(path: str | Path, step: int = 15) -> VideoData:
    """The eccv16 group of a video with no annotations: exact n_frames (decoded), picks every `step`, fps."""
    from semsum.video.decode import probe

    path = Path(path)
    info = probe(path, exact=True)
    return VideoData(
        key=path.stem,
        n_frames=info.n_frames,
        picks=np.arange(0, info.n_frames, step, dtype=np.int64),
        video_name=path.name,
        extra={"fps": np.float64(info.fps)},
    )


def embed_video(embedder: MLLMEmbedder, path: str | Path, step: int = 15, key: str = FEATURE_KEY) -> VideoData:
    """A video file's eccv16 group with its MLLM embeddings under `key` (and `score_mllm` when scored), in memory.

    This is what a summarizer trained on `features_mllm` needs to run on a new video.
    """
    video = loose_video(path, step)
    result = embedder.embed_stream(frames_at_picks(path, video.picks, video.n_frames))
    video.features[key] = result.embeddings
    if result.scores is not None:
        video.extra[SCORE_KEY] = result.scores
    return video


def extract_dataset(
    embedder: MLLMEmbedder,
    h5: str | Path,
    videos_dir: str | Path,
    out: str | Path,
    mapping: str | Path | None = None,
    **kwargs: Any,
) -> Dataset:
    """`extract_to_h5` for an eccv16 file: every key and attribute copied, frames decoded at its `picks`."""
    from semsum.data.h5 import load_dataset

    dataset = load_dataset(h5)
    paths = resolve_videos(dataset, videos_dir, mapping)
    return extract_to_h5(
        embedder,
        list(dataset),
        lambda v: frames_at_picks(paths[v.key], v.picks, v.n_frames),
        out,
        attrs=dataset.attrs,
        **kwargs,
    )


def extract_videos(
    embedder: MLLMEmbedder, videos: Sequence[str | Path], out: str | Path, step: int = 15, **kwargs: Any
) -> Dataset:
    """`extract_to_h5` for loose video files: a group per file (key = file stem), sampled every `step` frames."""
    groups = [loose_video(p, step) for p in videos]
    keys = [g.key for g in groups]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise SemsumError(f"{out}: several videos share the name {dupes[0]!r}; rename one (keys are file stems)")
    paths = {g.key: Path(p) for g, p in zip(groups, videos, strict=True)}
    return extract_to_h5(embedder, groups, lambda v: frames_at_picks(paths[v.key], v.picks, v.n_frames), out, **kwargs)


def zero_shot_frame_scores(dataset: Dataset) -> dict[str, list[float]]:
    """Each video's `score_mllm` expanded to every frame: the JSON that `semsum evaluate` reads."""
    from semsum.summary.keyshots import frame_scores

    missing = [v.key for v in dataset if SCORE_KEY not in v.extra]
    if missing:
        raise SemsumError(f"{dataset.path}: {missing[0]} has no {SCORE_KEY} (only the importance prompt is scored)")
    return {v.key: frame_scores(v.extra[SCORE_KEY], v.picks, v.n_frames).tolist() for v in dataset}
