"""`--query`: the documented prompt, the tiny Video-LLaVA's scores moved by the request, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clitest import error_line, run_cli
from semsum.errors import SemsumError
from semsum.features.mllm import MLLMEmbedder, load_videollava
from semsum.features.prompts import ASSISTANT, load_prompt, query_template
from semsum.pipeline.scorers import CoverageScorer, ZeroShotScorer, focus
from semsum.testing import make_tiny_videollava

FAST = ("--random-googlenet", "--input-size", "32", "--shots", "kts", "--stride", "30")
# The template as README.md and semsum.features.prompts document it, word for word.
DOCUMENTED = (
    "The viewer wants a summary focused on this request: {query}\n"
    "Score the center frame by how important it is for a summary that answers this request."
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    return make_tiny_videollava(tmp_path_factory.mktemp("tiny-videollava"))


@pytest.fixture(scope="module")
def zero_shot(tiny) -> ZeroShotScorer:
    return ZeroShotScorer(MLLMEmbedder(*load_videollava(tiny, device="cpu"), batch_size=4))


def test_the_query_is_added_to_the_importance_prompt_as_documented():
    base = load_prompt("importance")
    prompt = base.with_query("  the  goals\nand the saves ")
    assert query_template() == DOCUMENTED and DOCUMENTED in (Path(__file__).parents[2] / "README.md").read_text()
    request = DOCUMENTED.replace("{query}", "the goals and the saves")
    assert prompt.text == base.text.removesuffix(f" {ASSISTANT}") + f"\n\n{request} {ASSISTANT}"
    assert prompt.score_suffix == base.score_suffix and prompt.n_images == 8 and prompt.name == "importance+query"
    record = prompt.query_record("the goals")
    assert record == {
        "query": "the goals",
        "template": DOCUMENTED,
        "prompt": prompt.text,
        "prompt_sha256": prompt.sha256,
    }


@pytest.mark.parametrize("query", ["", "  \n", "look at <image>", "a {query} slot"])
def test_an_empty_or_malformed_query_is_refused(query):
    with pytest.raises(SemsumError, match="^--query"):
        load_prompt("importance").with_query(query)


def test_a_different_query_gives_different_zero_shot_scores(zero_shot):
    frames = np.random.default_rng(0).integers(0, 256, (6, 36, 44, 3), dtype=np.uint8)
    scores = {
        q: (zero_shot if q is None else focus(zero_shot, q)).embedder.embed_frames(frames).scores
        for q in (None, "key action", "nearly identical frame", "key action")
    }
    assert not np.allclose(scores[None], scores["key action"], atol=1e-6)
    assert not np.allclose(scores["key action"], scores["nearly identical frame"], atol=1e-6)
    assert zero_shot.embedder.prompt == load_prompt("importance")  # focusing makes a new scorer
    focused = focus(zero_shot, "key action")
    assert focused.embedder.prompt == load_prompt("importance").with_query("key action")
    assert focused.embedder.model is zero_shot.embedder.model and focused.query["query"] == "key action"


def test_summarize_records_the_query_and_the_filled_prompt(tiny, shared_media, tmp_path):
    docs = {}
    for query in ("key action", "nearly identical frame"):
        out = tmp_path / query.replace(" ", "_")
        args = ("--scorer", "zero-shot", "--mllm-model", tiny, "--device", "cpu", "--query", query, *FAST)
        result = run_cli("summarize", shared_media / "bikes.mp4", "-o", out, *args)
        assert result.exit_code == 0, result.output
        docs[query] = json.loads((out / "scores.json").read_text())
    doc = docs["key action"]
    prompt = load_prompt("importance").with_query("key action")
    assert doc["query"] == {
        "query": "key action",
        "template": DOCUMENTED,
        "prompt": prompt.text,
        "prompt_sha256": prompt.sha256,
    }
    assert doc["scorer"].startswith("zero-shot") and doc["scorer"].endswith(", query 'key action'")
    assert not np.allclose(doc["step_scores"], docs["nearly identical frame"]["step_scores"], atol=1e-6)


def test_a_scorer_that_cannot_use_a_query_says_so(shared_media, tmp_path):
    with pytest.raises(SemsumError, match="^--query: scorer coverage cannot use a query"):
        focus(CoverageScorer(), "goals")
    out = tmp_path / "out"
    line = error_line(run_cli("summarize", shared_media / "bikes.mp4", "-o", out, "--query", "goals", *FAST))
    assert line.startswith("error: --query: scorer coverage cannot use a query") and not out.exists()
