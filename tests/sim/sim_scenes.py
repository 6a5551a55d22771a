"""Exported procedural rooms for the sim tests, built with export's test helpers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "export"))

from export_scenes import pixel_gaussians, room

from lyra_sim.export import ExportCfg, SourceFrame, depth_views_from_teacher, export_world


def export_room(out: Path, prompt: str, seed: int, collider: bool = True, spawn=None) -> Path:
    """Export the procedural room of ``prompt``/``seed`` to ``out`` (small and quick)."""
    output = room(prompt=prompt, seed=seed)
    cfg = ExportCfg()
    if spawn is not None:
        cfg.spawn = spawn
    cfg.collider.resolution = 96
    cfg.collider.enabled = collider
    cfg.previews = False
    export_world(pixel_gaussians(output, stride=3), out, cfg, depth_views=depth_views_from_teacher(output),
                 source=SourceFrame.from_teacher(output, prompt))
    return out
