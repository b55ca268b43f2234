"""MLLM window embeddings with a tiny random Video-LLaVA saved and loaded back through `from_pretrained`."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from semsum.device import resolve_device
from semsum.errors import SemsumError
from semsum.features.encoders import WindowEncoder, encode_batches
from semsum.features.mllm import MLLMEmbedder, image_tokens_per_frame, masked_mean, window_indices
from semsum.features.mllm_load import load_videollava, resolve_attention, resolve_dtype
from semsum.features.prompts import load_prompt
from semsum.testing import make_tiny_videollava

# sha256 of ../shared/paper/importance-score-prompt.txt (the paper's prompt, verbatim)
PAPER_PROMPT_SHA256 = "f0f0dd5eb3389124fbdee3bca8528d7349f942ae60c6b328ea93ec3306b1776e"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    return make_tiny_videollava(tmp_path_factory.mktemp("tiny-videollava"))


@pytest.fixture(scope="module")
def loaded(tiny):
    return load_videollava(tiny, device="cpu")


def frames(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 36, 44, 3), dtype=np.uint8)


def test_windows_at_both_edges():
    w = window_indices(10)
    assert w.shape == (10, 8)
    assert w[0].tolist() == [0, 0, 0, 0, 0, 1, 2, 3]
    assert w[5].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert w[9].tolist() == [5, 6, 7, 8, 9, 9, 9, 9]
    assert (w[:, 4] == np.arange(10)).all()
    r = window_indices(10, padding="reflect")
    assert r[0].tolist() == [4, 3, 2, 1, 0, 1, 2, 3]
    assert r[9].tolist() == [5, 6, 7, 8, 9, 8, 7, 6]
    assert window_indices(1).tolist() == [[0] * 8]
    assert window_indices(3, padding="reflect")[0].tolist() == [0, 1, 2, 1, 0, 1, 2, 1]
    with pytest.raises(SemsumError, match="padding"):
        window_indices(5, padding="wrap")


def test_importance_prompt_is_the_papers_verbatim():
    p = load_prompt("importance")
    assert p.text.startswith("A chat between a curious human")
    assert p.text.endswith("Now, respond for the current input. ASSISTANT:")
    paper = p.text.removesuffix(" ASSISTANT:") + "\n"
    assert hashlib.sha256(paper.encode()).hexdigest() == PAPER_PROMPT_SHA256
    assert p.n_images == 8 and p.score_suffix == "Score: 0."
    s = load_prompt("summarize")
    assert s.n_images == 8 and s.score_suffix is None and "short sentence" in s.text and s.sha256 != p.sha256


def test_prompt_file_must_have_one_image_per_frame(tmp_path):
    f = tmp_path / "mine.txt"
    f.write_text("USER: <image> <image> What is this?")
    with pytest.raises(SemsumError, match="2 <image> tokens"):
        load_prompt(str(f))
    f.write_text("USER: " + "<image> " * 8 + "Describe. ASSISTANT:")
    assert load_prompt(str(f)).text.count("ASSISTANT:") == 1
    with pytest.raises(SemsumError, match="no such prompt file"):
        load_prompt(str(tmp_path / "missing.txt"))


def test_token_layout_real_vision_config(loaded):
    """The real CLIP-L/14 224 px config: each of the 8 <image> becomes 256 tokens, after `USER:`, before the task."""
    from transformers import VideoLlavaConfig

    real = VideoLlavaConfig()
    assert image_tokens_per_frame(real) == 256
    model, tokenizer, image_processor = loaded
    emb = MLLMEmbedder(model, tokenizer, image_processor, score=False)
    emb.tokens_per_image = image_tokens_per_frame(real)  # tokenizer-side layout only, as for the 7B model
    ids, n = emb.tokens(emb.prompt.text)
    is_img = np.array(ids) == model.config.image_token_id
    assert is_img.sum() == 8 * 256 and n == len(ids)
    first, last = np.flatnonzero(is_img)[[0, -1]]
    assert last - first + 1 == 8 * 256  # this tokenizer drops the spaces between <image>s: one block
    assert tokenizer.convert_ids_to_tokens(ids[:1] + ids[first - 2 : first]) == ["<s>", "USER", ":"]
    assert tokenizer.convert_ids_to_tokens(ids[last + 1 : last + 4]) == ["You", "are", "given"]
    assert tokenizer.convert_ids_to_tokens(ids[-2:]) == ["ASSISTANT", ":"]


def test_real_vision_config_runs_end_to_end(loaded):
    """CLIP-L/14 at 224 px (one layer, random) with a tiny Llama: 8 x 256 visual tokens fill the placeholders."""
    from transformers import (
        CLIPVisionConfig,
        VideoLlavaConfig,
        VideoLlavaForConditionalGeneration,
        VideoLlavaImageProcessor,
    )

    _, tokenizer, _ = loaded
    tiny_text = loaded[0].config.text_config
    vision = CLIPVisionConfig(**{**VideoLlavaConfig().vision_config.to_dict(), "num_hidden_layers": 1})
    config = VideoLlavaConfig(
        vision_config=vision,
        text_config=tiny_text,
        image_token_index=loaded[0].config.image_token_id,
        video_token_index=loaded[0].config.video_token_id,
    )
    torch.manual_seed(0)
    model = VideoLlavaForConditionalGeneration(config).eval()
    emb = MLLMEmbedder(model, tokenizer, VideoLlavaImageProcessor(), batch_size=2)
    assert emb.tokens_per_image == 256
    ids, _ = emb.tokens(emb.prompt.text)
    assert sum(i == config.image_token_id for i in ids) == 8 * 256
    assert emb.vision_features(emb.preprocess(frames(1))).shape == (1, 256, tiny_text.hidden_size)
    out = emb.embed_frames(frames(2))
    assert out.embeddings.shape == (2, tiny_text.hidden_size) and np.isfinite(out.embeddings).all()


def test_masked_mean_matches_hand_computation():
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 5, 4, generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]])
    expected = torch.stack([hidden[0].mean(0), hidden[1, :2].mean(0), hidden[2, 0]])
    torch.testing.assert_close(masked_mean(hidden, mask), expected)


def test_embedding_is_mean_of_last_hidden_state_and_score_from_logits(loaded):
    """Hand computation through the plain transformers forward: hidden_states[-1] mean over N, digit logits."""
    model, tokenizer, image_processor = loaded
    emb = MLLMEmbedder(model, tokenizer, image_processor, batch_size=2)
    x = frames(3)
    got = emb.embed_frames(x)
    assert got.embeddings.shape == (3, model.config.text_config.hidden_size) and got.embeddings.dtype == np.float32
    ids, n = emb.tokens(emb.prompt.text)
    t = 0
    window = x[window_indices(3)[t]]
    pixels = image_processor(images=list(window), return_tensors="pt", return_legacy_image_output=False)
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), pixel_values=pixels["pixel_values"], output_hidden_states=True)
    np.testing.assert_allclose(got.embeddings[t], out.hidden_states[-1][0, :n].mean(0).numpy(), rtol=1e-5, atol=1e-6)
    p = out.logits[0, -1, tokenizer.convert_tokens_to_ids([str(d) for d in range(10)])].softmax(-1)
    assert got.scores[t] == pytest.approx(float((p * torch.arange(10.0)).sum() / 9), abs=1e-6)
    assert ((got.scores >= 0) & (got.scores <= 1)).all()
    plain = MLLMEmbedder(model, tokenizer, image_processor, batch_size=2, score=False).embed_frames(x)
    assert plain.scores is None
    np.testing.assert_allclose(plain.embeddings, got.embeddings, rtol=1e-5, atol=1e-6)  # causal: suffix is invisible


def test_batched_equals_unbatched_with_padding(loaded, tmp_path):
    model, tokenizer, image_processor = loaded
    x = frames(7, seed=1)
    one = MLLMEmbedder(model, tokenizer, image_processor, batch_size=1).embed_frames(x)
    many = MLLMEmbedder(model, tokenizer, image_processor, batch_size=5).embed_frames(x)
    np.testing.assert_allclose(many.embeddings, one.embeddings, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(many.scores, one.scores, rtol=1e-4, atol=1e-6)
    # two prompts of different lengths in one batch: the shorter one is right-padded and the pads excluded
    emb = MLLMEmbedder(model, tokenizer, image_processor)
    short = "USER: " + "<image> " * 8 + "Score the center frame. ASSISTANT:"
    units = emb.vision_features(emb.preprocess(x[window_indices(7)[[2, 3]].reshape(-1)]))
    both, both_scores = emb.forward_windows(units, [emb.prompt.text, short])
    assert emb.encode([emb.prompt.text, short])["attention_mask"][1].min() == 0  # really padded
    for b, text in enumerate([emb.prompt.text, short]):
        alone, alone_score = emb.forward_windows(units[8 * b : 8 * b + 8], [text])
        torch.testing.assert_close(both[b], alone[0], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(both_scores[b], alone_score[0], rtol=1e-4, atol=1e-6)


def test_vision_cache_equals_naive_and_streaming_equals_whole(loaded):
    model, tokenizer, image_processor = loaded
    x = frames(10, seed=2)
    cached = MLLMEmbedder(model, tokenizer, image_processor, batch_size=3, padding="reflect")
    naive = MLLMEmbedder(model, tokenizer, image_processor, batch_size=3, padding="reflect", vision_cache=False)
    a, b = cached.embed_frames(x), naive.embed_frames(x)
    np.testing.assert_allclose(a.embeddings, b.embeddings, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5, atol=1e-6)
    chunks = cached.embed_stream([x[:1], x[1:5], x[5:6], x[6:]])
    np.testing.assert_allclose(chunks.embeddings, a.embeddings, rtol=1e-5, atol=1e-6)
    # a window's embedding depends on its frames: changing frame 9 leaves windows 0..4 unchanged
    y = x.copy()
    y[9] = 255 - y[9]
    c = cached.embed_frames(y)
    np.testing.assert_allclose(c.embeddings[:5], a.embeddings[:5], rtol=1e-5, atol=1e-6)
    assert not np.allclose(c.embeddings[5:], a.embeddings[5:])


def test_the_embedder_is_the_videollava_window_encoder(loaded):
    emb = MLLMEmbedder(*loaded)
    assert isinstance(emb, WindowEncoder) and (emb.name, emb.dim, emb.input_size) == ("videollava", 64, None)
    x = frames(10, seed=3)
    streamed = encode_batches(emb, [x[:3], x[3:7], x[7:]])
    np.testing.assert_allclose(streamed, emb.embed_frames(x).embeddings, rtol=1e-5, atol=1e-6)


def test_missing_model_says_how_to_pass_a_local_path_at_once(tmp_path, monkeypatch):
    import time

    import huggingface_hub  # noqa: F401  (imported first: the time measured is the lookup's, not the import's)

    start = time.perf_counter()
    with pytest.raises(SemsumError, match="HF_HUB_OFFLINE is set.*pass --mllm-model DIR$"):
        load_videollava(str(tmp_path / "no-such-model"), device="cpu")  # the tests run with HF_HUB_OFFLINE=1
    assert time.perf_counter() - start < 5  # no network retries


def test_an_empty_or_incomplete_model_folder_says_which_file_is_missing(tmp_path, tiny):
    import shutil

    with pytest.raises(SemsumError, match=r"no config.json \(the model config\)"):
        load_videollava(str(tmp_path), device="cpu")
    partial = tmp_path / "partial"
    shutil.copytree(tiny, partial)
    (partial / "tokenizer.json").unlink()
    with pytest.raises(
        SemsumError, match=r"partial: not a complete Video-LLaVA folder: no tokenizer.json or tokenizer.model"
    ):
        load_videollava(str(partial), device="cpu")


def test_bad_frames_are_refused(loaded):
    emb = MLLMEmbedder(*loaded)
    with pytest.raises(SemsumError, match="uint8 RGB"):
        emb.embed_frames(np.zeros((3, 8, 8), dtype=np.uint8))


def test_device_dtype_attention_and_quantization_choices(tiny):
    cpu = resolve_device("cpu")
    assert resolve_dtype("auto", cpu) == torch.float32 and resolve_dtype("bfloat16", cpu) == torch.bfloat16
    assert resolve_attention("auto", cpu, torch.float32) == "sdpa"
    assert resolve_attention("eager", cpu, torch.float32) == "eager"
    with pytest.raises(SemsumError, match="dtype 'half'"):
        resolve_dtype("half", cpu)
    with pytest.raises(SemsumError, match="needs a CUDA device"):
        load_videollava(tiny, device="cpu", quantize="4bit")
    with pytest.raises(SemsumError, match="expected 8bit or 4bit"):
        load_videollava(tiny, device="cpu", quantize="2bit")
    model, _, _ = load_videollava(tiny, device="cpu", dtype="bfloat16", attn="eager")
    assert model.dtype == torch.bfloat16 and model.config._attn_implementation == "eager"
