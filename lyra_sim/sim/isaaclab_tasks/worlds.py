"""Which generated worlds an Isaac Lab task trains in (no Isaac Lab needed here).

In order: the ``worlds`` a task config names, else ``$LYRA_SIM_WORLDS`` (paths separated by
``os.pathsep``, ":" on Linux), else the repository's gallery (``scenes/gallery/*/`` of a
source checkout). A path may be a folder written by ``lyra-sim generate``/``export`` or that
folder's ``scene.usd*`` file. Every world must have a collider and at least one spawn point.
"""

from __future__ import annotations

import os
from pathlib import Path

from lyra_sim.errors import InvalidInputError
from lyra_sim.sim.scenes import ROOT_LAYER_NAMES, ExportedScene, open_scene

WORLDS_ENV = "LYRA_SIM_WORLDS"
GALLERY = Path(__file__).resolve().parents[3] / "scenes" / "gallery"
"""The gallery of a source checkout (absent from an installed wheel)."""


def gallery_worlds(gallery: Path = GALLERY) -> list[Path]:
    """Folders of ``gallery`` holding an exported world, sorted by name; [] when there is none."""
    if not gallery.is_dir():
        return []
    return sorted(p for p in gallery.iterdir() if any((p / n).is_file() for n in ROOT_LAYER_NAMES))


def world_paths(worlds: list[str] | tuple[str, ...] | str | None = None) -> list[Path]:
    """The world folders a task uses (see the module docstring for the order).

    Args:
        worlds: folders or ``scene.usd*`` files; a string is split at ``os.pathsep``.

    Raises:
        InvalidInputError: none given and none found.
    """
    if isinstance(worlds, str):
        worlds = [w for w in worlds.split(os.pathsep) if w]
    if not worlds and os.environ.get(WORLDS_ENV):
        worlds = [w for w in os.environ[WORLDS_ENV].split(os.pathsep) if w]
    if not worlds:
        worlds = gallery_worlds()
    if not worlds:
        raise InvalidInputError(f"no worlds to train in: pass --worlds DIR [DIR ...] (folders written by "
                                f"`lyra-sim generate`), set {WORLDS_ENV}, or run from a checkout with scenes/gallery/")
    return [Path(w).parent if Path(w).is_file() else Path(w) for w in worlds]


def open_worlds(worlds: list[str] | tuple[str, ...] | str | None = None) -> list[ExportedScene]:
    """Open the task's worlds and check each can hold a robot.

    Raises:
        InvalidInputError: a world is missing, has no collider, or has no spawn point.
    """
    scenes = [open_scene(p) for p in world_paths(worlds)]
    for scene in scenes:
        if not scene.spawn_points:
            raise InvalidInputError(f"{scene.usd}: the world has no spawn points, so no robot can start in it; "
                                    "re-export it (`lyra-sim export`) or leave it out of --worlds")
    return scenes
