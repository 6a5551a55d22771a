"""Export: turn a GaussianScene into a world a robot can stand in.

``export_scene`` does everything (USD Gaussians, collision proxy, gravity and scale, spawn
points, report); the pieces are public for the pipeline and for tests. See README.md here for
the formats, flags and hard limits.
"""

from lyra_sim.export.alignment import (
    Alignment,
    FloorPlane,
    estimate_alignment,
    fit_floor,
)
from lyra_sim.export.collider import (
    ColliderStats,
    CollisionProxy,
    build_collision_proxy,
    flatten_floor,
)
from lyra_sim.export.config import (
    AlignmentCfg,
    ColliderCfg,
    ExportCfg,
    MovingColliderCfg,
    PhysicsCheckCfg,
    SpawnCfg,
    UsdGaussiansCfg,
)
from lyra_sim.export.depth import (
    DepthViews,
    SourceFrame,
    depth_views_from_teacher,
    render_depth_views,
)
from lyra_sim.export.mesh_io import read_obj, write_glb, write_obj
from lyra_sim.export.moving import MovingCollider, TimedDepth
from lyra_sim.export.nurec import read_nurec_usdz, write_nurec_usdz
from lyra_sim.export.report import format_report
from lyra_sim.export.spawn import SpawnPoint, find_spawn_points
from lyra_sim.export.usd_gaussians import (
    author_gaussians,
    read_usd_gaussians,
    write_usd_gaussians,
)
from lyra_sim.export.scene import ExportResult, export_scene

__all__ = [
    "Alignment",
    "AlignmentCfg",
    "ColliderCfg",
    "ColliderStats",
    "CollisionProxy",
    "DepthViews",
    "ExportCfg",
    "ExportResult",
    "FloorPlane",
    "MovingCollider",
    "MovingColliderCfg",
    "PhysicsCheckCfg",
    "SourceFrame",
    "SpawnCfg",
    "SpawnPoint",
    "TimedDepth",
    "UsdGaussiansCfg",
    "author_gaussians",
    "build_collision_proxy",
    "depth_views_from_teacher",
    "estimate_alignment",
    "export_scene",
    "find_spawn_points",
    "fit_floor",
    "flatten_floor",
    "format_report",
    "read_nurec_usdz",
    "read_obj",
    "read_usd_gaussians",
    "render_depth_views",
    "write_glb",
    "write_nurec_usdz",
    "write_obj",
    "write_usd_gaussians",
]
