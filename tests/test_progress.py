"""The progress protocol (lyra_sim/progress.py): what a callback receives from ``track`` and
``step``, which callback ``using`` installs, what ``LogProgress`` logs; and that the library
reports through it and ``logging``, never ``print``."""

from __future__ import annotations

import ast
import logging
import threading
from pathlib import Path

import pytest

from lyra_sim import progress as prog

REPO = Path(__file__).resolve().parents[1]


class Recorder:
    def __init__(self):
        self.calls: list[tuple[str, int, int | None]] = []

    def __call__(self, stage, done, total):
        self.calls.append((stage, done, total))


def test_track_reports_zero_then_each_item_with_the_total():
    rec = Recorder()
    with prog.using(rec):
        assert list(prog.track(["a", "b", "c"], "letters")) == ["a", "b", "c"]
    assert rec.calls == [("letters", 0, 3), ("letters", 1, 3), ("letters", 2, 3), ("letters", 3, 3)]


def test_track_of_unknown_length_ends_with_its_count_as_total():
    rec = Recorder()
    with prog.using(rec):
        assert sum(prog.track((i for i in range(4)), "gen")) == 6
    assert rec.calls[0] == ("gen", 0, None) and rec.calls[-1] == ("gen", 4, 4)
    assert [d for _, d, _ in rec.calls] == [0, 1, 2, 3, 4, 4]


def test_a_loop_left_by_an_error_does_not_report_its_end():
    rec = Recorder()
    with prog.using(rec), pytest.raises(RuntimeError):
        for i in prog.track(range(5), "boom"):
            if i == 2:
                raise RuntimeError
    assert rec.calls[-1] == ("boom", 2, 5)


def test_step_is_a_stage_of_one_item():
    rec = Recorder()
    with prog.using(rec), prog.step("mesh"):
        assert rec.calls == [("mesh", 0, 1)]
    assert rec.calls == [("mesh", 0, 1), ("mesh", 1, 1)]


def test_nothing_installed_reports_nothing_and_costs_no_copy():
    items = [1, 2]
    assert prog.current() is None
    assert list(prog.track(items, "x")) == items
    prog.report("x", 1, 2)  # no callback: a no-op, no error


def test_using_none_keeps_the_outer_callback_or_installs_the_logging_default():
    outer = Recorder()
    with prog.using(outer):
        with prog.using(None, "lyra_sim.test") as inner:  # an entry point inside another keeps the caller's
            assert inner is outer and prog.current() is outer
    with prog.using(None, "lyra_sim.test") as fn:
        assert isinstance(fn, prog.LogProgress) and fn.log.name == "lyra_sim.test"
    with prog.using(None) as fn:
        assert fn is None
    assert prog.current() is None


def test_the_callback_belongs_to_its_thread():
    rec, seen = Recorder(), []
    with prog.using(rec):
        t = threading.Thread(target=lambda: seen.append(prog.current()))
        t.start()
        t.join()
    assert seen == [None]


def test_log_progress_logs_start_and_end_and_the_time_left(caplog, monkeypatch):
    clock = iter([0.0, 40.0, 41.0, 100.0])
    monkeypatch.setattr(prog.time, "perf_counter", lambda: next(clock))
    fn = prog.LogProgress("lyra_sim.test", every_s=30)
    with caplog.at_level(logging.INFO, logger="lyra_sim.test"):
        fn("views", 0, 4)  # t = 0
        fn("views", 1, 4)  # t = 40: 30 s passed, a line with the time left
        fn("views", 2, 4)  # t = 41: too soon for another line
        fn("views", 4, 4)  # t = 100: the end
    msgs = [r.getMessage() for r in caplog.records if r.name == "lyra_sim.test"]
    assert msgs == ["views: started (4)", "views: 1/4 after 40 s, about 120 s left", "views: 4 done in 100.0 s"]


def _print_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [n.lineno for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"]


def test_the_library_never_prints_outside_the_cli():
    """The library reports through logging and progress callbacks; only ``lyra_sim/cli`` writes
    to the terminal (a Python user decides where library output goes)."""
    found = {str(p.relative_to(REPO)): lines for p in sorted((REPO / "lyra_sim").rglob("*.py"))
             if "cli" not in p.relative_to(REPO / "lyra_sim").parts and (lines := _print_calls(p))}
    assert found == {}, f"print() in the library (use logging.getLogger(__name__)): {found}"
    # The check itself finds a print when there is one.
    assert _print_calls(REPO / "lyra_sim" / "cli" / "generate.py")
