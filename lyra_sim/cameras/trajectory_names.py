"""Names and motion ranges of the camera trajectories (Lyra's six and GEN3C's others), without torch.

Configs validate and default trajectory names from here; the cameras themselves are made by
:mod:`lyra_sim.cameras.trajectories`.
"""

from __future__ import annotations

from typing import Literal

TrajectoryName = Literal["left", "right", "up", "down", "zoom_out", "zoom_in", "clockwise", "counterclockwise"]

LYRA_TRAJECTORIES: dict[str, tuple[float, float]] = {
    "left": (0.2, 0.3),
    "right": (0.2, 0.3),
    "up": (0.1, 0.2),
    "zoom_out": (0.3, 0.4),
    "zoom_in": (0.3, 0.4),
    "clockwise": (0.4, 0.6),
}
"""Lyra's six trajectories in dataset order (index 0..5) with their movement-distance ranges."""

SPIRAL_RADIUS_FACTORS = (0.15, 0.10)
"""Spiral radii as fractions of the movement distance (x, y); GEN3C's ``radius_*_factor``."""
SPIRAL_CIRCLES = 2

_LINEAR_AXES = {
    "left": (0, -1.0),
    "right": (0, 1.0),
    "up": (1, -1.0),
    "down": (1, 1.0),
    "zoom_out": (2, -1.0),
    "zoom_in": (2, 1.0),
}

TRAJECTORY_NAMES: tuple[str, ...] = tuple(_LINEAR_AXES) + ("clockwise", "counterclockwise")
