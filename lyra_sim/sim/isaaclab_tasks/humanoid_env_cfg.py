"""Configurations of the humanoid tasks over generated worlds: stand, and walk (velocity tracking).

Physics: Newton (MuJoCo-Warp's solver with Newton's own collision pipeline, which collides
against our non-convex triangle-mesh colliders; MuJoCo's own contacts would treat each
collider as its convex hull and throw the robot out of the world) by default, runs on CPU; or
PhysX (``physics="physx"``), for Isaac Sim users: it needs Kit and a GPU build and has not run
here. Frames: Z up, metres, seconds; Isaac Lab 3 quaternions (x, y, z, w).
"""

from __future__ import annotations

from typing import Literal

import isaaclab.sim as sim_utils
from isaaclab.envs import DirectRLEnvCfg
from isaaclab.scene import InteractiveSceneCfg
from isaaclab.utils import configclass

PHYSICS_DT = 1.0 / 200.0
"""Physics step, seconds (the humanoid's stiff PD drives need 200 Hz in MuJoCo-Warp)."""


def newton_physics_cfg():
    """Newton with MuJoCo-Warp's solver and Newton's collision pipeline (the measured CPU config)."""
    from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg

    return NewtonCfg(solver_cfg=MJWarpSolverCfg(njmax=200, nconmax=100, ls_iterations=20, cone="pyramidal",
                                                integrator="implicitfast", impratio=1, use_mujoco_contacts=False))


def physx_physics_cfg():
    """PhysX, Isaac Sim's engine (needs Kit: ``./isaaclab.sh -p scripts/train.py ... --physics physx``)."""
    from isaaclab_physx.physics import PhysxCfg

    return PhysxCfg()


@configclass
class HumanoidWorldsEnvCfg(DirectRLEnvCfg):
    """A humanoid in a pool of generated worlds, one world per group of environments, spawned at a
    drawn spawn point on every reset, driven by joint position targets around its standing pose.

    The scene (worlds, robot, light) and the reset events are built by the environment from
    ``worlds``, ``robot``, ``scene.num_envs`` and ``seed`` (:mod:`lyra_sim.sim.isaaclab`)."""

    worlds: list[str] = []
    """World folders (or ``scene.usd*`` files) written by ``lyra-sim generate``/``export``; empty:
    ``$LYRA_SIM_WORLDS``, else the repository's gallery. Environment i holds world i mod P.
    Defaults to []."""

    robot: str = "builtin"
    """``builtin`` (lyra-sim's humanoid, offline), ``h1`` / ``g1`` (Isaac Lab's Unitree configs; their
    assets load from NVIDIA's asset server) or a robot USD path. Defaults to "builtin"."""

    physics: Literal["newton", "physx"] = "newton"
    """Physics engine: ``newton`` (CPU or GPU, no Kit) or ``physx`` (Isaac Sim with Kit). Defaults to "newton"."""

    # -- environment
    decimation: int = 4
    """Physics steps per policy step (policy at 50 Hz). Defaults to 4."""
    episode_length_s: float = 10.0
    """Episode length, seconds. Defaults to 10.0."""
    action_space: int = 1
    """Set by the environment to the robot's joint count. Defaults to 1."""
    observation_space: int = 1
    """Set by the environment: 13 + 3 x joints. Defaults to 1."""
    state_space: int = 0
    """No separate critic state. Defaults to 0."""
    action_scale: float = 0.25
    """Joint position target = standing pose + action_scale x action, radians. Defaults to 0.25."""

    joint_stiffness_scale: float = 0.2
    """Multiplies the robot's joint drive stiffness read from its USD drives (the builtin humanoid's
    are stiff enough to hold it in PhysX at 60 Hz: 2500-4000 N m/rad in the legs). In Newton the
    stiff drives fight through the planted feet, whose contacts creep: 0.2 halved the sole slip
    under constant 0.025 rad leg offsets (``bench/humanoid_slip.py``) and still holds the pose.
    Defaults to 0.2."""
    joint_damping_scale: float = 0.45
    """Multiplies the robot's joint drive damping (0.45 = about sqrt(0.2): the same damping ratio).
    Defaults to 0.45."""

    sim: sim_utils.SimulationCfg = sim_utils.SimulationCfg(device="cpu", dt=PHYSICS_DT, render_interval=4,
                                                           physics=newton_physics_cfg())
    """Simulation: 200 Hz Newton on CPU. Defaults to the Newton config above."""
    scene: InteractiveSceneCfg = InteractiveSceneCfg(num_envs=8, env_spacing=20.0, replicate_physics=False)
    """``num_envs`` is read; the rest is rebuilt from the worlds by the environment. Defaults to 8 envs."""

    # -- velocity command (x forward, y left in the robot's heading frame; yaw rate about +Z)
    lin_vel_x_range: tuple[float, float] = (0.0, 0.0)
    """Commanded forward speed, m/s, drawn per episode. Defaults to (0, 0): stand."""
    lin_vel_y_range: tuple[float, float] = (0.0, 0.0)
    """Commanded sideways speed, m/s. Defaults to (0, 0)."""
    ang_vel_z_range: tuple[float, float] = (0.0, 0.0)
    """Commanded yaw rate, rad/s. Defaults to (0, 0)."""

    # -- rewards: Isaac Lab's velocity-task terms, each weight x term x step_dt per step
    rew_track_lin_vel_xy: float = 1.0
    """exp(-|cmd_xy - v_xy|^2 / 0.25). Defaults to 1.0."""
    rew_track_ang_vel_z: float = 0.5
    """exp(-(cmd_yaw - w_z)^2 / 0.25). Defaults to 0.5."""
    rew_lin_vel_z: float = -2.0
    """v_z^2 (root, body frame). Defaults to -2.0."""
    rew_ang_vel_xy: float = -0.05
    """|w_xy|^2. Defaults to -0.05."""
    rew_flat_orientation: float = -1.0
    """|projected gravity_xy|^2. Defaults to -1.0."""
    rew_action_rate: float = -0.01
    """|a_t - a_{t-1}|^2. Defaults to -0.01."""
    rew_base_height: float = -10.0
    """(root height above the floor - standing root height)^2, m^2. Defaults to -10.0."""
    rew_joint_deviation: float = -0.1
    """sum |q - q_standing| over the joints, rad (Isaac Lab's joint_deviation_l1). Defaults to -0.1."""
    rew_termination: float = -200.0
    """On the step the robot falls (not on time-outs), also x step_dt (-4 per fall). Defaults to -200.0."""

    # -- disturbances (Isaac Lab's reset_joints_by_offset and push_by_setting_velocity events), so
    #    that holding the standing pose (a zero action) is not already the best policy
    # Measured under a zero action (8 envs x 10 s, gallery rooms): 0.1 rad and 0.5 m/s pushes every
    # 2-4 s toppled it in 17 of 19 episodes; these settings in about half.
    init_joint_offset_rad: float = 0.05
    """Each joint starts uniformly within +-this of its standing angle, radians. Defaults to 0.05."""
    push_speed_mps: float = 0.3
    """A push adds uniform(-v, v) to the root's x and y velocity, m/s (0: no pushes). Defaults to 0.3."""
    push_interval_s: tuple[float, float] = (3.0, 5.0)
    """Time between pushes, drawn per env, seconds. Defaults to (3.0, 5.0)."""

    # -- terminations
    min_root_height_fraction: float = 0.55
    """Fallen when the root is lower than this fraction of its standing height above the floor. Defaults to 0.55."""
    max_tilt_deg: float = 60.0
    """Fallen when the root's up axis tilts further than this from vertical, degrees. Defaults to 60."""


@configclass
class HumanoidStandEnvCfg(HumanoidWorldsEnvCfg):
    """Stand still where spawned: zero velocity command, 10 s episodes."""


@configclass
class HumanoidWalkEnvCfg(HumanoidWorldsEnvCfg):
    """Track a velocity command drawn per episode: forward 0-1 m/s, sideways +-0.3 m/s, yaw +-0.5 rad/s."""

    episode_length_s: float = 20.0
    lin_vel_x_range: tuple[float, float] = (0.0, 1.0)
    lin_vel_y_range: tuple[float, float] = (-0.3, 0.3)
    ang_vel_z_range: tuple[float, float] = (-0.5, 0.5)
    rew_base_height: float = -2.0
