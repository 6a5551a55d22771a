"""Many worlds from a prompt file: ``lyra-sim generate --prompts FILE --out DIR [--shard i/N]``.

World ``k`` (the k-th prompt of FILE, read by :func:`lyra_sim.io.prompts.read_prompts`: ``#``
starts a comment anywhere on a line) goes to ``DIR/<k:04d>_<slug>/`` with
seed ``cfg.seed + k``, so a world does not depend on which shard made it or in what order.
A world whose folder exists is finished (folders appear atomically) and is skipped, so a killed
run resumes where it stopped. Shards (:class:`lyra_sim.io.shards.Shard`) split the worlds round-robin (``k % N == i``) and may run
at the same time on different machines sharing DIR. After each shard, ``DIR/index.json`` is
rebuilt from every finished world folder (prompt, seed, spawn points, physics check, seconds),
and failures are listed in ``DIR/failed_<i>of<N>.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lyra_sim.errors import LyraSimError
from lyra_sim.io import atomic_output
from lyra_sim.io.shards import Shard

INDEX_JSON = "index.json"


@dataclass
class BatchResult:
    """Counts of one shard's run and where its index is."""

    made: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    index: Path | None = None


def world_folder_name(index: int, prompt: str) -> str:
    """``0007_a-warehouse-with-shelves`` (index, then at most 40 characters of the prompt)."""
    slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:40].strip("-") or "world"
    return f"{index:04d}_{slug}"


def generate_batch(prompts: list[str], out_dir: str | Path, pipeline, shard: Shard = Shard(),
                   on_world: Callable[[int, str, str], None] | None = None) -> BatchResult:
    """Make this shard's worlds that do not exist yet (see the module docstring).

    Args:
        pipeline: a :class:`~lyra_sim.pipeline.LyraPipeline` (its config applies to every world).
        on_world: called with (index, folder name, "made" | "skipped" | "failed: ...").
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = BatchResult()
    for k, prompt in enumerate(prompts):
        if not shard.owns(k):
            continue
        name = world_folder_name(k, prompt)
        if (out / name / "report.json").is_file():
            result.skipped.append(name)
            status = "skipped"
        else:
            try:
                pipeline(out / name, prompt=prompt, seed=pipeline.cfg.seed + k)
                result.made.append(name)
                status = "made"
            except LyraSimError as err:  # one bad world must not stop the other hundreds
                result.failed[name] = str(err)
                status = f"failed: {err}"
        if on_world:
            on_world(k, name, status)
    if result.failed:
        with atomic_output(out / f"failed_{shard.index}of{shard.count}.json", overwrite=True) as tmp:
            tmp.write_text(json.dumps(result.failed, indent=2) + "\n")
    result.index = write_index(out)
    return result


def write_index(out_dir: str | Path) -> Path:
    """Rebuild ``index.json`` from every finished world folder in ``out_dir``."""
    out = Path(out_dir)
    worlds = []
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        report_path = folder / "report.json"
        if not report_path.is_file():
            continue
        report = json.loads(report_path.read_text())
        gen = report.get("generate", {})
        worlds.append({
            "folder": folder.name,
            "prompt": gen.get("input", {}).get("prompt"),
            "seed": gen.get("seed"),
            "usd": next((f for f in ("scene.usdz", "scene.usda", "scene.usdc") if (folder / f).is_file()), None),
            "gaussians": gen.get("gaussians"),
            "spawn_points": len(report.get("spawn_points") or []),
            "physics_check": (report.get("physics_check") or {}).get("status"),
            "seconds": round(sum((gen.get("stage_seconds") or {}).values()), 1),
        })
    with atomic_output(out / INDEX_JSON, overwrite=True) as tmp:
        tmp.write_text(json.dumps({"worlds": worlds, "count": len(worlds)}, indent=2) + "\n")
    return out / INDEX_JSON
