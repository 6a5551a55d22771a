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
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from lyra_sim.data.layout import SCENE_JSON
from lyra_sim.data.writer import write_scene
from lyra_sim.errors import InvalidInputError
from lyra_sim.io.batch import BatchItem, BatchKind, BatchResult, run_batch
from lyra_sim.io.executors import ExecutorCfg, OnEvent
from lyra_sim.io.shards import Shard
from lyra_sim.teachers.base import Teacher, TeacherRequest


@dataclass
class SdgCfg:
    """What ``lyra-sim sdg`` makes (``--config FILE`` and ``key=value`` overrides; each flag of the
    command sets the field of the same name, ``--no-shadows`` sets ``shadows: false``)."""

    teacher: str = "procedural"
    """Teacher that renders the scenes; "procedural" (the embedded one) is the only one so far.
    Defaults to "procedural"."""
    prompts: str | None = None
    """Text file, one prompt per line (see ``configs/prompts/``); scene i uses prompt
    i mod (number of prompts). Required (from the command line or the config). Defaults to None."""
    num_scenes: int | None = None
    """Scenes in the whole run (all shards together). Required (from the command line or the
    config). Defaults to None."""
    out: str | None = None
    """Dataset root; scene i goes to ``out/<i:06d>/``. Required (from the command line or the
    config). Defaults to None."""
    shard: str | None = None
    """"k/N": make only the scenes with index mod N == k (:class:`~lyra_sim.io.shards.Shard`);
    None makes all. Defaults to None."""
    seed: int = 0
    """Base seed; scene i uses seed + i. Defaults to 0."""
    frames: int = 49
    """Frames per trajectory (Lyra: 121). Defaults to 49."""
    width: int = 320
    """Frame width in pixels. Defaults to 320."""
    height: int = 176
    """Frame height in pixels. Defaults to 176."""
    movement: float = 1.0
    """Trajectory movement factor (unitless scale of the camera motion). Defaults to 1."""
    dynamic: bool = False
    """Moving scenes, 12 trajectories (6 + time-flipped copies). Defaults to False."""
    trajectories: list[str] | None = None
    """Subset of Lyra's camera paths (names of ``LYRA_TRAJECTORIES``, e.g. [left, right, zoom_out];
    the flag takes them comma-separated); None uses all six. Defaults to None."""
    codec: str = "dct"
    """Latent codec: dct | dct-t1 | dct-t4 | dct-t8 ("dct" is dct-t8). Defaults to "dct"."""
    shadows: bool = True
    """Trace shadow rays (false is about 1.5x faster). Defaults to True."""

    def request_defaults(self) -> dict:
        """The :class:`~lyra_sim.teachers.base.TeacherRequest` fields shared by every scene of the
        run (``request_defaults`` of :func:`generate_dataset`)."""
        defaults = {"num_frames": self.frames, "width": self.width, "height": self.height, "dynamic": self.dynamic,
                    "movement_factor": self.movement}
        if self.trajectories:
            defaults["trajectories"] = tuple(self.trajectories)
        return defaults


def load_sdg_cfg(path: str | Path | None = None, overrides: Sequence[str] = ()) -> SdgCfg:
    """:class:`SdgCfg` from defaults, then a YAML file (``lyra-sim sdg --config FILE``), then
    ``key=value`` overrides."""
    from lyra_sim.config import load_structured

    return load_structured(SdgCfg, path, list(overrides), what="sdg config")


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
