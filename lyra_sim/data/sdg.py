"""Synthetic data generation: run a teacher over many prompts and write Lyra-layout scenes.

Scene ``i`` of a run uses prompt ``i mod len(prompts)`` and seed ``base_seed + i`` and is
written to ``<out>/<i:06d>/``. Scenes are independent, so the work shards by index:
``--shard k/N`` makes exactly the scenes with ``i mod N == k``, and no two shards ever touch
the same folder. Each scene is written into a hidden staging folder (``.<name>.*.partial``) and renamed into place
when complete, so a scene folder that exists is a finished scene; a rerun skips them and
removes the temporaries a killed run left behind (only its own shard's). Each shard writes a
summary, ``sdg_summary.json`` or ``sdg_summary.<k>-of-<N>.json``, listing every scene of its
shard that exists (made now or earlier), with prompt, seed, kind and time taken.

Prompt files follow :func:`lyra_sim.io.prompts.read_prompts` and shards
:class:`lyra_sim.io.shards.Shard`, as for ``lyra-sim generate --prompts``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Callable, Sequence

from lyra_sim.data.layout import SCENE_JSON
from lyra_sim.data.writer import write_scene
from lyra_sim.errors import InvalidInputError
from lyra_sim.io import atomic_output
from lyra_sim.io.shards import Shard
from lyra_sim.teachers.base import Teacher, TeacherRequest


def summary_name(shard: Shard) -> str:
    """The summary file of ``shard``: ``sdg_summary.json`` for a whole run, else ``sdg_summary.<k>-of-<N>.json``."""
    return "sdg_summary.json" if shard.count == 1 else f"sdg_summary.{shard.index}-of-{shard.count}.json"


def scene_name(i: int) -> str:
    return f"{i:06d}"


def generate_dataset(
    teacher: Teacher,
    prompts: Sequence[str],
    num_scenes: int,
    out: str | Path,
    shard: Shard = Shard(),
    base_seed: int = 0,
    request_defaults: dict | None = None,
    on_scene: Callable[[int, str], None] | None = None,
) -> dict:
    """Make this shard's scenes that do not exist yet; return the summary (also written).

    Args:
        teacher: renders each request.
        request_defaults: TeacherRequest fields shared by all scenes (frames, size, dynamic...).
        on_scene: called with (scene index, "made" | "skipped") after each scene.
    """
    if num_scenes < 1:
        raise InvalidInputError(f"--num-scenes must be >= 1, got {num_scenes}")
    if not prompts:
        raise InvalidInputError("no prompts given")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    mine = [i for i in range(num_scenes) if shard.owns(i)]
    _remove_stale_temporaries(out, {scene_name(i) for i in mine})
    for i in mine:
        folder = out / scene_name(i)
        if (folder / SCENE_JSON).is_file():
            if on_scene:
                on_scene(i, "skipped")
            continue
        prompt, seed = prompts[i % len(prompts)], base_seed + i
        t0 = time.perf_counter()
        output = teacher.generate(TeacherRequest(prompt=prompt, seed=seed, **(request_defaults or {})))
        # Timing and provenance go into the scene's own description so the summary can be rebuilt.
        sdg = {"index": i, "prompt": prompt, "seed": seed, "teacher": teacher.name, "seconds": round(time.perf_counter() - t0, 3)}
        output.description = {**(output.description or {}), "sdg": sdg}
        write_scene(output, folder)
        if on_scene:
            on_scene(i, "made")
    summary = _summary(out, mine, num_scenes, shard)
    with atomic_output(out / summary_name(shard), overwrite=True) as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _remove_stale_temporaries(out: Path, names: set[str]) -> None:
    """Delete half-written scene folders (``.<name>.*.partial``) that a killed run of this shard left."""
    for tmp in out.glob(".*.partial"):
        name = tmp.name[1:].split(".", 1)[0]
        if name in names and tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)


def _summary(out: Path, mine: list[int], num_scenes: int, shard: Shard) -> dict:
    scenes = []
    for i in mine:
        meta = out / scene_name(i) / SCENE_JSON
        if not meta.is_file():
            continue
        info = json.loads(meta.read_text())
        desc = info.get("description") or {}
        sdg = desc.get("sdg", {})
        scenes.append({
            "scene": scene_name(i),
            "prompt": sdg.get("prompt"),
            "seed": sdg.get("seed"),
            "kind": desc.get("kind"),
            "teacher": sdg.get("teacher"),
            "seconds": sdg.get("seconds"),
        })
    return {"num_scenes": num_scenes, "shard": str(shard), "complete": len(scenes), "expected": len(mine), "scenes": scenes}
