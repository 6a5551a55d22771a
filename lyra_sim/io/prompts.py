"""Prompt files: one prompt per line, the input of ``lyra-sim sdg`` and ``lyra-sim generate --prompts``.

The one rule for both: ``#`` starts a comment anywhere on a line (a whole-line comment or a
trailing ``a warehouse  # wide``), surrounding white space is dropped, and lines left empty
are skipped. A prompt therefore cannot contain ``#``. (``generate --prompts`` used to strip only
whole-line comments; a trailing comment was sent to the teacher as part of the prompt.)
"""

from __future__ import annotations

from pathlib import Path

from lyra_sim.errors import InvalidInputError


def read_prompts(path: str | Path) -> list[str]:
    """The prompts of a text file, in file order (see the module docstring for the rule).

    Raises:
        InvalidInputError: the file does not exist or holds no prompt.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: prompts file not found (one prompt per line)")
    prompts = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    prompts = [p for p in prompts if p]
    if not prompts:
        raise InvalidInputError(f"{path}: no prompts in the file (one per line, '#' starts a comment)")
    return prompts
