"""Many worlds from a prompt file: ``lyra-sim generate --prompts FILE --out DIR [--shard i/N]
[--executor local|ray]``.

World ``k`` (the k-th prompt of FILE, read by :func:`lyra_sim.io.prompts.read_prompts`: ``#``
starts a comment anywhere on a line) goes to ``DIR/<k:04d>_<slug>/`` with seed
``cfg.seed + k``, so a world does not depend on which shard, executor or worker made it, nor in
what order. Each world is one task (:func:`make_world`) on an executor of
:mod:`lyra_sim.io.executors`; the batch itself (finished worlds skipped, failures recorded in
``DIR/.failed/`` and ``DIR/index.json``, the index kept) is :func:`lyra_sim.io.batch.run_batch`.
Shards (:class:`lyra_sim.io.shards.Shard`) split the worlds round-robin (``k % N == i``) and may
run at the same time on different machines sharing DIR.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from lyra_sim.io.batch import BatchItem, BatchKind, BatchResult, run_batch
from lyra_sim.io.executors import ExecutorCfg, OnEvent
from lyra_sim.io.shards import Shard
from lyra_sim.pipeline.config import GenerateCfg, config_yaml

_PIPELINES: dict[str, object] = {}
"""This process's pipelines by config: a worker reuses its decoder for the next world."""


def world_folder_name(index: int, prompt: str) -> str:
    """``0007_a-warehouse-with-shelves`` (index, then at most 40 characters of the prompt)."""
    slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:40].strip("-") or "world"
    return f"{index:04d}_{slug}"


def make_world(folder: Path, item: BatchItem, cfg: GenerateCfg) -> None:
    """Generate one world of a batch into ``folder`` (atomically, by the pipeline) with ``cfg``
    and the item's prompt and seed; runs in a worker."""
    from lyra_sim.pipeline.pipeline import LyraPipeline

    key = config_yaml(cfg)
    pipe = _PIPELINES.get(key)
    if pipe is None:
        _PIPELINES.clear()
        pipe = _PIPELINES[key] = LyraPipeline(cfg)
    pipe(folder, prompt=item.prompt, seed=item.seed)


def read_world(folder: Path) -> dict | None:
    """The index fields of a finished world folder (its ``report.json``), or None."""
    report_path = folder / "report.json"
    if not report_path.is_file():
        return None
    report = json.loads(report_path.read_text())
    gen = report.get("generate", {})
    return {
        "prompt": gen.get("input", {}).get("prompt"),
        "seed": gen.get("seed"),
        "seconds": round(sum((gen.get("stage_seconds") or {}).values()), 1),
        "usd": next((f for f in ("scene.usdz", "scene.usda", "scene.usdc") if (folder / f).is_file()), None),
        "gaussians": gen.get("gaussians"),
        "spawn_points": len(report.get("spawn_points") or []),
        "physics_check": (report.get("physics_check") or {}).get("status"),
    }


WORLDS = BatchKind("worlds", make_world, read_world)


def generate_batch(prompts: list[str], out_dir: str | Path, cfg: GenerateCfg, shard: Shard = Shard(),
                   executor: ExecutorCfg | None = None, on_event: OnEvent | None = None,
                   on_world: Callable[[str, str], None] | None = None) -> BatchResult:
    """Make this shard's worlds that are not finished yet (see the module docstring).

    Args:
        cfg: the settings of every world (its ``seed`` is the base seed).
        executor: where the worlds run (None: one after the other in this process).
        on_event: executor progress ("started" / "finished", folder name, Outcome).
        on_world: called with (folder name, "made" | "failed: ...") as each world ends.
    """
    items = [BatchItem(world_folder_name(k, p), p, cfg.seed + k) for k, p in enumerate(prompts)]

    def event(kind, key, outcome):
        if on_event:
            on_event(kind, key, outcome)
        if on_world and kind == "finished":
            on_world(key, "made" if outcome.status == "made" else f"failed: {outcome.error}")

    return run_batch(items, out_dir, WORLDS, {"cfg": cfg}, mine=shard.owns, executor=executor, on_event=event)
