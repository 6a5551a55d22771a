"""Fixtures of the CLI tests: a YAML file and the one-line-error check."""

from __future__ import annotations

import pytest


@pytest.fixture
def write_yaml(tmp_path):
    """``write_yaml(text)`` -> the path of a YAML file holding ``text``."""
    def write(text: str, name: str = "cfg.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


@pytest.fixture
def one_line_error(capsys):
    """``one_line_error(rc, *words)``: exit code 2 and one stderr line naming every word, no traceback."""
    def check(rc: int, *words: str) -> str:
        err = capsys.readouterr().err
        assert rc == 2, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert all(w in err for w in words), err
        return err.strip()
    return check
