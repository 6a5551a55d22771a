"""Prompt files: one rule for comments, shared by sdg and generate --prompts."""

from pathlib import Path

import pytest

from lyra_sim.errors import InvalidInputError
from lyra_sim.io.prompts import read_prompts

REPO = Path(__file__).resolve().parents[2]


def test_read_prompts_skips_comments_and_rejects_empty(tmp_path):
    f = tmp_path / "p.txt"
    f.write_text("# header\na warehouse\n\n  a bedroom  # cosy\n")
    assert read_prompts(f) == ["a warehouse", "a bedroom"]
    f.write_text("# nothing\n\n")
    with pytest.raises(InvalidInputError, match="no prompts"):
        read_prompts(f)
    with pytest.raises(InvalidInputError, match="not found"):
        read_prompts(tmp_path / "missing.txt")
    assert len(read_prompts(REPO / "configs" / "prompts" / "sdg_prompts.txt")) >= 300
