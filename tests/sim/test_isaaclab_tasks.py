"""The Isaac Lab 3 tasks over generated worlds, run for real: Newton on CPU, two exported rooms.

Needs Isaac Lab 3, which the main environment does not hold (it declares Python 3.12 and pins a
CUDA torch). Run with the environment ``scripts/install_isaaclab.sh`` makes:

    .venv-isaaclab/bin/python -m pytest tests/sim/test_isaaclab_tasks.py -q

One ``SimulationContext`` per process: the Stand environment is built once for the module
and closed at its end; the Walk test builds its own after that.
"""

import math

import numpy as np
import pytest

pytest.importorskip("isaaclab", reason="Isaac Lab 3 is not installed in this Python: run scripts/install_isaaclab.sh, "
                                      "then .venv-isaaclab/bin/python -m pytest tests/sim/test_isaaclab_tasks.py")
import gymnasium as gym
import torch

import lyra_sim.sim.isaaclab_tasks as tasks
from lyra_sim.sim.humanoid import PELVIS_HEIGHT

NUM_ENVS = 4


@pytest.fixture(scope="module")
def stand_env(scene_a, scene_b):
    cfg = tasks.task_cfg(tasks.STAND_TASK)
    cfg.scene.num_envs = NUM_ENVS
    cfg.worlds = [str(scene_a), str(scene_b)]
    cfg.seed = 3
    # Undisturbed: these tests check the standing pose itself (the disturbances: the walk test).
    cfg.init_joint_offset_rad, cfg.push_speed_mps = 0.0, 0.0
    env = gym.make(tasks.STAND_TASK, cfg=cfg)
    yield env
    env.close()


def test_tasks_are_registered_with_their_configs():
    for task in tasks.TASKS:
        assert task in gym.registry
        assert type(tasks.task_cfg(task)).__name__.startswith("Humanoid")
        assert tasks.task_cfg(task, "rsl_rl_cfg_entry_point").device == "cpu"
    walk = tasks.task_cfg(tasks.WALK_TASK)
    assert walk.lin_vel_x_range[1] > 0 and tasks.task_cfg(tasks.STAND_TASK).lin_vel_x_range == (0.0, 0.0)
    assert type(walk.sim.physics).__name__ == "NewtonCfg"
    assert walk.sim.physics.solver_cfg.use_mujoco_contacts is False  # Newton's contacts: our colliders are not convex


def test_h1_g1_and_physx_configs_build_without_running(scene_a):
    """Configs only: H1/G1 load from NVIDIA's asset server and PhysX needs Kit, neither reachable here."""
    from lyra_sim.sim.isaaclab import plan_pool, scene_cfg
    from lyra_sim.sim.isaaclab_tasks.humanoid_env_cfg import physx_physics_cfg

    for name, height in (("h1", 1.05), ("g1", 0.74)):
        pool = plan_pool([scene_a], 2, name, replicate_physics=True)
        robot = scene_cfg(pool).robot
        assert robot.spawn.usd_path.endswith(f"{name.upper()}/{name}.usd") and robot.prim_path.endswith("/Robot")
        assert pool.root_pose(0)[2] == pytest.approx(pool.floor_point(0)[2] + height + 0.02)
    assert type(physx_physics_cfg()).__name__ == "PhysxCfg"


def test_each_env_holds_its_world_and_starts_at_a_spawn_point(stand_env, scene_a, scene_b):
    env = stand_env.unwrapped
    obs, _ = stand_env.reset()
    pool = env.pool
    assert [s.directory for s in pool.scenes] == [scene_a, scene_b]
    # Environment i holds world i mod 2 in the physics (the clone plan's layout; without Kit the USD
    # stage keeps only the prototypes, env_0/Scene and env_1/Scene) as in the draws.
    plan = env.sim.get_clone_plan()
    assert plan.topology.world_prototype_layout.tolist() == [i % 2 for i in range(NUM_ENVS)]
    for k in range(2):
        prim = env.scene.stage.GetPrimAtPath(f"{env.scene.env_prim_paths[k]}/Scene")
        refs = [str(r.assetPath) for spec in prim.GetPrimStack() for r in spec.referenceList.GetAddedOrExplicitItems()]
        assert refs == [str(pool.scenes[k].usd.resolve())]
    assert [d.scene for d in pool.draws.envs] == [i % 2 for i in range(NUM_ENVS)]
    # The root (the pelvis) starts at the drawn spawn point + standing height (item 4: one constant).
    root = env.robot.data.root_pos_w.torch - env.scene.env_origins
    step = int(env.common_step_counter)
    for i in range(NUM_ENVS):
        expected = pool.root_pose(i, step)
        floor = pool.floor_point(i, step)
        np.testing.assert_allclose(root[i, :2].numpy(), expected[:2], atol=0.02)
        assert root[i, 2].item() == pytest.approx(floor[2] + PELVIS_HEIGHT + 0.02, abs=0.03)
        spawns = [np.linalg.norm(np.asarray(p.position[:2]) - floor[:2]) for p in pool.scenes[i % 2].spawn_points]
        assert min(spawns) <= 0.1 + 1e-6  # within the drawn jitter of one of the world's spawn points
    assert obs["policy"].shape == (NUM_ENVS, 13 + 3 * env.robot.num_joints)
    # 6 revolute + 2 three-axis shoulders + 2 three-axis hips + 2 two-axis ankles
    assert env.robot.num_joints == 22
    assert [n for n in env.robot.joint_names if n.startswith("left_hip") or n.startswith("left_ankle")] == [
        "left_hip:0", "left_hip:1", "left_hip:2", "left_ankle:0", "left_ankle:1"]


def test_humanoid_stands_under_zero_action_with_finite_obs_and_rewards(stand_env):
    env = stand_env.unwrapped
    stand_env.reset()
    zero = torch.zeros(NUM_ENVS, env.robot.num_joints)
    heights, ups = [], []
    for _ in range(75):  # 1.5 s at 50 Hz
        obs, rew, terminated, truncated, _ = stand_env.step(zero)
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rew).all()
        assert not terminated.any()
        heights.append(env._root_height_above_floor().clone())
        ups.append(-env.robot.data.projected_gravity_b.torch[:, 2].clone())
    heights, ups = torch.stack(heights), torch.stack(ups)
    assert heights.min() > 0.85 * PELVIS_HEIGHT, heights.min()  # never sagged or fell
    assert (heights[-1] - PELVIS_HEIGHT).abs().max() < 0.06, heights[-1]  # stands at its height after 1.5 s
    assert ups.min() > math.cos(math.radians(10))  # upright within 10 degrees throughout
    assert (rew > 0).all()  # standing still tracks the zero command: positive reward, no fall penalty


def test_large_actions_make_it_fall_and_reset_at_a_new_spawn(stand_env):
    env = stand_env.unwrapped
    stand_env.reset()
    torch.manual_seed(0)
    before = env.robot.data.root_pos_w.torch[:, :2].clone()
    fell = torch.zeros(NUM_ENVS, dtype=torch.bool)
    for _ in range(150):
        _, rew, terminated, _, _ = stand_env.step(4.0 * torch.randn(NUM_ENVS, env.robot.num_joints))
        fell |= terminated
        assert torch.isfinite(rew).all()
        if terminated.any():
            assert (rew[terminated] < 0).all()  # the fall penalty
    assert fell.any()  # a negative control of the standing test: the termination does fire
    after = env.robot.data.root_pos_w.torch[:, :2]
    assert not torch.allclose(before[fell], after[fell], atol=0.05)


def test_ppo_iterations_run_and_save_a_checkpoint(stand_env, tmp_path):
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper, handle_deprecated_rsl_rl_cfg
    from isaaclab_rl.rsl_rl.utils import check_rsl_rl_version, create_rsl_rl_runner

    agent = handle_deprecated_rsl_rl_cfg(tasks.task_cfg(tasks.STAND_TASK, "rsl_rl_cfg_entry_point"),
                                         check_rsl_rl_version())
    agent.num_steps_per_env, agent.save_interval = 8, 1
    env = RslRlVecEnvWrapper(stand_env.unwrapped, clip_actions=agent.clip_actions)
    runner = create_rsl_rl_runner(env, agent, log_dir=str(tmp_path))
    before = [p.detach().clone() for p in runner.alg.actor.parameters()]
    runner.learn(num_learning_iterations=2)
    after = list(runner.alg.actor.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before))  # PPO updated the policy
    assert all(torch.isfinite(p).all() for p in after)
    assert sorted(p.name for p in tmp_path.glob("model_*.pt")) == ["model_0.pt", "model_1.pt"]
    assert list(tmp_path.glob("events.out.tfevents.*"))  # TensorBoard log


def test_walk_task_draws_velocity_commands(stand_env, scene_a, scene_b):
    stand_env.close()  # one SimulationContext per process
    cfg = tasks.task_cfg(tasks.WALK_TASK)
    cfg.scene.num_envs = 2
    cfg.worlds = [str(scene_a), str(scene_b)]
    env = gym.make(tasks.WALK_TASK, cfg=cfg)
    try:
        obs, _ = env.reset()
        # The default disturbances: joints start within +-init_joint_offset_rad of the standing
        # pose (not at it), and pushes are scheduled.
        robot = env.unwrapped.robot
        offset = robot.data.joint_pos.torch - robot.data.default_joint_pos.torch
        assert cfg.init_joint_offset_rad > 0 and cfg.push_speed_mps > 0
        assert offset.abs().max() <= cfg.init_joint_offset_rad + 1e-4 and offset.abs().max() > 0.2 * cfg.init_joint_offset_rad
        events = env.unwrapped.event_manager
        assert "push_robot" in events.active_terms["interval"] and "reset_joints" in events.active_terms["reset"]
        commands = env.unwrapped.commands
        assert (commands[:, 0] >= 0).all() and (commands[:, 0] <= 1).all() and commands.abs().sum() > 0
        torch.testing.assert_close(obs["policy"][:, 9:12], commands)  # the command is observed
        for _ in range(10):
            obs, rew, *_ = env.step(torch.zeros(2, env.unwrapped.robot.num_joints))
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rew).all()
    finally:
        env.close()


def run_script(*args, timeout=300):
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, str(repo / "scripts" / "train.py"), *args], capture_output=True, text=True,
                          timeout=timeout)


def test_train_refuses_an_unknown_task_in_one_line():
    run = run_script("--task", "LyraSim-Humanoid-Fly-v0", "--max_iterations", "1")
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().splitlines() == [
        "train.py: unknown task 'LyraSim-Humanoid-Fly-v0'; choose one of LyraSim-Humanoid-Stand-v0, LyraSim-Humanoid-Walk-v0"]


def test_train_refuses_a_world_without_spawn_points_in_one_line(scene_a, tmp_path):
    import shutil

    from pxr import Sdf

    world = tmp_path / "no_spawns"
    shutil.copytree(scene_a, world)
    layer = Sdf.Layer.FindOrOpen(str(world / "scene.usda"))
    assert layer.GetPrimAtPath("/World/SpawnPoints")
    edit = Sdf.BatchNamespaceEdit()
    edit.Add("/World/SpawnPoints", Sdf.Path.emptyPath)
    assert layer.Apply(edit) and layer.Save()
    run = run_script("--worlds", str(scene_a), str(world), "--max_iterations", "1")
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "has no spawn points" in lines[0] and str(world) in lines[0], run.stderr


@pytest.mark.parametrize("args, says", [
    (("--robot", "h1"), "omni.client"),
    (("--robot", "no_such_robot.usd"), "does not exist"),
    (("--physics", "physx"), "needs Isaac Sim (Kit)"),
])
def test_train_refuses_what_cannot_run_here_in_one_line(scene_a, args, says):
    run = run_script(*args, "--worlds", str(scene_a), "--num_envs", "1", "--max_iterations", "1")
    assert run.returncode == 2, run.stderr[-2000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("train.py: ") and says in lines[0], run.stderr[-2000:]
