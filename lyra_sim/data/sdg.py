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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from lyra_sim.data.layout import SCENE_JSON
from lyra_sim.data.writer import write_scene
from lyra_sim.errors import InvalidInputError
from lyra_sim.io import atomic_output
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
