"""Export: turn a GaussianScene into a world a robot can stand in.

``export_scene`` does everything (USD Gaussians, collision proxy, gravity and scale, spawn
points, report); the pieces are public for the pipeline and for tests. See README.md here for
the formats, flags and hard limits.
"""

import lazy_loader

# Submodules load on first use of a name (SPEC 1, lazy_loader), so `lyra-sim --help` and the
# commands that need no tensors never import torch.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "alignment": ["Alignment", "FloorPlane", "estimate_alignment", "fit_floor"],
        "collider": ["ColliderStats", "CollisionProxy", "build_collision_proxy", "flatten_floor"],
        "config": ["AlignmentCfg", "ColliderCfg", "ExportCfg", "MovingColliderCfg", "PhysicsCheckCfg", "SpawnCfg", "UsdGaussiansCfg"],
        "depth": ["DepthViews", "SourceFrame", "depth_views_from_teacher", "render_depth_views"],
        "mesh_io": ["read_obj", "write_glb", "write_obj"],
        "moving": ["MovingCollider", "TimedDepth"],
        "nurec": ["read_nurec_usdz", "write_nurec_usdz"],
        "report": ["format_report"],
        "spawn": ["SpawnPoint", "find_spawn_points"],
        "usd_gaussians": ["author_gaussians", "read_usd_gaussians", "write_usd_gaussians"],
        "scene": ["ExportResult", "export_scene"],
    },
)

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
