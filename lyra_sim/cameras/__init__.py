"""Cameras (OpenCV convention), per-pixel rays and Plücker coordinates, projection and depth unprojection, trajectories."""

from lyra_sim.cameras.cameras import Cameras, intrinsics_matrix, look_at, rigid_inverse
from lyra_sim.cameras.projection import depth_to_points, project_points, project_to_pixels, unproject_depth
from lyra_sim.cameras.rays import camera_rays, pixel_centers, plucker_rays
from lyra_sim.cameras.trajectories import (
    LYRA_TRAJECTORIES,
    TRAJECTORY_NAMES,
    load_trajectory_npz,
    lyra_trajectories,
    lyra_trajectory,
    orbit_trajectory,
    save_trajectory_npz,
    trajectory_positions,
)

__all__ = [
    "LYRA_TRAJECTORIES",
    "TRAJECTORY_NAMES",
    "Cameras",
    "camera_rays",
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
