"""Progress of long library loops: one callback protocol, handed down without plumbing.

A progress callback is any ``fn(stage, done, total)``:

- ``stage`` (str): what is being counted, e.g. ``"depth views"`` or ``"refine steps"``;
- ``done`` (int): items finished so far in this run of the stage, starting at 0;
- ``total`` (int | None): items in the stage, None while unknown.

Every run of a stage reports ``(stage, 0, total)`` first and ends with a call where
``done == total`` (a stage of unknown length reports its final count as the total), so a
consumer can open a bar on the first call and close it on the last. Counts only grow within a
run; a stage may run again later (one depth pass per time of a 4D world), starting at 0.

The public entry points (``generate()``, ``LyraPipeline.__call__``, ``export_scene``,
``render_flythrough`` ...) take ``progress=`` and install it with :func:`using`; the loops
below them report through :func:`track`, :func:`step` and :func:`report`, which send to the
callback installed for the current thread/task (a :mod:`contextvars` variable, so threads and
asyncio tasks do not see each other's). With none installed they cost one lookup and do
nothing. An entry point given no callback logs stage starts and ends instead
(:class:`LogProgress`), so the Python API is never silent under ``logging.basicConfig(level=INFO)``.

The CLI maps the same calls to rich bars on stderr (``lyra_sim.cli.shared.progress_display``).
Nothing here imports more than the standard library.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

ProgressFn = Callable[[str, int, "int | None"], None]
"""``fn(stage, done, total)``; see the module docstring for the contract."""

T = TypeVar("T")

_current: contextvars.ContextVar[ProgressFn | None] = contextvars.ContextVar("lyra_sim_progress", default=None)


def current() -> ProgressFn | None:
    """The callback installed for this context, or None."""
    return _current.get()


@contextmanager
def using(progress: ProgressFn | None, logger: logging.Logger | str | None = None) -> Iterator[ProgressFn | None]:
    """Install ``progress`` for the loops run inside the ``with`` block.

    Args:
        progress: the callback. None keeps the one already installed (an entry point called by
            another, like ``export_scene`` inside ``generate``); when there is none either and
            ``logger`` is given, a :class:`LogProgress` on that logger is installed.
        logger: a logger or its name (``"lyra_sim.export"``) for the default; None: no default.

    Yields:
        the callback now installed (or None).
    """
    if progress is None:
        progress = _current.get()
        if progress is None and logger is not None:
            progress = LogProgress(logger)
    token = _current.set(progress)
    try:
        yield progress
    finally:
        _current.reset(token)


def report(stage: str, done: int, total: int | None) -> None:
    """Send one ``(stage, done, total)`` to the installed callback (nothing when none is)."""
    fn = _current.get()
    if fn is not None:
        fn(stage, done, total)


def track(items: Iterable[T], stage: str, total: int | None = None) -> Iterator[T]:
    """Yield ``items`` and report ``(stage, k, total)`` after each one (after ``(stage, 0, total)``
    first); ``total`` defaults to ``len(items)`` when it has one. A loop left early (``break``,
    an exception) does not report the end: the stage did not finish."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    fn = _current.get()
    if fn is None:
        yield from items
        return
    fn(stage, 0, total)
    done = 0
    for item in items:
        yield item
        done += 1
        fn(stage, done, total)
    if total is None or done != total:  # an unknown or wrong length: close the stage at its real count
        fn(stage, done, done)


@contextmanager
def step(stage: str) -> Iterator[None]:
    """One indivisible piece of work as a stage of one item: ``(stage, 0, 1)`` on entry and
    ``(stage, 1, 1)`` when the block ends without an exception."""
    report(stage, 0, 1)
    yield
    report(stage, 1, 1)


class LogProgress:
    """A progress callback that logs: INFO when a stage starts and ends (with its count and
    seconds), and an INFO line with the time left at most every ``every_s`` seconds between.

    Args:
        logger: the logger or its name.
        every_s: seconds between two lines of the same running stage. Defaults to 30.
    """

    def __init__(self, logger: logging.Logger | str, every_s: float = 30.0):
        self.log = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.every_s = every_s
        self._started: dict[str, float] = {}
        self._last: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        now = time.perf_counter()
        if done == 0 or stage not in self._started:
            self._started[stage] = self._last[stage] = now
            self.log.info("%s: started%s", stage, f" ({total})" if total is not None else "")
            if done == 0:
                return
        if total is not None and done >= total:
            self.log.info("%s: %d done in %.1f s", stage, done, now - self._started.pop(stage))
            self._last.pop(stage, None)
        elif now - self._last[stage] >= self.every_s:
            self._last[stage] = now
            spent = now - self._started[stage]
            left = f", about {spent / done * (total - done):.0f} s left" if total and done else ""
            self.log.info("%s: %d/%s after %.0f s%s", stage, done, total if total is not None else "?", spent, left)
