"""The humanoid-in-generated-worlds environment (Isaac Lab 3 ``DirectRLEnv``).

A direct environment rather than a manager-based one: the observation and reward terms are
the velocity task's (``isaaclab_tasks`` ``velocity_env_cfg``: base velocities, projected
gravity, command, joint positions/velocities, last action; exponential velocity tracking and
L2 penalties, weighted by step_dt) written as a few tensor lines, so the task needs neither
contact sensors, height scanners nor a command manager (none of which has run kit-less on CPU),
and its spaces follow the pool's robot. The world-specific parts come from
:mod:`lyra_sim.sim.isaaclab` through Isaac Lab's own event manager, as a manager-based task
would use them: the worlds laid out per environment ("prestartup") and the robot placed at a
freshly drawn spawn point on every reset ("reset").

Observation ("policy", [N, 13 + 3J]): root linear velocity (3, body frame, m/s), root angular
velocity (3, rad/s), projected gravity (3), command (3: vx, vy m/s, yaw rate rad/s), joint
positions relative to the standing pose (J, rad), joint velocities (J, rad/s), last action (J),
root height above the floor under the spawn point (1, m). Action [N, J] in about [-1, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from isaaclab.envs import DirectRLEnv

from lyra_sim.sim.isaaclab import ROBOT_ENTITY, event_terms, plan_pool, scene_cfg
from lyra_sim.sim.isaaclab_tasks import check_runnable
from lyra_sim.sim.isaaclab_tasks.humanoid_env_cfg import HumanoidWorldsEnvCfg, physx_physics_cfg
from lyra_sim.sim.isaaclab_tasks.worlds import open_worlds
from lyra_sim.sim.randomize import RandomizationCfg

REWARD_TERMS = ("track_lin_vel_xy", "track_ang_vel_z", "lin_vel_z", "ang_vel_xy", "flat_orientation", "action_rate",
                "base_height", "joint_deviation", "termination")


def disturbance_terms(cfg: HumanoidWorldsEnvCfg) -> dict:
    """Isaac Lab's own event terms that keep the standing pose from being trivially optimal:
    joints reset ``init_joint_offset_rad`` (uniform, each joint) off the standing pose with zero
    velocity (0: exactly at it), and pushes that add up to ``push_speed_mps`` (uniform, x and y,
    world frame) to the root's velocity every ``push_interval_s`` (drawn per env)."""
    from isaaclab.envs import mdp
    from isaaclab.managers import EventTermCfg, SceneEntityCfg

    robot = SceneEntityCfg(ROBOT_ENTITY)
    a, v = float(cfg.init_joint_offset_rad), float(cfg.push_speed_mps)
    terms = {"reset_joints": EventTermCfg(func=mdp.reset_joints_by_offset, mode="reset",
                                          params={"position_range": (-a, a), "velocity_range": (0.0, 0.0),
                                                  "asset_cfg": robot})}
    if v > 0.0:
        terms["push_robot"] = EventTermCfg(func=mdp.push_by_setting_velocity, mode="interval",
                                           interval_range_s=tuple(cfg.push_interval_s),
                                           params={"velocity_range": {"x": (-v, v), "y": (-v, v)}, "asset_cfg": robot})
    return terms


class HumanoidWorldsEnv(DirectRLEnv):
    """See the module docstring; configured by :class:`HumanoidWorldsEnvCfg`."""

    cfg: HumanoidWorldsEnvCfg

    def __init__(self, cfg: HumanoidWorldsEnvCfg, render_mode: str | None = None, **kwargs):
        seed = 0 if cfg.seed is None else int(cfg.seed)
        # Isaac Lab 3 imports each world once into Newton and copies it per environment, so the
        # worlds stay as exported (replicate_physics); robots still start at drawn spawn points.
        self.pool = plan_pool(open_worlds(cfg.worlds or None), cfg.scene.num_envs, cfg.robot,
                              RandomizationCfg(seed=seed), replicate_physics=True)
        check_runnable(cfg.robot, cfg.physics)
        cfg.scene = scene_cfg(self.pool)
        cfg.events = event_terms(self.pool) | disturbance_terms(cfg)
        if cfg.physics == "physx":
            cfg.sim.physics = physx_physics_cfg()
        super().__init__(cfg, render_mode, **kwargs)
        self.robot = self.scene[ROBOT_ENTITY]
        n, j = self.num_envs, self.robot.num_joints
        data = self.robot.data
        if cfg.joint_stiffness_scale != 1.0 or cfg.joint_damping_scale != 1.0:
            self.robot.write_joint_stiffness_to_sim_index(stiffness=data.joint_stiffness.torch * cfg.joint_stiffness_scale)
            self.robot.write_joint_damping_to_sim_index(damping=data.joint_damping.torch * cfg.joint_damping_scale)
        self.actions = torch.zeros(n, j, device=self.device)
        self.prev_actions = torch.zeros_like(self.actions)
        self.commands = torch.zeros(n, 3, device=self.device)
        self.floor_z = torch.zeros(n, device=self.device)
        self.root_height = float(self.pool.robot.root_height)
        self.episode_sums = {k: torch.zeros(n, device=self.device) for k in REWARD_TERMS}

    def _configure_gym_env_spaces(self):
        # The robot exists now (the physics has started): the spaces follow its joint count.
        joints = self.scene[ROBOT_ENTITY].num_joints
        self.cfg.action_space = joints
        self.cfg.observation_space = 13 + 3 * joints
        super()._configure_gym_env_spaces()

    # ------------------------------------------------------------------ stepping
    def _pre_physics_step(self, actions: torch.Tensor) -> None:
        self.prev_actions.copy_(self.actions)
        self.actions = actions.clone()
        default = self.robot.data.default_joint_pos.torch
        targets = default + self.cfg.action_scale * torch.clamp(self.actions, -5.0, 5.0)
        self.robot.actuators.target_command.set_position_index(value=targets)

    def _apply_action(self) -> None:
        pass  # position targets persist in the actuator command buffer across the decimation substeps

    def _root_height_above_floor(self) -> torch.Tensor:
        return self.robot.data.root_pos_w.torch[:, 2] - self.scene.env_origins[:, 2] - self.floor_z

    def _get_observations(self) -> dict:
        data = self.robot.data
        obs = torch.cat((
            data.root_lin_vel_b.torch,
            data.root_ang_vel_b.torch,
            data.projected_gravity_b.torch,
            self.commands,
            data.joint_pos.torch - data.default_joint_pos.torch,
            data.joint_vel.torch - data.default_joint_vel.torch,
            self.actions,
            self._root_height_above_floor().unsqueeze(-1),
        ), dim=-1)
        return {"policy": obs}

    def _get_rewards(self) -> torch.Tensor:
        data, cfg = self.robot.data, self.cfg
        v, w, g = data.root_lin_vel_b.torch, data.root_ang_vel_b.torch, data.projected_gravity_b.torch
        terms = {
            "track_lin_vel_xy": torch.exp(-torch.sum((self.commands[:, :2] - v[:, :2]) ** 2, dim=1) / 0.25),
            "track_ang_vel_z": torch.exp(-((self.commands[:, 2] - w[:, 2]) ** 2) / 0.25),
            "lin_vel_z": v[:, 2] ** 2,
            "ang_vel_xy": torch.sum(w[:, :2] ** 2, dim=1),
            "flat_orientation": torch.sum(g[:, :2] ** 2, dim=1),
            "action_rate": torch.sum((self.actions - self.prev_actions) ** 2, dim=1),
            "base_height": (self._root_height_above_floor() - self.root_height) ** 2,
            "joint_deviation": torch.sum(torch.abs(data.joint_pos.torch - data.default_joint_pos.torch), dim=1),
        }
        total = torch.zeros(self.num_envs, device=self.device)
        for name, value in terms.items():
            weighted = getattr(cfg, f"rew_{name}") * value * self.step_dt
            self.episode_sums[name] += weighted
            total += weighted
        fell = cfg.rew_termination * self.reset_terminated.float() * self.step_dt
        self.episode_sums["termination"] += fell
        return total + fell

    def _get_dones(self) -> tuple[torch.Tensor, torch.Tensor]:
        time_out = self.episode_length_buf >= self.max_episode_length - 1
        low = self._root_height_above_floor() < self.cfg.min_root_height_fraction * self.root_height
        tilted = -self.robot.data.projected_gravity_b.torch[:, 2] < math.cos(math.radians(self.cfg.max_tilt_deg))
        return low | tilted, time_out

    def _reset_idx(self, env_ids: Sequence[int] | torch.Tensor | None):
        if env_ids is None:
            env_ids = torch.arange(self.num_envs, device=self.device)
        env_ids = torch.as_tensor(env_ids, device=self.device, dtype=torch.long)
        log = self.extras.setdefault("log", {})
        for name, sums in self.episode_sums.items():
            log[f"Episode_Reward/{name}"] = torch.mean(sums[env_ids]) / self.max_episode_length_s
            sums[env_ids] = 0.0
        log["Episode_Termination/fell"] = torch.count_nonzero(self.reset_terminated[env_ids]).item()
        log["Episode_Termination/time_out"] = torch.count_nonzero(self.reset_time_outs[env_ids]).item()
        # The reset event (lyra_sim.sim.isaaclab.reset_robot_at_spawn_points) puts the root at a spawn
        # point drawn from (seed, common_step_counter); the floor under it is read from the same draw.
        super()._reset_idx(env_ids)
        step = int(self.common_step_counter)
        ids = env_ids.tolist()
        self.floor_z[env_ids] = torch.tensor([float(self.pool.floor_point(i, step)[2]) for i in ids],
                                             device=self.device)
        self.actions[env_ids] = 0.0
        self.prev_actions[env_ids] = 0.0
        lo = torch.tensor([self.cfg.lin_vel_x_range[0], self.cfg.lin_vel_y_range[0], self.cfg.ang_vel_z_range[0]],
                          device=self.device)
        hi = torch.tensor([self.cfg.lin_vel_x_range[1], self.cfg.lin_vel_y_range[1], self.cfg.ang_vel_z_range[1]],
                          device=self.device)
        self.commands[env_ids] = lo + (hi - lo) * torch.rand(len(ids), 3, device=self.device)
