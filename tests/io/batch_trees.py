"""What the batch tests (and bench/batch.py) compare and do to a batch: a batch folder's files as
bytes, with the seconds an item records about itself (its only run-dependent content) taken
out; a watcher that SIGKILLs the worker writing an item."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
import zipfile
from pathlib import Path

STAGING = re.compile(r"\.(?P<name>[^.]+)\.[0-9a-f]{8}-(?P<pid>\d+)\.\w+\.partial")
"""An item's staging folder, named by :func:`lyra_sim.io.atomic_directory` after the worker
(host tag and pid) that is writing it."""


def kill_first_worker(out: Path, killed: list, stop: threading.Event) -> None:
    """Watch ``out`` for an item's staging folder and SIGKILL the worker writing it, once (its
    name and pid are appended to ``killed``); returns then, or when ``stop`` is set."""
    while not stop.is_set() and not killed:
        for entry in os.listdir(out) if out.is_dir() else []:
            match = STAGING.fullmatch(entry)
            if match and int(match["pid"]) != os.getpid():
                try:
                    os.kill(int(match["pid"]), signal.SIGKILL)
                except ProcessLookupError:  # it finished (and renamed) just now: wait for the next one
                    continue
                killed.append((match["name"], int(match["pid"])))
                return
        time.sleep(0.002)


def item_files(root: Path) -> dict[str, bytes]:
    """Every file of every item folder under ``root`` (not the index, not hidden folders):
    relative path -> bytes; ``scene.json`` without ``description.sdg.seconds``, ``report.json``
    without its timings, and ``scene.usdz`` as its members' bytes (OpenUSD's packager stamps
    the zip with the time of writing)."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or rel.parts[0].startswith(".") or len(rel.parts) == 1:
            continue
        data = path.read_bytes()
        if path.name == "scene.json":
            meta = json.loads(data)
            meta["description"]["sdg"].pop("seconds")
            data = json.dumps(meta, sort_keys=True).encode()
        elif path.name == "report.json":
            data = json.dumps(_without_timings(json.loads(data)), sort_keys=True).encode()
        elif path.suffix == ".usdz":
            with zipfile.ZipFile(path) as zf:
                data = b"".join(name.encode() + zf.read(name) for name in zf.namelist())
        files[str(rel)] = data
    return files


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if "seconds" not in k and k != "timings_seconds"}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value
