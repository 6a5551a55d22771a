"""How a robot stands on sloped ground: heading up or down the slope, ankles pitched to it.

A driven humanoid holds its joints at the standing pose, so on ground tilted by t its soles
touch with one edge and the whole body tips with them: lyra-sim's humanoid set down upright on
a 10 degree ramp fell over at every heading (PhysX on CPU). Standing as a person does, upright
with the feet flat on the ground, needs the ankles turned to the slope. Only the ankle pitch
is set (the builtin humanoid's ankles also roll, but a robot's ankles need not), so it follows
the ground's rise along the heading: on a slope the robot faces straight up or down it
(whichever is nearer the drawn heading) and its ankle drive targets are set to the slope. Frame: Z up, angles in degrees; heading 0 looks
along +X, and the ground's rise along the heading is positive when it climbs ahead.
"""

from __future__ import annotations

import math

import numpy as np

from lyra_sim.sim.robots import RobotSpec

MIN_TILT_DEGREES = 1.0
"""Ground tilted less than this counts as flat: the drawn heading is kept and the ankles stay at 0."""


def stance_on_ground(normal, yaw: float) -> tuple[float, float]:
    """(heading, rise) for a robot drawn to face ``yaw`` degrees on ground of unit ``normal`` [3].

    On ground tilted by at least :data:`MIN_TILT_DEGREES` the heading turns to straight up or
    straight down the slope, whichever is nearer ``yaw``; ``rise`` is the ground's slope along
    that heading, degrees (positive: climbing ahead). Flat ground gives ``(yaw, 0.0)``.
    """
    n = np.asarray(normal, np.float64)
    n = n / np.linalg.norm(n)
    tilt = math.degrees(math.acos(min(1.0, float(n[2]))))
    if tilt < MIN_TILT_DEGREES:
        return float(yaw), 0.0
    uphill = math.degrees(math.atan2(-n[1], -n[0]))  # the normal leans downhill
    facing_up = math.cos(math.radians(yaw - uphill)) >= 0.0
    heading = uphill if facing_up else uphill + 180.0
    heading = (heading + 180.0) % 360.0 - 180.0
    return heading, tilt if facing_up else -tilt


def set_ankle_pitch(stage, robot_path: str, robot: RobotSpec, rise: float) -> int:
    """Drive the ankle-pitch joints of the robot at ``robot_path`` (``robot.ankle_pitch_joints``)
    to stand its soles on ground rising ``rise`` degrees along its heading; returns how many
    joints were set (0 for a robot that names none)."""
    from pxr import UsdPhysics

    done = 0
    for joint in robot.ankle_pitch_joints:
        prim = stage.GetPrimAtPath(f"{robot_path}/{joint}")
        # A revolute ankle's drive, or a D6 ankle's pitch drive (rotY; its roll is rotX).
        instance = next((n for n in ("angular", "rotY") if prim and prim.HasAPI(UsdPhysics.DriveAPI, n)), None)
        if instance is not None:
            # Positive rotation about the ankle's +Y (left) axis pitches the toes down.
            UsdPhysics.DriveAPI(prim, instance).CreateTargetPositionAttr().Set(float(-rise))
            done += 1
    return done
