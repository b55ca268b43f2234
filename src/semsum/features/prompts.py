"""The instructions given to the MLLM with each 8-frame window (paper Sec. 3.2, Table 2).

Built-in prompts are text files in `semsum/features/prompts/`:

- `importance` (default): the paper's "Importance Score" instruction, verbatim (system line, `USER:`, eight
  `<image>` tokens, the task and four scored examples).
- `summarize`: the paper's ablation. The paper gives only its intent ("a short description of the center
  frame"); our wording keeps the same system line, `USER:` and eight `<image>` tokens and replaces the
  instruction with "You are given 8 consecutive video frames represented as image tokens. The center frame(index 4)
  occurs at time t. Describe the center frame in one short sentence."

Any other value is read as a UTF-8 file with the same layout. The model's assistant turn (` ASSISTANT:` for
Video-LLaVA) is appended unless the text already ends with it. `sha256` is taken over the exact text fed to the
tokenizer (prompt plus assistant opener, before `<image>` expansion), so it identifies the input unambiguously.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from semsum.errors import SemsumError

IMAGE_TOKEN = "<image>"
ASSISTANT = "ASSISTANT:"
#: Text that opens the answer for zero-shot scoring: the next token is the first decimal digit of the score,
#: as in the prompt's examples ("Score: 0.87").
SCORE_SUFFIX = "Score: 0."
BUILTIN = ("importance", "summarize")


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


def _with_assistant(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith(ASSISTANT) else f"{text} {ASSISTANT}"


def load_prompt(name_or_path: str, n_images: int = 8) -> Prompt:
    """A built-in prompt by name (`importance`, `summarize`) or a prompt file; checks its `<image>` count."""
    if name_or_path in BUILTIN:
        raw = resources.files("semsum.features").joinpath("prompts", f"{name_or_path}.txt").read_text("utf-8")
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
