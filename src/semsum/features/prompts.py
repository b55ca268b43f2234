"""The instructions given to the MLLM with each 8-frame window (paper Sec. 3.2, Table 2).

Built-in prompts are text files in `semsum/features/prompts/`:

- `importance` (default): the paper's "Importance Score" instruction, verbatim (system line, `USER:`, eight
  `<image>` tokens, the task and four scored examples).
- `summarize`: the paper's ablation. The paper gives only its intent ("a short description of the center
  frame"); our wording keeps the same system line, `USER:` and eight `<image>` tokens and replaces the
  instruction with "You are given 8 consecutive video frames represented as image tokens. The center frame(index 4)
  occurs at time t. Describe the center frame in one short sentence."

A user's request (`semsum summarize --query TEXT`) is added to a prompt by `Prompt.with_query`: the text of
`prompts/query.txt`, with `{query}` replaced by the request (whitespace collapsed), goes on a paragraph of its own
at the end of the user's turn, just before the assistant opener:

    The viewer wants a summary focused on this request: {query}
    Score the center frame by how important it is for a summary that answers this request.

Any other value is read as a UTF-8 file with the same layout. The model's assistant turn (` ASSISTANT:` for
Video-LLaVA) is appended unless the text already ends with it. `sha256` is taken over the exact text fed to the
tokenizer (prompt plus assistant opener, before `<image>` expansion), so it identifies the input unambiguously.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from semsum.errors import SemsumError

IMAGE_TOKEN = "<image>"
ASSISTANT = "ASSISTANT:"
#: Text that opens the answer for zero-shot scoring: the next token is the first decimal digit of the score,
#: as in the prompt's examples ("Score: 0.87").
SCORE_SUFFIX = "Score: 0."
BUILTIN = ("importance", "summarize")
QUERY_SLOT = "{query}"


def _resource(name: str) -> str:
    """The text of a file in `semsum/features/prompts/`."""
    return resources.files("semsum.features").joinpath("prompts", name).read_text("utf-8")


def query_template() -> str:
    """The paragraph `Prompt.with_query` adds, with the `{query}` slot (`prompts/query.txt`)."""
    return _resource("query.txt").strip()


@dataclass(frozen=True)
class Prompt:
    """A window prompt: `text` is what the tokenizer sees (with `<image>` placeholders and the assistant opener)."""

    name: str
    text: str
    #: Appended after the assistant opener to read a score from the next-token distribution; None = no scoring.
    score_suffix: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def n_images(self) -> int:
        return self.text.count(IMAGE_TOKEN)

    def with_query(self, query: str) -> Prompt:
        """This prompt with a user's request added (`query_template()`, on a paragraph before the assistant
        opener), so that the MLLM rates importance for that request; the score suffix stays."""
        request = " ".join(query.split())
        if not request:
            raise SemsumError("--query is empty: give the request in words")
        if IMAGE_TOKEN in request or QUERY_SLOT in request:
            raise SemsumError(f"--query {query!r}: must not contain {IMAGE_TOKEN} or {QUERY_SLOT}")
        user = self.text.removesuffix(ASSISTANT).rstrip()
        added = query_template().replace(QUERY_SLOT, request)
        return replace(self, name=f"{self.name}+query", text=_with_assistant(f"{user}\n\n{added}"))

    def query_record(self, query: str) -> dict[str, str]:
        """What scores.json says about a query run with this (filled) prompt: the request, the template, the
        filled prompt and its sha256."""
        return {"query": query, "template": query_template(), "prompt": self.text, "prompt_sha256": self.sha256}


def _with_assistant(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith(ASSISTANT) else f"{text} {ASSISTANT}"


def load_prompt(name_or_path: str, n_images: int = 8) -> Prompt:
    """A built-in prompt by name (`importance`, `summarize`) or a prompt file; checks its `<image>` count."""
    if name_or_path in BUILTIN:
        raw = _resource(f"{name_or_path}.txt")
        prompt = Prompt(name_or_path, _with_assistant(raw), SCORE_SUFFIX if name_or_path == "importance" else None)
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise SemsumError(f"{path}: no such prompt file (built-in prompts: {', '.join(BUILTIN)})")
        try:
            raw = path.read_text("utf-8")
        except UnicodeDecodeError:
            raise SemsumError(f"{path}: prompt file is not UTF-8 text") from None
        prompt = Prompt(path.name, _with_assistant(raw))
    if prompt.n_images != n_images:
        raise SemsumError(
            f"{name_or_path}: prompt has {prompt.n_images} {IMAGE_TOKEN} tokens, expected one per window frame "
            f"({n_images})"
        )
    return prompt
