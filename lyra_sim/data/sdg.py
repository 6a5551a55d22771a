"""Synthetic data generation: run a teacher over many prompts and write Lyra-layout scenes.

Scene ``i`` of a run uses prompt ``i mod len(prompts)`` and seed ``base_seed + i`` and is
written to ``<out>/<i:06d>/``. Scenes are independent, so the work shards by index:
``--shard k/N`` makes exactly the scenes with ``i mod N == k``, and no two shards ever touch
the same folder; each scene is one task (:func:`make_scene`) on an executor of
:mod:`lyra_sim.io.executors` (``--executor local|ray``). Each scene is written into a hidden
staging folder (``.<name>.<host>-<pid>.*.partial``) and renamed into place when complete, so a
scene folder that exists is a finished scene; a rerun skips them, and the next attempt at a scene
removes the staging folders of killed runs (:func:`lyra_sim.io.atomic.remove_stale_partials`).
The batch (skipping, failures in ``.failed/``, ``index.json`` listing every scene with its
status, prompt, seed, kind and time taken) is :func:`lyra_sim.io.batch.run_batch`.

Prompt files follow :func:`lyra_sim.io.prompts.read_prompts` and shards
:class:`lyra_sim.io.shards.Shard`, as for ``lyra-sim generate --prompts``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

from lyra_sim.data.layout import SCENE_JSON
from lyra_sim.data.sdg_config import SdgCfg, load_sdg_cfg  # noqa: F401 (re-exported)
from lyra_sim.data.writer import write_scene
from lyra_sim.errors import InvalidInputError
from lyra_sim.io.batch import BatchItem, BatchKind, BatchResult, run_batch
from lyra_sim.io.executors import ExecutorCfg, OnEvent
from lyra_sim.io.shards import Shard
from lyra_sim.teachers.base import Teacher, TeacherRequest


def scene_name(i: int) -> str:
    """Scene ``i``'s folder name: ``000042``."""
    return f"{i:06d}"


def make_scene(folder: Path, item: BatchItem, teacher: Teacher, request_defaults: dict) -> None:
    """Render one scene of a run with ``teacher`` and write it to ``folder`` (atomically, by
    :func:`~lyra_sim.data.writer.write_scene`); runs in a worker."""
    t0 = time.perf_counter()
    output = teacher.generate(TeacherRequest(prompt=item.prompt, seed=item.seed, **request_defaults))
    # Timing and provenance go into the scene's own description so the index can be rebuilt.
    sdg = {"index": int(item.name), "prompt": item.prompt, "seed": item.seed, "teacher": teacher.name,
           "seconds": round(time.perf_counter() - t0, 3)}
    output.description = {**(output.description or {}), "sdg": sdg}
    write_scene(output, folder)


def read_scene(folder: Path) -> dict | None:
    """The index fields of a finished scene folder (its ``scene.json``), or None."""
    meta = folder / SCENE_JSON
    if not meta.is_file():
        return None
    desc = json.loads(meta.read_text()).get("description") or {}
    sdg = desc.get("sdg", {})
    return {"prompt": sdg.get("prompt"), "seed": sdg.get("seed"), "seconds": sdg.get("seconds"),
            "scene_kind": desc.get("kind"), "teacher": sdg.get("teacher")}


SCENES = BatchKind("scenes", make_scene, read_scene)


def generate_dataset(
    teacher: Teacher,
    prompts: Sequence[str],
    num_scenes: int,
    out: str | Path,
    shard: Shard = Shard(),
    base_seed: int = 0,
    request_defaults: dict | None = None,
    executor: ExecutorCfg | None = None,
    on_event: OnEvent | None = None,
) -> BatchResult:
    """Make this shard's scenes that do not exist yet (see the module docstring).

    Args:
        teacher: renders each request (picklable: it is sent to the workers).
        request_defaults: TeacherRequest fields shared by all scenes (frames, size, dynamic...).
        executor: where the scenes run (:mod:`lyra_sim.io.executors`; None: one after the other here).
        on_event: executor progress ("started" / "finished", scene name, Outcome).
    """
    if num_scenes < 1:
        raise InvalidInputError(f"--num-scenes must be >= 1, got {num_scenes}")
    if not prompts:
        raise InvalidInputError("no prompts given")
    items = [BatchItem(scene_name(i), prompts[i % len(prompts)], base_seed + i) for i in range(num_scenes)]
    return run_batch(items, out, SCENES, {"teacher": teacher, "request_defaults": dict(request_defaults or {})},
                     mine=shard.owns, executor=executor, on_event=on_event)
