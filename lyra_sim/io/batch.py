"""A batch of items written into one folder: the finished ones skipped, the rest run on an
executor, failures recorded, and ``index.json`` kept, for ``lyra-sim generate --prompts``
(worlds) and ``lyra-sim sdg`` (scenes).

The folder ``OUT`` of a batch holds:

- ``<name>/``: a finished item. Its task writes it through :func:`lyra_sim.io.atomic_directory`
  (staging folder + rename), so a folder that exists is complete and a killed or retried task
  leaves neither half an item nor a second one. A rerun skips it; so does a retried task that
  finds it (its first attempt got as far as the rename).
- ``.failed/<name>.json``: the error of an item's last failed attempt (a bad prompt, a teacher
  error, a worker that kept dying), written by the driver, removed once the item is made. A
  failed item does not stop the batch, and a rerun tries it again.
- ``index.json`` (schema: ``lyra_sim/assets/schemas/index.schema.json``): every item of the batch
  and every other finished item in ``OUT``, with its status (made | failed | pending), prompt,
  seed, seconds, the error of a failure and what :attr:`BatchKind.read` tells of a finished one
  (a world's spawn points and physics status). Written during the run (at most every
  ``INDEX_EVERY_S``) and rebuilt from the folder at its end, so shards on other machines that share
  ``OUT`` show up too. ``lyra-sim batch-report OUT`` prints it.

What an item is comes from a :class:`BatchKind`: how one is made (in a worker, by any executor of
:mod:`lyra_sim.io.executors`) and how a finished one is read back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from lyra_sim.errors import OutputExistsError
from lyra_sim.io.atomic import atomic_output, remove_stale_partials
from lyra_sim.io.executors import ExecutorCfg, OnEvent, Outcome, Task, run_tasks
from lyra_sim.io.schemas import schema_path

INDEX_JSON = "index.json"
FAILED_DIR = ".failed"
INDEX_SCHEMA = schema_path("index")
"""JSON Schema (draft 2020-12) of ``index.json``."""
INDEX_EVERY_S = 10.0
"""Seconds between two writes of ``index.json`` during a run."""

Status = Literal["made", "failed", "pending"]


@dataclass(frozen=True)
class BatchItem:
    """One item of a batch: its folder name, prompt and seed."""

    name: str
    prompt: str
    seed: int


@dataclass(frozen=True)
class BatchKind:
    """What the items of a batch are. Both functions are module-level (workers import them)."""

    kind: Literal["worlds", "scenes"]
    make: Callable[..., object]
    """``make(folder, item, **settings)`` writes ``folder`` atomically (raising on failure)."""
    read: Callable[[Path], "dict | None"]
    """``read(folder)``: the index fields of a finished item (``prompt``, ``seed``, ``seconds`` and
    its own), or None when ``folder`` is not a finished item of this kind."""


@dataclass
class BatchResult:
    """What one run of :func:`run_batch` did."""

    made: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Finished before the run (or by another attempt of the same item)."""
    failed: dict[str, str] = field(default_factory=dict)
    """Name -> error."""
    index: Path | None = None


def make_item(kind: BatchKind, folder: str, item: BatchItem, settings: dict) -> dict:
    """The task of one item (runs in a worker): make it unless it is already finished.

    Returns ``{"already": True}`` when the folder was finished before (a rerun, or a retried task
    whose first attempt had renamed it into place), else ``{}``.
    """
    path = Path(folder)
    if kind.read(path) is not None:
        return {"already": True}
    try:
        kind.make(path, item, **settings)
    except OutputExistsError:
        if kind.read(path) is None:
            raise
        return {"already": True}  # another attempt of this item finished first: exactly once
    return {}


def run_batch(items: Sequence[BatchItem], out: str | Path, kind: BatchKind, settings: dict | None = None,
              mine: Callable[[int], bool] = lambda i: True, executor: ExecutorCfg | None = None,
              on_event: OnEvent | None = None) -> BatchResult:
    """Make the items ``i`` with ``mine(i)`` (a shard's) that are not finished yet; keep the index.

    Args:
        items: the whole batch (every shard), in order.
        settings: keyword arguments of ``kind.make`` shared by every item (picklable).
        executor: where the items run (:func:`lyra_sim.io.executors.run_tasks`; None: here).
        on_event: progress: ``on_event("skipped", name, None)`` for each item finished before,
            then the executor's "started" and "finished" events of the items that run.
    """
    if executor is not None:
        executor.check()  # before anything is written
    out = Path(out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    result = BatchResult()
    entries = {e["name"]: e for e in index_entries(out, items, kind)}
    todo = []
    for i, item in enumerate(items):
        if not mine(i):
            continue
        if entries[item.name]["status"] == "made":
            result.skipped.append(item.name)
            if on_event:
                on_event("skipped", item.name, None)
        else:
            todo.append(Task(item.name, make_item, {"kind": kind, "folder": str(out / item.name), "item": item,
                                                    "settings": dict(settings or {})}))
    by_name = {item.name: item for item in items}
    last_write = [time.monotonic()]

    def finished(event, key: str, outcome: Outcome | None) -> None:
        if event == "finished" and outcome is not None:
            if outcome.status == "made":
                _forget_failure(out, key)
                (result.skipped if outcome.info.get("already") else result.made).append(key)
                entries[key] = _entry_of(out / key, by_name[key], kind)
            else:
                record = {"error": outcome.error, "seconds": outcome.seconds, "attempts": outcome.attempts,
                          "worker": outcome.worker, "when": _now()}
                _record_failure(out, key, record)
                result.failed[key] = outcome.error or "failed"
                entries[key] = {**entries[key], "status": "failed", **record}
            if time.monotonic() - last_write[0] > INDEX_EVERY_S:
                write_index(out, kind.kind, list(entries.values()))
                last_write[0] = time.monotonic()
        if on_event:
            on_event(event, key, outcome)

    try:
        run_tasks(todo, executor, finished)
    except BaseException:
        if created and not any(out.iterdir()):  # e.g. an unreachable Ray cluster: leave no empty folder
            out.rmdir()
        raise
    _remove_dead_staging(out, {e["name"] for e in entries.values() if e["status"] == "made"})
    result.index = write_index(out, kind.kind, index_entries(out, items, kind))
    return result


def _remove_dead_staging(out: Path, made: set[str]) -> None:
    """Remove the staging folders of dead workers (killed mid-item) whose item is now made."""
    for entry in out.iterdir():
        name = entry.name[1:].split(".", 1)[0] if entry.name.startswith(".") and entry.name.endswith(".partial") else None
        if name in made:
            remove_stale_partials(out / name, finished=True)


def index_entries(out: Path, items: Sequence[BatchItem], kind: BatchKind) -> list[dict]:
    """One index entry per item of ``items`` and per other finished item folder in ``out``, read
    from the folder (finished items and failure records)."""
    entries = [_entry_of(out / item.name, item, kind) for item in items]
    known = {item.name for item in items}
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in known):
        info = kind.read(folder)
        if info is not None:
            entries.append({"name": folder.name, "status": "made", "error": None, **info})
    return entries


def _entry_of(folder: Path, item: BatchItem, kind: BatchKind) -> dict:
    info = kind.read(folder)
    if info is not None:
        return {"name": item.name, "status": "made", "error": None, **info}
    base = {"name": item.name, "status": "pending", "prompt": item.prompt, "seed": item.seed, "seconds": None, "error": None}
    failure = folder.parent / FAILED_DIR / f"{item.name}.json"
    if failure.is_file():
        try:
            record = json.loads(failure.read_text())
        except (OSError, ValueError):
            record = {"error": "unreadable failure record"}
        base.update({k: record.get(k) for k in ("error", "seconds", "attempts", "worker", "when") if k in record})
        base["status"] = "failed"
        base["error"] = base.get("error") or "failed"
    return base


def write_index(out: Path, kind: str, entries: list[dict]) -> Path:
    """Write ``out/index.json`` (atomically) from the entries; returns its path."""
    counts = {s: sum(e["status"] == s for e in entries) for s in ("made", "failed", "pending")}
    index = {"kind": kind, "updated": _now(), "total": len(entries), **counts, "items": entries}
    with atomic_output(out / INDEX_JSON, overwrite=True) as tmp:
        tmp.write_text(json.dumps(index, indent=2) + "\n")
    return out / INDEX_JSON


def read_index(out: str | Path) -> dict:
    """``out/index.json`` as a dict.

    Raises:
        InvalidInputError: there is none, or it is not an index.
    """
    from lyra_sim.errors import InvalidInputError

    path = Path(out) / INDEX_JSON if Path(out).is_dir() else Path(out)
    try:
        index = json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no batch index here; give the --out folder of `lyra-sim generate --prompts` "
                                "or `lyra-sim sdg`") from None
    except (OSError, ValueError) as err:
        raise InvalidInputError(f"{path}: cannot read it as a batch index ({err})") from None
    if not isinstance(index, dict) or not isinstance(index.get("items"), list):
        raise InvalidInputError(f"{path}: not a batch index (no items list)")
    return index


def _record_failure(out: Path, name: str, record: dict) -> None:
    with atomic_output(out / FAILED_DIR / f"{name}.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")


def _forget_failure(out: Path, name: str) -> None:
    (out / FAILED_DIR / f"{name}.json").unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
