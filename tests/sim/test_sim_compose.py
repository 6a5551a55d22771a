"""compose_world on in-memory stages: payloads, transforms, one physics scene, robots at spawn points."""

import math

import numpy as np
import pytest
from pxr import Usd, UsdGeom, UsdLux, UsdPhysics

from lyra_sim.errors import InvalidInputError
from lyra_sim.sim import (
    WorldCfg,
    compose_world,
    open_scene,
    read_world_record,
    set_collider_visibility,
    write_world,
)
from lyra_sim.sim.compose import FLOOR_HEIGHT_ATTR, grid_origins
from lyra_sim.sim.humanoid import ASSET_PATH


def world_pos(stage, path):
    return np.array(UsdGeom.XformCache().GetLocalToWorldTransform(stage.GetPrimAtPath(path)).ExtractTranslation())


def test_world_holds_scenes_as_payloads_with_one_physics_scene(scene_a, scene_b):
    stage = compose_world([scene_a, scene_b], "builtin", WorldCfg(num_envs=4))
    assert UsdGeom.GetStageUpAxis(stage) == "Z" and UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert stage.GetDefaultPrim().GetPath() == "/World"
    scenes = [stage.GetPrimAtPath(f"/World/envs/env_{i:04d}/Scene") for i in range(4)]
    payloads = [s.GetMetadata("payload").GetAddedOrExplicitItems()[0].assetPath for s in scenes]
    # "cycle": env i holds scene i mod 2
    assert payloads == [str((p / "scene.usda").resolve()) for p in (scene_a, scene_b, scene_a, scene_b)]
    active_scenes = [p.GetPath() for p in stage.Traverse() if p.IsA(UsdPhysics.Scene)]
    assert active_scenes == ["/World/PhysicsScene"]
    assert stage.GetPrimAtPath("/World/envs/env_0001/Scene/PhysicsScene").IsActive() is False
    assert stage.GetPrimAtPath("/World/Lights/Dome").IsA(UsdLux.DomeLight)
    assert all(stage.GetPrimAtPath(f"/World/envs/env_{i:04d}/Light").IsA(UsdLux.SphereLight) for i in range(4))
    # Each environment's collider is present, composed through the payload.
    assert stage.GetPrimAtPath("/World/envs/env_0003/Scene/Collider").HasAPI(UsdPhysics.CollisionAPI)


def test_robots_stand_on_their_spawn_points(scene_a):
    cfg = WorldCfg(num_envs=3)
    stage = compose_world([scene_a], "builtin", cfg)
    scene = open_scene(scene_a)
    record = read_world_record(stage)
    for draw in record["draws"].envs:
        env = f"/World/envs/env_{draw.env:04d}"
        robot = stage.GetPrimAtPath(f"{env}/Robot")
        assert robot.GetMetadata("references").GetAddedOrExplicitItems()[0].assetPath == str(ASSET_PATH)
        assert robot.HasAPI(UsdPhysics.ArticulationRootAPI) or stage.GetPrimAtPath(f"{env}/Robot/pelvis").HasAPI(UsdPhysics.ArticulationRootAPI)
        # The spawn point, carried through the scene's yaw/offset, is where the robot stands.
        r = draw.robots[0]
        spawn_local = np.array(scene.spawn_points[r.spawn].position, float)
        spawn_local[:2] += r.offset
        xf = np.array(UsdGeom.XformCache().GetLocalToWorldTransform(stage.GetPrimAtPath(f"{env}/Scene")), float).T
        expected = xf[:3, :3] @ spawn_local + xf[:3, 3]
        got = world_pos(stage, f"{env}/Robot")
        np.testing.assert_allclose(got[:2], expected[:2], atol=1e-6)
        assert got[2] == pytest.approx(expected[2] + r.drop_height, abs=1e-6)
        assert robot.GetAttribute(FLOOR_HEIGHT_ATTR).Get() == pytest.approx(spawn_local[2], abs=1e-6)
        yaw = robot.GetAttribute("xformOp:rotateZ").Get()
        assert yaw == pytest.approx(r.yaw, abs=1e-4)
        # The scene's spawn-point Xform lands at the same place (independent check of the transform).
        spawn_prim = world_pos(stage, f"{env}/Scene/SpawnPoints/spawn_{r.spawn:03d}")
        np.testing.assert_allclose(spawn_prim[:2] + xf[:2, :2] @ np.asarray(r.offset), got[:2], atol=1e-5)


def test_environments_do_not_overlap(scene_a, scene_b):
    stage = compose_world([scene_a, scene_b], [], WorldCfg(num_envs=4))
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.guide, UsdGeom.Tokens.default_])
    boxes = []
    for i in range(4):
        box = cache.ComputeWorldBound(stage.GetPrimAtPath(f"/World/envs/env_{i:04d}/Scene/Collider")).ComputeAlignedRange()
        boxes.append((np.array(box.GetMin()), np.array(box.GetMax())))
    for i in range(4):
        for j in range(i + 1, 4):
            (lo1, hi1), (lo2, hi2) = boxes[i], boxes[j]
            assert (hi1[:2] < lo2[:2]).any() or (hi2[:2] < lo1[:2]).any(), f"envs {i} and {j} overlap"


def test_material_and_ragdoll_overrides(scene_a):
    stage = compose_world([scene_a], "builtin", WorldCfg(num_envs=2, robot_drives=False))
    draws = read_world_record(stage)["draws"].envs
    for d in draws:
        mat = stage.GetPrimAtPath(f"/World/envs/env_{d.env:04d}/Scene/Looks/ColliderMaterial")
        assert mat.GetAttribute("physics:staticFriction").Get() == pytest.approx(d.static_friction)
        assert mat.GetAttribute("physics:dynamicFriction").Get() == pytest.approx(d.dynamic_friction)
        assert d.dynamic_friction <= d.static_friction
    knee = stage.GetPrimAtPath("/World/envs/env_0000/Robot/joints/left_knee")
    shoulder = stage.GetPrimAtPath("/World/envs/env_0000/Robot/joints/left_shoulder")
    passive = WorldCfg().ragdoll_joint_damping * math.pi / 180.0  # N m s/deg
    for prim, axis in ((knee, "angular"), (shoulder, "rotX"), (shoulder, "rotY"), (shoulder, "rotZ")):
        assert prim.GetAttribute(f"drive:{axis}:physics:stiffness").Get() == 0.0
        assert prim.GetAttribute(f"drive:{axis}:physics:damping").Get() == pytest.approx(passive) and passive > 0
    driven = compose_world([scene_a], "builtin", WorldCfg(num_envs=1))
    assert driven.GetPrimAtPath("/World/envs/env_0000/Robot/joints/left_knee").GetAttribute(
        "drive:angular:physics:stiffness").Get() > 10.0


def test_collider_visibility_toggle(scene_a):
    stage = compose_world([scene_a], [], WorldCfg(num_envs=2))
    collider = UsdGeom.Imageable(stage.GetPrimAtPath("/World/envs/env_0000/Scene/Collider"))
    assert collider.ComputeVisibility() == "invisible"
    assert set_collider_visibility(stage, True) == 2
    assert collider.ComputeVisibility() == "inherited" and collider.GetPurposeAttr().Get() == "default"
    set_collider_visibility(stage, False)
    assert collider.ComputeVisibility() == "invisible"


def test_written_world_is_relative_and_replays(scene_a, scene_b, tmp_path):
    stage = compose_world([scene_a, scene_b], "builtin", WorldCfg(num_envs=3))
    out = write_world(stage, tmp_path / "world.usda")
    reopened = Usd.Stage.Open(str(out))
    payload = reopened.GetPrimAtPath("/World/envs/env_0000/Scene").GetMetadata("payload").GetAddedOrExplicitItems()[0]
    assert not payload.assetPath.startswith("/")  # relative to the world file
    assert reopened.GetPrimAtPath("/World/envs/env_0000/Scene/Collider")  # and it resolves
    record = read_world_record(reopened)
    again = compose_world([scene_a, scene_b], "builtin", WorldCfg(num_envs=3, randomization=type(WorldCfg().randomization)(seed=99)),
                          draws=record["draws"])
    def body(st):  # the record differs only in the (unused) seed of the cfg
        return [line for line in st.GetRootLayer().ExportToString().splitlines() if "lyra_sim_world" not in line]

    assert body(again) == body(stage)
    assert read_world_record(again)["draws"] == record["draws"]
    with pytest.raises(Exception, match="exists"):
        write_world(stage, out)


def test_a_written_world_moves_with_its_folder(scene_a, tmp_path):
    import shutil

    bundle = tmp_path / "bundle"
    shutil.copytree(scene_a, bundle / "scenes" / "a")
    out = write_world(compose_world([bundle / "scenes" / "a"], "builtin", WorldCfg(num_envs=2)), bundle / "world.usda")
    assert (bundle / "assets" / "humanoid.usda").is_file()  # the packaged robot travels with the world
    moved = tmp_path / "elsewhere" / "moved"
    shutil.move(str(bundle), str(moved))
    stage = Usd.Stage.Open(str(moved / out.name))
    assert stage.GetPrimAtPath("/World/envs/env_0001/Scene/Collider")  # scene payload resolves
    robot = stage.GetPrimAtPath("/World/envs/env_0000/Robot")
    assert robot and list(robot.GetChildren())  # robot reference resolves from ./assets
    text = stage.GetRootLayer().ExportToString()
    assert str(tmp_path) not in text  # no absolute path of the old place anywhere
    assert read_world_record(stage)["scenes"] == [(moved / "scenes" / "a").resolve().as_posix()]


def test_grid_is_centred_and_spaced():
    o = grid_origins(5, 10.0)
    assert o.shape == (5, 3) and np.allclose(o.mean(0)[2], 0)
    d = np.linalg.norm(o[:, None, :2] - o[None, :, :2], axis=-1)
    assert d[d > 0].min() == pytest.approx(10.0)


def test_bad_inputs_are_clear_errors(scene_a, tmp_path):
    with pytest.raises(InvalidInputError, match="no such scene folder"):
        compose_world([tmp_path / "missing"], "builtin")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="holds no scene.usda"):
        compose_world([tmp_path / "empty"], "builtin")
    with pytest.raises(InvalidInputError, match="unknown robot 'robby'; choose one of h1, g1, builtin"):
        compose_world([scene_a], "robby")
    with pytest.raises(InvalidInputError, match="Isaac Sim asset"):
        compose_world([scene_a], "h1")
    with pytest.raises(InvalidInputError, match="does not exist"):
        compose_world([scene_a], str(tmp_path / "nope.usd"))
    with pytest.raises(InvalidInputError, match="spawn point"):
        compose_world([scene_a], ["builtin"] * 9)


def test_scene_without_collider_is_refused(tmp_path):
    from sim_scenes import export_room

    out = export_room(tmp_path / "nocollider", "a living room", 0, collider=False)
    with pytest.raises(InvalidInputError, match="no collider.*--no-collider"):
        compose_world([out], "builtin")


def test_isaac_robots_resolve_against_the_assets_root(scene_a, monkeypatch):
    monkeypatch.setenv("ISAACSIM_ASSET_ROOT", "https://assets.example/Isaac/6.0/")
    stage = compose_world([scene_a], "h1", WorldCfg(num_envs=1))
    robot = stage.GetPrimAtPath("/World/envs/env_0000/Robot")
    assert robot.GetMetadata("references").GetAddedOrExplicitItems()[0].assetPath == \
        "https://assets.example/Isaac/6.0/Isaac/Robots/Unitree/H1/h1.usd"
    # H1's origin is its pelvis: it is placed 1.05 m above the floor.
    assert world_pos(stage, "/World/envs/env_0000/Robot")[2] - robot.GetAttribute(FLOOR_HEIGHT_ATTR).Get() == \
        pytest.approx(1.05 + 0.02, abs=1e-6)


def test_robots_on_a_ramp_face_up_or_down_it_with_ankles_pitched_to_it(ramp_10):
    """On 10 degree ground the builtin humanoid faces straight up or down the slope (the ramp rises
    along the scene's +x, turned by the scene's yaw), its ankle drives at -10 / +10 degrees, and the
    drawn offset from the spawn point follows the ramp's plane."""
    cfg = WorldCfg(num_envs=6)
    cfg.randomization.robot.position_jitter = 0.2
    stage = compose_world([ramp_10], "builtin", cfg)
    scene = open_scene(ramp_10)
    for draw in read_world_record(stage)["draws"].envs:
        env = f"/World/envs/env_{draw.env:04d}"
        robot = UsdGeom.Xformable(stage.GetPrimAtPath(f"{env}/Robot"))
        yaw = next(op.Get() for op in robot.GetOrderedXformOps() if op.GetOpName() == "xformOp:rotateZ")
        facing_up = math.cos(math.radians(yaw - draw.scene_yaw)) > 0
        assert math.sin(math.radians(yaw - draw.scene_yaw)) == pytest.approx(0.0, abs=1e-5)  # normal3f: float
        # The nearer of the two headings to the drawn one.
        assert facing_up == (math.cos(math.radians(draw.robots[0].yaw - draw.scene_yaw)) >= 0)
        for side in ("left", "right"):
            ankle = stage.GetPrimAtPath(f"{env}/Robot/joints/{side}_ankle")  # D6: rotY pitches, rotX rolls
            drive = UsdPhysics.DriveAPI(ankle, "rotY")
            assert drive.GetTargetPositionAttr().Get() == pytest.approx(-10.0 if facing_up else 10.0, abs=1e-3)
            assert UsdPhysics.DriveAPI(ankle, "rotX").GetTargetPositionAttr().Get() == 0.0  # roll stays level
        r = draw.robots[0]
        spawn = np.array(scene.spawn_points[r.spawn].position, float)
        floor = stage.GetPrimAtPath(f"{env}/Robot").GetAttribute(FLOOR_HEIGHT_ATTR).Get()
        assert floor == pytest.approx((spawn[0] + r.offset[0]) * math.tan(math.radians(10.0)), abs=1e-3)
