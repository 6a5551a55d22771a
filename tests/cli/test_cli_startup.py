"""Light commands (help, info, validators-only check, argument errors) never import torch or the
pipeline: that is what keeps them under half a second (timed in bench/cli_startup.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location("cli_startup", Path(__file__).parents[2] / "bench" / "cli_startup.py")
cli_startup = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(cli_startup)


@pytest.mark.parametrize("name", list(cli_startup.LIGHT_COMMANDS))
def test_light_command_imports_neither_torch_nor_the_pipeline(name, tmp_path):
    result = cli_startup.probe(name, tmp_path)
    assert not result["torch"], f"`lyra-sim {' '.join(cli_startup.command_line(name, tmp_path))}` imported torch"
    assert not result["pipeline"]
    if name.startswith("error:"):
        assert result["rc"] == 2, result["stderr"]
        assert "Traceback" not in result["stderr"]
    else:
        assert result["rc"] == 0, result["stderr"]
