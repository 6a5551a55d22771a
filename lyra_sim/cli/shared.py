"""What every ``lyra-sim`` subcommand shares: errors, settings and progress output.

- :func:`run_command`: an error a user can fix (:class:`~lyra_sim.errors.LyraSimError`, e.g.
  :class:`~lyra_sim.errors.InvalidInputError`) is one line on stderr and exit code 2, an
  interrupt is one line and exit code 130; nothing else is caught (a bug keeps its traceback).
- :func:`add_config_argument`, :func:`add_overrides_argument`, :func:`load_command_cfg`: every
  command with settings takes ``--config FILE`` and dotted ``key=value`` overrides, loaded with
  :func:`lyra_sim.config.load_structured` (defaults, then the file, then the overrides), and
  its own flags win over both when given; :func:`split_overrides` picks them out of a
  positional list (``world SCENE_DIR... key=value``).
- :func:`warn_unchecked`: a skipped or failed physics check said on stderr.
- :func:`progress_display`: the library's progress callbacks (:mod:`lyra_sim.progress`) as rich
  bars on stderr, one per stage (stage, bar, done/total, elapsed, remaining);
  :func:`progress_bar` one such bar for a loop of the CLI's own, and :func:`batch_progress`
  its form for a batch on an executor (made, failed, running, rate).
- :func:`add_executor_arguments`, :func:`executor_cfg_from_args`: ``--executor local|ray``,
  ``--address``, ``--cpus-per-world``, ``--workers`` of the batch commands (generate, sdg).
- :func:`stdout_to_stderr`: what libraries print (PhysX and Warp banners, from Python or C)
  goes to stderr, so a ``--json`` command's stdout is exactly one JSON document.

Nothing heavy is imported here (rich only inside the progress functions): ``lyra-sim --help``
loads every subcommand's parser.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from lyra_sim.errors import LyraSimError

T = TypeVar("T")

PROG = "lyra-sim"


def run_command(command: str, handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """``handler(args)``'s exit code; a :class:`LyraSimError` is ``lyra-sim COMMAND: error: ...``
    on stderr and exit code 2, Ctrl-C is one line and exit code 130, a reader that stops early
    (``lyra-sim info x.ply | head``) ends the command quietly."""
    try:
        return handler(args)
    except LyraSimError as err:
        print(f"{PROG} {command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {command}: interrupted; completed outputs were kept, partial ones removed", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed by the reader: nothing left to say, and no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def add_config_argument(parser: argparse.ArgumentParser, help: str, required: bool = False) -> None:
    """``--config FILE``: a YAML file of the command's ``*Cfg`` dataclass (None: its defaults)."""
    parser.add_argument("--config", type=Path, default=None, required=required, help=help)


def add_overrides_argument(parser: argparse.ArgumentParser, help: str, metavar: str | None = None) -> None:
    """Positional ``key=value`` overrides with dotted keys (``collider.voxel_size=0.05``),
    applied after ``--config``."""
    parser.add_argument("overrides", nargs="*", metavar=metavar, help=help)


def is_override(item: str) -> bool:
    """Whether a command-line item is a ``dotted.key=value`` override (and not an existing path)."""
    import re

    return re.match(r"^[A-Za-z_][\w.]*=", item) is not None and not Path(item).exists()


def split_overrides(items: Sequence[str]) -> tuple[list[str], list[str]]:
    """``items`` split into (positional arguments, ``key=value`` overrides), for a command whose
    own positional argument takes several values (``world SCENE_DIR... key=value...``): an item
    is an override when it looks like ``dotted.key=value`` and is not an existing path."""
    positional, overrides = [], []
    for item in items:
        (overrides if is_override(item) else positional).append(item)
    return positional, overrides


def pull_overrides(parser: argparse.ArgumentParser, argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(``argv`` without its ``key=value`` overrides, the overrides in order), for a subcommand
    that takes overrides: they may stand anywhere on the line (before, between or after the
    positional arguments and the options), so every command accepts them in the same places.
    The value of an option that takes exactly one (``--prompt "a=b"``) is never an override;
    after ``--`` nothing is."""
    # argparse has no public view of an option's arity; the parser's own table is read here.
    takes_one = {s for s, a in parser._option_string_actions.items() if a.nargs is None or a.nargs == 1}  # noqa: SLF001
    rest, overrides = [], []
    items = iter(argv)
    for item in items:
        if item == "--":
            rest += [item, *items]
            break
        if item in takes_one:
            rest.append(item)
            value = next(items, None)
            if value is not None:
                rest.append(value)
            continue
        (overrides if is_override(item) else rest).append(item)
    return rest, overrides


def load_command_cfg(load: Callable[[Path | None, list[str]], T], args: argparse.Namespace,
                     flags: Mapping[str, Any] = (), default_config: Path | None = None,
                     overrides: Sequence[str] | None = None) -> T:
    """The command's settings: ``load(path, overrides)`` (a ``load_*_cfg`` function, built on
    :func:`lyra_sim.config.load_structured`: the ``*Cfg`` defaults, then the YAML ``path``,
    then the overrides) with ``args.config`` (or ``default_config`` when no ``--config`` was
    given) and ``args.overrides``; then the command-line ``flags`` that were given win.

    Args:
        flags: dotted field name -> flag value (``{"alignment.scale": args.scale}``); a value of
            None means "flag not given" and leaves the field as loaded.
        overrides: the ``key=value`` items when they are not ``args.overrides`` (see
            :func:`split_overrides`).

    Raises:
        InvalidInputError: a missing file, an unknown key, a value of the wrong type.
    """
    path = args.config if args.config is not None else default_config
    return set_fields(load(path, list(args.overrides if overrides is None else overrides)), flags)


def set_fields(cfg: T, values: Mapping[str, Any]) -> T:
    """Set the dotted fields of the dataclass ``cfg`` (``"collider.voxel_size"``) whose value is
    not None, in place; returns ``cfg``."""
    import dataclasses

    for key, value in dict(values).items():
        if value is None:
            continue
        *parents, name = key.split(".")
        target = cfg
        for parent in parents:
            target = getattr(target, parent)
        if dataclasses.is_dataclass(target) and name not in {f.name for f in dataclasses.fields(target)}:
            raise AttributeError(f"{type(target).__name__} has no field {name!r}")  # a bug in a command, not user input
        setattr(target, name, value)
    return cfg


def _bar_columns(label: str | None = None) -> list:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    text = TextColumn(f"[bold]{label}" if label else "[bold]{task.description}")
    return [text, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]


@contextmanager
def progress_bar(label: str, total: int, quiet: bool = False) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr (``label``, bar, done/total, time elapsed and remaining);
    yields ``advance()``, to call once per finished item. ``quiet`` shows nothing."""
    from rich.console import Console
    from rich.progress import Progress

    with Progress(*_bar_columns(label), console=Console(stderr=True), disable=quiet) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


@contextmanager
def progress_display(quiet: bool = False) -> Iterator[Callable[[str, int, int | None], None]]:
    """Rich bars on stderr for the library's progress protocol (:mod:`lyra_sim.progress`): one
    row per stage (stage, bar, done/total, elapsed, time left), opened by the stage's first
    call, finished when ``done == total`` and reset when the stage runs again. Yields the
    callback to pass as ``progress=``; ``quiet`` shows nothing (the callback still accepts
    calls). stdout stays free for ``--json`` and the summary."""
    from rich.console import Console
    from rich.progress import Progress

    progress = Progress(*_bar_columns(), console=Console(stderr=True), disable=quiet)
    tasks: dict[str, Any] = {}

    def on_progress(stage: str, done: int, total: int | None) -> None:
        if not tasks:
            progress.start()  # on the first stage: a command that fails before any work draws nothing
        task = tasks.get(stage)
        if task is None:
            tasks[stage] = progress.add_task(stage, total=total, completed=done)
        elif done == 0:
            progress.reset(task, total=total, completed=0)
        else:
            progress.update(task, total=total, completed=done)

    try:
        yield on_progress
    finally:
        if tasks:
            progress.stop()


def add_executor_arguments(parser: argparse.ArgumentParser, item: str = "world") -> None:
    """``--executor local|ray``, ``--address``, ``--cpus-per-world``, ``--workers`` (see
    :class:`lyra_sim.io.executors.ExecutorCfg`)."""
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help=f"batch: run each {item} in a local worker process (default) or as a Ray task (needs .[cluster])")
    parser.add_argument("--address", default=None,
                        help="batch, ray: the cluster to join (auto, or ray://HEAD:10001); default: start Ray on this machine")
    parser.add_argument("--cpus-per-world", type=int, default=1, help=f"batch: CPUs (torch threads) per {item} (default: 1)")
    parser.add_argument("--workers", type=int, default=None,
                        help=f"batch: {item}s at once on this machine (default: CPUs / --cpus-per-world)")


def executor_cfg_from_args(args: argparse.Namespace):
    """The :class:`~lyra_sim.io.executors.ExecutorCfg` of :func:`add_executor_arguments`' flags (checked)."""
    from lyra_sim.io.executors import ExecutorCfg

    return ExecutorCfg(args.executor, args.address, args.cpus_per_world, args.workers).check()


@contextmanager
def batch_progress(label: str, total: int, quiet: bool = False) -> Iterator[Callable[[str, str, Any], None]]:
    """A progress bar of a batch's items: bar, finished/total, made, failed, running, items made
    per minute, elapsed and remaining time. Yields ``on_event(kind, key, outcome)`` for
    :func:`lyra_sim.io.batch.run_batch` ("skipped", "started", "finished"); a failed item is also
    printed with its error."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    counts = {"made": 0, "failed": 0, "running": 0, "skipped": 0}
    t0 = time.monotonic()

    def status() -> str:
        rate = 60.0 * (counts["made"] + counts["failed"]) / max(time.monotonic() - t0, 1e-9)
        there = f", {counts['skipped']} already there" if counts["skipped"] else ""
        return f"{counts['made']} made{there}, {counts['failed']} failed, {counts['running']} running, {rate:.2f}/min"

    columns = [TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), disable=quiet) as progress:
        task = progress.add_task(label, total=total, status=status())

        def on_event(kind: str, key: str, outcome) -> None:
            if kind in ("started", "skipped"):
                counts["running" if kind == "started" else "skipped"] += 1
            else:
                counts["running"] = max(0, counts["running"] - 1)
                counts["made" if outcome.status == "made" else "failed"] += 1
                if outcome.status != "made":
                    progress.console.print(f"[red]{key} failed[/red]: {outcome.error}")
            progress.update(task, completed=counts["made"] + counts["failed"] + counts["skipped"], status=status())

        yield on_event


def warn_unchecked(command: str, check: dict) -> None:
    """One line on stderr for each part of the physics check that was skipped or had nothing to
    test (``check``: a ``physics_check`` report entry), so a missing PhysX or a world without
    spawn points is not read as a pass."""
    parts = [("physics check", check)]
    if check.get("status") == "passed":
        # A pass in one engine does not hide another asked-for engine that could not run.
        engines = check.get("engines") or {}
        parts += [(f"{name} check", engines[name]) for name in check.get("engines_asked", []) if name in engines]
    if isinstance(check.get("moving_colliders"), dict):
        parts.append(("kinematic drop test", check["moving_colliders"]))
    for name, part in parts:
        if part.get("status") in ("skipped", "failed") and part.get("reason"):
            print(f"{PROG} {command}: {name} {part['status']}: {part['reason']}", file=sys.stderr)


@contextmanager
def stdout_to_stderr(enabled: bool = True) -> Iterator[None]:
    """Inside the block, everything written to stdout goes to stderr: Python's ``print`` and
    what C libraries write to file descriptor 1 (PhysX's ``[Warning] [omni.physx]`` lines,
    Warp's start-up banner). ``--json`` commands run their work inside it and print the one JSON
    document after it. ``enabled=False`` does nothing (the human-readable output keeps them)."""
    if not enabled:
        yield
        return
    import ctypes
    from contextlib import redirect_stdout

    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with redirect_stdout(sys.stderr):  # sys.stdout may not write through fd 1 (a wrapper, a capture)
            yield
    finally:
        sys.stdout.flush()
        try:
            ctypes.CDLL(None).fflush(None)  # C stdio buffers still hold banners meant for fd 1
        except (OSError, AttributeError):
            pass
        os.dup2(saved, 1)
        os.close(saved)
