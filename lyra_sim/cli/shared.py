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
- :func:`progress_bar`: the one progress bar (label, bar, done/total, elapsed, remaining).

Nothing heavy is imported here (rich only inside :func:`progress_bar`): ``lyra-sim --help``
loads every subcommand's parser.
"""

from __future__ import annotations

import argparse
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
    on stderr and exit code 2, Ctrl-C is one line and exit code 130."""
    try:
        return handler(args)
    except LyraSimError as err:
        print(f"{PROG} {command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {command}: interrupted; completed outputs were kept, partial ones removed", file=sys.stderr)
        return 130


def add_config_argument(parser: argparse.ArgumentParser, help: str, required: bool = False) -> None:
    """``--config FILE``: a YAML file of the command's ``*Cfg`` dataclass (None: its defaults)."""
    parser.add_argument("--config", type=Path, default=None, required=required, help=help)


def add_overrides_argument(parser: argparse.ArgumentParser, help: str, metavar: str | None = None) -> None:
    """Positional ``key=value`` overrides with dotted keys (``collider.voxel_size=0.05``),
    applied after ``--config``."""
    parser.add_argument("overrides", nargs="*", metavar=metavar, help=help)


def split_overrides(items: Sequence[str]) -> tuple[list[str], list[str]]:
    """``items`` split into (positional arguments, ``key=value`` overrides), for a command whose
    own positional argument takes several values (``world SCENE_DIR... key=value...``): an item
    is an override when it looks like ``dotted.key=value`` and is not an existing path."""
    import re

    override = re.compile(r"^[A-Za-z_][\w.]*=")
    positional, overrides = [], []
    for item in items:
        (overrides if override.match(item) and not Path(item).exists() else positional).append(item)
    return positional, overrides


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


@contextmanager
def progress_bar(label: str, total: int, quiet: bool = False) -> Iterator[Callable[[], None]]:
    """A progress bar on the terminal (``label``, bar, done/total, time elapsed and remaining);
    yields ``advance()``, to call once per finished item. ``quiet`` shows nothing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = [TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, disable=quiet) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


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
