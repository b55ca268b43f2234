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

Loading the model (device, dtype, attention, quantization, local folders) is `semsum.features.mllm_load`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from semsum.errors import SemsumError
from semsum.features.mllm_load import DEFAULT_MODEL, load_videollava
from semsum.features.prompts import IMAGE_TOKEN, Prompt, load_prompt

if TYPE_CHECKING:
    import torch

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


@dataclass
class EmbedResult:
    """Per sampled frame: `embeddings` [n_steps, D] float32, `scores` [n_steps] in [0, 1] (None if not scored)."""

    embeddings: np.ndarray
    scores: np.ndarray | None


class MLLMEmbedder:
    """Window embeddings (and zero-shot scores) for a stream of sampled frames, with a loaded Video-LLaVA.

    Also the `videollava` encoder (a `semsum.features.encoders.WindowEncoder`): `encode_stream` returns the
    embeddings alone; frames are decoded at their native size, the image processor resizes and crops them.
    """

    name = "videollava"
    input_size = None

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
    def dim(self) -> int:
        return int(self.model.config.text_config.hidden_size)

    @property
    def description(self) -> str:
        return f"Video-LLaVA {self.model_id} window embeddings, prompt {self.prompt.name}"

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

    def with_query(self, query: str) -> MLLMEmbedder:
        """The same loaded model, its prompt with a user's request added (`Prompt.with_query`)."""
        other = copy.copy(self)
        other.prompt, other._token_cache = self.prompt.with_query(query), {}
        return other

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

    def encode_stream(self, batches: Iterable[np.ndarray]) -> np.ndarray:
        """The WindowEncoder interface: embeddings [n_steps, dim] of a stream of sampled-frame batches."""
        return self.embed_stream(batches).embeddings

    def embed_frames(self, frames: np.ndarray) -> EmbedResult:
        """All sampled frames of one video at once, uint8 RGB [n_steps, H, W, 3]."""
        return self.embed_stream([frames])
