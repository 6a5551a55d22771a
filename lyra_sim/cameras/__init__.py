"""Cameras (OpenCV convention), per-pixel rays and Plücker coordinates, projection and depth unprojection, trajectories."""

import lazy_loader

# Submodules load on first use of a name (SPEC 1, lazy_loader), so `lyra-sim --help` and the
# commands that need no tensors never import torch.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "cameras": ["Cameras", "intrinsics_matrix", "look_at", "rigid_inverse"],
        "projection": ["depth_normals", "depth_to_points", "project_points", "project_to_pixels", "unproject_depth"],
        "rays": ["camera_rays", "pixel_centers", "plucker_rays"],
        "trajectories": [
            "LYRA_TRAJECTORIES",
            "TRAJECTORY_NAMES",
            "load_trajectory_npz",
            "lyra_trajectories",
            "lyra_trajectory",
            "orbit_trajectory",
            "save_trajectory_npz",
            "trajectory_positions",
        ],
    },
)

__all__ = [
    "LYRA_TRAJECTORIES",
    "TRAJECTORY_NAMES",
    "Cameras",
    "camera_rays",
    "depth_normals",
    "depth_to_points",
    "intrinsics_matrix",
    "load_trajectory_npz",
    "look_at",
    "lyra_trajectories",
    "lyra_trajectory",
    "orbit_trajectory",
    "pixel_centers",
    "plucker_rays",
    "project_points",
    "project_to_pixels",
    "rigid_inverse",
    "save_trajectory_npz",
    "trajectory_positions",
    "unproject_depth",
]
