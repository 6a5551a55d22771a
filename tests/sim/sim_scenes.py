"""Exported procedural rooms and a terrain ramp for the sim tests, built with export's test helpers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "export"))

from export_scenes import pixel_gaussians, ramp, room, write_terrain_scene

from lyra_sim.export import CollisionProxy, ExportCfg, SourceFrame, SpawnCfg, depth_views_from_teacher, export_scene, find_spawn_points


def export_room(out: Path, prompt: str, seed: int, collider: bool = True, spawn=None, usd_format: str = "usda") -> Path:
    """Export the procedural room of ``prompt``/``seed`` to ``out`` (small and quick); in the
    layered form by default (``scene.usda`` + ``gaussians.usdc``), whose layers the sim tests
    open and edit, where ``lyra-sim export`` writes one ``scene.usdz``."""
    output = room(prompt=prompt, seed=seed)
    cfg = ExportCfg(usd_format=usd_format)
    if spawn is not None:
        cfg.spawn = spawn
    cfg.collider.resolution = 96
    cfg.collider.enabled = collider
    cfg.previews = False
    export_scene(pixel_gaussians(output, stride=3), out, cfg, depth_views=depth_views_from_teacher(output),
                 source=SourceFrame.from_teacher(output, prompt))
    return out


def export_ramp(out: Path, degrees: float, rise: float = 2.0) -> Path:
    """A scene folder holding only a ramp of ``degrees`` rising to ``rise`` metres (sim frame),
    its spawn points and a physics scene: terrain with no floor at z = 0 to stand on."""
    proxy = CollisionProxy(*ramp(degrees, rise))
    write_terrain_scene(out, proxy, find_spawn_points(proxy, SpawnCfg()))
    return out
