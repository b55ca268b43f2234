"""Small synthetic inputs for tests, examples and benchmarks (no download needed)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from semsum.data.h5 import STRIDE, Dataset, VideoData, save_dataset


def uniform_shots(n_frames: int, shot_len: int) -> np.ndarray:
    """Inclusive [start, end] frame shots of `shot_len` frames (the last one shorter)."""
    starts = np.arange(0, n_frames, shot_len)
    return np.stack([starts, np.minimum(starts + shot_len, n_frames) - 1], axis=1)


def _smooth_features(rng: np.random.Generator, n: int, dim: int, dtype: type) -> np.ndarray:
    """[n, dim] features smooth in time: half a normalised random walk plus white noise, drawn in `dtype`."""
    walk = np.cumsum(rng.standard_normal((n, dim), dtype=dtype), axis=0)
    return 0.5 * walk / np.sqrt(np.arange(1, n + 1, dtype=dtype))[:, None] + rng.standard_normal((n, dim), dtype=dtype)


def _hidden_signal(rng: np.random.Generator, dim: int, dtype: type = np.float64) -> np.ndarray:
    """The hidden direction all videos of a synthetic file are scored by: a random unit vector [dim] of `dtype`."""
    signal = rng.normal(size=dim).astype(dtype)
    signal /= np.linalg.norm(signal)
    return signal


def _hidden_score(x: np.ndarray, signal: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """The synthetic ground truth: sigmoid(3 tanh(x . signal)) plus `noise`, min-max normalised to 0..1 (float32)."""
    raw = 1.0 / (1.0 + np.exp(-3.0 * np.tanh(x @ signal))) + noise * rng.normal(size=len(x))
    return ((raw - raw.min()) / (raw.max() - raw.min() + 1e-9)).astype(np.float32)


def synthetic_video(
    key: str,
    n_steps: int,
    dim: int = 1024,
    n_users: int = 5,
    rng: np.random.Generator | None = None,
    signal: np.ndarray | None = None,
    noise: float = 0.1,
    embed: Callable[[np.ndarray], np.ndarray] | None = None,
) -> VideoData:
    """A video in the eccv16 schema whose gtscore is a fixed nonlinear function of its features plus noise.

    `signal` is a [dim] direction; gtscore = sigmoid(3 * tanh(x . signal)) + noise, min-max normalised.
    Features are smooth in time (a random walk) so that models with temporal context have something to use.
    With `embed` (e.g. a `Teacher`), the video also gets `features_mllm` = embed(features), and the score
    reads that embedding instead (`signal` then has the embedding's width).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    signal = signal if signal is not None else np.ones(dim) / np.sqrt(dim)
    n_frames = n_steps * STRIDE
    features = _smooth_features(rng, n_steps, dim, np.float64).astype(np.float32)
    extra = {} if embed is None else {"features_mllm": embed(features).astype(np.float32)}
    gtscore = _hidden_score(extra.get("features_mllm", features), signal, noise, rng)
    cps = uniform_shots(n_frames, 4 * STRIDE)
    frame_score = np.repeat(gtscore, STRIDE)[:n_frames]
    user_summary = np.zeros((n_users, n_frames), dtype=np.float32)
    for u in range(n_users):
        noisy = frame_score + 0.3 * rng.normal(size=n_frames)
        seg_scores = np.array([noisy[s : e + 1].mean() for s, e in cps])
        budget, used = 0.15 * n_frames, 0
        for i in np.argsort(-seg_scores):
            length = cps[i, 1] - cps[i, 0] + 1
            if used + length <= budget:
                user_summary[u, cps[i, 0] : cps[i, 1] + 1] = 1
                used += length
    return VideoData(
        key=key,
        n_frames=n_frames,
        picks=np.arange(0, n_frames, STRIDE, dtype=np.int64),
        features={"features": features, **extra},
        gtscore=gtscore,
        user_summary=user_summary,
        change_points=cps,
        n_frame_per_seg=(cps[:, 1] - cps[:, 0] + 1).astype(np.int64),
        video_name=f"synthetic {key}",
    )


def make_synthetic_dataset(
    path: str | os.PathLike[str],
    n_videos: int = 10,
    steps: tuple[int, int] = (60, 160),
    dim: int = 1024,
    seed: int = 0,
    noise: float = 0.1,
    embed: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Dataset:
    """Write an eccv16-schema file of `n_videos` synthetic videos sharing one hidden scoring rule.

    With `embed`, videos also carry `features_mllm` and the rule reads it (see `synthetic_video`).
    """
    rng = np.random.default_rng(seed)
    signal = _hidden_signal(rng, dim if embed is None else embed(np.zeros((1, dim))).shape[1])
    videos = [
        synthetic_video(
            f"video_{i + 1}",
            int(rng.integers(steps[0], steps[1] + 1)),
            dim,
            rng=rng,
            signal=signal,
            noise=noise,
            embed=embed,
        )
        for i in range(n_videos)
    ]
    dataset = Dataset(videos={v.key: v for v in videos}, attrs={"generator": "semsum.testing"})
    save_dataset(path, dataset)
    return dataset


def make_tiny_videollava(path: str | os.PathLike[str], seed: int = 0, image_size: int = 32, patch_size: int = 8) -> str:
    """Write a tiny randomly initialised Video-LLaVA (model, tokenizer, image processor) to `path`; return it.

    Same architecture and file layout as `LanguageBind/Video-LLaVA-7B-hf` (CLIP vision towers, projector, Llama),
    only small: 2-layer towers of width 32, a 2-layer Llama of width 64, 32x32 px frames in 8x8 patches (16 visual
    tokens per frame instead of 256). The tokenizer is a word-level one over the built-in prompts' words, digits
    split one per token as in Llama, with `<image>`/`<video>` special tokens. Load it with `--model PATH`.
    """
    import torch
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        VideoLlavaConfig,
        VideoLlavaForConditionalGeneration,
        VideoLlavaImageProcessor,
    )

    tokenizer = _tiny_tokenizer()
    vocab = tokenizer.get_vocab()
    image_processor = VideoLlavaImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=image_size,
        patch_size=patch_size,
        projection_dim=32,
    )
    text_config = LlamaConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=4096,
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
    )
    config = VideoLlavaConfig(
        vision_config=vision,
        text_config=text_config,
        image_token_index=vocab["<image>"],
        video_token_index=vocab["<video>"],
        image_seq_length=(image_size // patch_size) ** 2,
    )
    torch.manual_seed(seed)
    model = VideoLlavaForConditionalGeneration(config).eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    image_processor.save_pretrained(path)
    return str(path)


def _tiny_tokenizer():
    """A word-level fast tokenizer over the built-in prompts' words, the digits (one per token, as Llama splits
    them) and "ASSISTANT"/"Score", with Llama's special tokens and `<image>`/`<video>`."""
    import re
    from importlib import resources

    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>", "<pad>", "<image>", "<video>"]
    prompts = resources.files("semsum.features").joinpath("prompts")
    text = " ".join(f.read_text("utf-8") for f in prompts.iterdir() if f.name.endswith(".txt"))
    words = set(re.findall(r"\w+|[^\w\s]", text.replace("<image>", " "))) | set("0123456789") | {"ASSISTANT", "Score"}
    vocab = {t: i for i, t in enumerate(specials + sorted(words - set(specials)))}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
    )
    backend.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", vocab["<s>"])])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        additional_special_tokens=["<image>", "<video>"],
    )


@dataclass
class Teacher:
    """A fixed random 2-layer MLP y = W2 phi(W1 x + b1) + noise, the synthetic stand-in for the MLLM.

    phi(z) = z tanh(z / 2) (= SiLU(z) + SiLU(-z)) is even, so a linear map cannot fit it: the target of
    F(x) that ridge regression fails on and an MLP can learn.
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    noise: float = 0.1
    seed: int = 1

    def clean(self, x: np.ndarray) -> np.ndarray:
        z = np.asarray(x, np.float64) @ self.w1 + self.b1
        return (z * np.tanh(z / 2)) @ self.w2

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        y = self.clean(x)
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        return (y + self.noise * y.std() * rng.normal(size=y.shape)).astype(np.float32)


def make_teacher(
    in_dim: int = 1024, out_dim: int = 4096, hidden: int = 512, scale: float = 2.0, noise: float = 0.1, seed: int = 0
) -> Teacher:
    """A teacher whose pre-activations have standard deviation about `scale` for x ~ N(0, I)."""
    rng = np.random.default_rng(seed)
    return Teacher(
        w1=rng.normal(size=(in_dim, hidden)) * scale / np.sqrt(in_dim),
        b1=0.5 * rng.normal(size=hidden),
        w2=rng.normal(size=(hidden, out_dim)) / np.sqrt(hidden),
        noise=noise,
        seed=seed + 1,
    )


def teacher_pairs(teacher: Teacher, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n pairs (x ~ N(0, I), y = teacher(x)) as float32."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, teacher.w1.shape[0])).astype(np.float32)
    return x, teacher(x, rng)


def make_mrhisum_file(
    path: str | os.PathLike[str],
    *,
    n_videos: int = 20,
    seconds: tuple[int, int] = (120, 300),
    shot_seconds: tuple[int, int] = (2, 10),
    dim: int = 1024,
    seed: int = 0,
    noise: float = 0.1,
    features: bool = True,
) -> list[str]:
    """Write a file in the official Mr.HiSum schema (`video_1` ...) with a learnable `gtscore`; return its keys.

    Per video of `seconds` length (uniform in the range): `features` [n, dim] float32 (a random walk plus noise, as
    `synthetic_video`), `gtscore` = sigmoid(3 tanh(x . signal)) plus `noise`, min-max normalised to 0..1 (one hidden
    `signal` for all videos), `change_points` = random shots of `shot_seconds` as `[start, end)` rows with shared
    boundaries ending at n, and `gt_summary` = the official 15 % knapsack summary of the gtscore. Videos are written
    one at a time (a 2,500-video file of about 2 GB never sits in memory), atomically. `features=False` writes the
    release as distributed (labels only).
    """
    import h5py

    from semsum.atomic import atomic_path
    from semsum.evaluation.mrhisum import machine_summary

    rng = np.random.default_rng(seed)
    signal = _hidden_signal(rng, dim, np.float32)
    keys = [f"video_{i + 1}" for i in range(n_videos)]
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for key in keys:
            n = int(rng.integers(seconds[0], seconds[1] + 1))
            x = _smooth_features(rng, n, dim, np.float32)
            gtscore = _hidden_score(x, signal, noise, rng)
            bounds = [0]
            while bounds[-1] < n:
                bounds.append(min(n, bounds[-1] + int(rng.integers(shot_seconds[0], shot_seconds[1] + 1))))
            cps = np.stack([bounds[:-1], bounds[1:]], axis=1).astype(np.int64)
            summary = np.zeros(n, dtype=np.float32)
            summary[: cps[-1, 1]] = machine_summary(gtscore, cps)
            g = f.create_group(key)
            if features:
                g.create_dataset("features", data=x)
            g.create_dataset("gtscore", data=gtscore)
            g.create_dataset("change_points", data=cps)
            g.create_dataset("gt_summary", data=summary)
        f.attrs["generator"] = "semsum.testing.make_mrhisum_file"
    return keys


def write_mrhisum_split(path: str | os.PathLike[str], keys: list[str], val: int, test: int) -> None:
    """An official-style split file for `keys`: the last `val + test` keys are validation then test."""
    import json

    from semsum.atomic import atomic_path

    train_keys, rest = keys[: len(keys) - val - test], keys[len(keys) - val - test :]
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"train_keys": train_keys, "val_keys": rest[:val], "test_keys": rest[val:]}))
