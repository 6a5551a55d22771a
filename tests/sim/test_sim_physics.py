"""The humanoid on exported colliders in real PhysX on CPU (ovphysx): ragdolls come to rest on the
floor, a driven humanoid should stand (on a floor and on a 10 degree ramp), and environments of
one world do not interact."""

import numpy as np
import pytest
from pxr import Usd, UsdGeom

from lyra_sim.sim import WorldCfg, compose_world, write_world
from lyra_sim.sim.physics import RobotPhysicsCfg, simulate_robots

pytest.importorskip("ovphysx", reason="ovphysx (PhysX on CPU) is a test-only dependency: pip install --no-deps ovphysx "
                                      "ovstage warp-lang physx-usd-schemas (needs x86-64 with AVX)")


@pytest.fixture(scope="module")
def open_room(tmp_path_factory):
    """A room exported with spawn points that leave a fallen humanoid room to lie (0.7 m clearance)."""
    from sim_scenes import export_room

    from lyra_sim.export import ExportCfg

    out = tmp_path_factory.mktemp("open_room")
    cfg = ExportCfg()
    cfg.spawn.robot_radius = 0.7
    return export_room(out, "a living room", 0, spawn=cfg.spawn)


def one_robot_per_spawn_point(scene, drives: bool, n: int) -> WorldCfg:
    cfg = WorldCfg(num_envs=n, robot_drives=drives)
    cfg.randomization.robot.spawn_choice = "cycle"  # env i stands at spawn point i
    return cfg


def test_ragdoll_comes_to_rest_on_the_floor(open_room, tmp_path):
    from lyra_sim.sim import open_scene

    n = len(open_scene(open_room).spawn_points)
    assert n >= 1
    stage = compose_world([open_room], "builtin", one_robot_per_spawn_point(open_room, False, n))
    # Set down exactly upright on the flattened floor, the unpowered body balances on its soles (an
    # unstable equilibrium that PhysX holds until the body falls asleep standing), so each ragdoll
    # is tipped 3 degrees about its own sideways axis, as a push would. Its soles start >= 1 cm up.
    for k in range(n):
        robot = stage.GetPrimAtPath(f"/World/envs/env_{k:04d}/Robot")
        UsdGeom.Xformable(robot).AddRotateYOp(opSuffix="push").Set(3.0)
    world = write_world(stage, tmp_path / "w.usda")
    # 4 s: with six undriven DOFs per leg (hip yaw, ankle roll) the limbs still swing at 3 s
    # (0.19-0.23 m/s, lying at 0.165 m) and are still (<= 0.04 m/s) at 4 s.
    cfg = RobotPhysicsCfg(seconds=4.0)
    runs = simulate_robots(world, cfg)
    assert len(runs) == n
    for run in runs:
        assert run.lowest_link >= -cfg.floor_tolerance, f"{run.robot} went through the floor"
        assert run.lies_at_rest(cfg), (run.robot, run.root_final, run.final_speed)


def test_driven_humanoid_stands_for_three_seconds_at_every_spawn_point(scene_a, tmp_path):
    from lyra_sim.sim import open_scene

    n = len(open_scene(scene_a).spawn_points)
    world = write_world(compose_world([scene_a], "builtin", one_robot_per_spawn_point(scene_a, True, n)), tmp_path / "w.usda")
    cfg = RobotPhysicsCfg(seconds=3.0)
    runs = simulate_robots(world, cfg)
    assert len(runs) == n and all(run.stood(cfg) for run in runs), [(r.robot, r.root_min) for r in runs]


def test_driven_humanoid_stands_on_a_10_degree_ramp(ramp_10, tmp_path):
    """At every spawn point of a ramp rising to 2 m, at drawn headings and offsets, the humanoid
    stands for three seconds without sliding; set down with its ankles at 0 instead (soles level,
    touching the ramp with one edge), it falls over."""
    from dataclasses import replace

    from lyra_sim.sim import open_scene
    from lyra_sim.sim.robots import resolve_robot

    n = len(open_scene(ramp_10).spawn_points)
    assert n >= 4
    cfg = RobotPhysicsCfg(seconds=3.0)
    for robot, stands in (("builtin", True), (replace(resolve_robot("builtin"), ankle_pitch_joints=()), False)):
        stage = compose_world([ramp_10], robot, one_robot_per_spawn_point(ramp_10, True, n))
        start = {f"/World/envs/env_{k:04d}/Robot": np.array(UsdGeom.XformCache().GetLocalToWorldTransform(
            stage.GetPrimAtPath(f"/World/envs/env_{k:04d}/Robot")).ExtractTranslation())[:2] for k in range(n)}
        runs = simulate_robots(write_world(stage, tmp_path / f"w_{stands}.usda"), cfg)
        assert len(runs) == n
        if stands:
            assert all(run.stood(cfg) for run in runs), [(r.robot, r.root_min, r.lowest_link) for r in runs]
            assert all(np.linalg.norm(run.final_root_xy - start[run.robot]) < 0.05 for run in runs)
        else:
            assert not any(run.stood(cfg) for run in runs), [(r.robot, r.root_min) for r in runs]


def test_two_scenes_give_two_independent_environments(scene_a, scene_b, tmp_path):
    """Env 1's robot moves exactly as it does when env 0 is removed, and each robot stays in its env."""
    cfg = WorldCfg(num_envs=2, robot_drives=False)
    stage = compose_world([scene_a, scene_b], "builtin", cfg)
    both = write_world(stage, tmp_path / "both.usda")
    stage.GetPrimAtPath("/World/envs/env_0000").SetActive(False)
    alone = write_world(stage, tmp_path / "alone.usda")
    pcfg = RobotPhysicsCfg(seconds=1.5)
    runs = {r.robot: r for r in simulate_robots(both, pcfg)}
    solo = {r.robot: r for r in simulate_robots(alone, pcfg)}
    assert set(runs) == {"/World/envs/env_0000/Robot", "/World/envs/env_0001/Robot"} and set(solo) == {"/World/envs/env_0001/Robot"}
    r1, s1 = runs["/World/envs/env_0001/Robot"], solo["/World/envs/env_0001/Robot"]
    np.testing.assert_allclose(r1.root_heights, s1.root_heights, atol=1e-4)
    np.testing.assert_allclose(r1.final_root_xy, s1.final_root_xy, atol=1e-4)
    # Each robot fell within its own environment's cell (the envs are a grid spacing apart).
    world = Usd.Stage.Open(str(both))
    from pxr import UsdGeom

    for run in runs.values():
        origin = np.array(UsdGeom.XformCache().GetLocalToWorldTransform(world.GetPrimAtPath(run.env)).ExtractTranslation())
        spacing = np.linalg.norm(np.diff([np.array(UsdGeom.XformCache().GetLocalToWorldTransform(
            world.GetPrimAtPath(f"/World/envs/env_{k:04d}")).ExtractTranslation()) for k in range(2)], axis=0))
        assert np.linalg.norm(run.final_root_xy - origin[:2]) < spacing / 2
