"""lyra_sim/cli/shared.py: overrides among positional arguments, flags over loaded settings, the progress bar."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import pytest

from lyra_sim.cli.shared import load_command_cfg, progress_bar, progress_display, set_fields, split_overrides


@dataclass
class Inner:
    size: float = 1.0


@dataclass
class Outer:
    name: str = "a"
    inner: Inner = field(default_factory=Inner)


def test_split_overrides_keeps_existing_paths(tmp_path):
    (tmp_path / "x=1").mkdir()
    items = ["scene", "a.b=2", str(tmp_path / "x=1"), "c=[1,2]", "=odd"]
    assert split_overrides(items) == (["scene", str(tmp_path / "x=1"), "=odd"], ["a.b=2", "c=[1,2]"])


def test_flags_given_win_and_none_leaves_the_loaded_value(tmp_path):
    from lyra_sim.config import load_structured

    args = argparse.Namespace(config=None, overrides=["inner.size=3"])
    cfg = load_command_cfg(lambda path, ov: load_structured(Outer, path, ov), args, {"name": "b", "inner.size": None})
    assert (cfg.name, cfg.inner.size) == ("b", 3.0)
    with pytest.raises(AttributeError):  # a typo in a command's flag table is a bug, not user input
        set_fields(Outer(), {"inner.sise": 2.0})


def test_progress_bar_counts_and_can_be_quiet():
    for quiet in (True, False):
        with progress_bar("test", 3, quiet=quiet) as advance:
            for _ in range(3):
                advance()


def test_progress_display_draws_one_bar_per_stage_on_stderr_and_nothing_when_quiet(capsys):
    """Not a terminal here, so rich draws the bars once when the display closes: each stage
    with its final count, on stderr (stdout stays for --json and summaries)."""
    with progress_display() as progress:
        for done in range(4):
            progress("depth views", done, 3)
        progress("spawn search", 0, 1)
        progress("spawn search", 1, 1)
        progress("depth views", 0, 2)  # a stage that runs again starts a fresh count
        progress("depth views", 2, 2)
    out, err = capsys.readouterr()
    assert out == ""
    assert "depth views" in err and "2/2" in err and "spawn search" in err and "1/1" in err
    with progress_display(quiet=True) as progress:
        progress("depth views", 0, 3)
        progress("depth views", 3, 3)
    assert capsys.readouterr() == ("", "")
    with pytest.raises(ValueError), progress_display():  # failed before any stage: not even an empty line
        raise ValueError
    assert capsys.readouterr() == ("", "")
