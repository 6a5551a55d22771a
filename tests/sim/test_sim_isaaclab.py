"""Isaac Lab configs from exported scenes, checked field by field against fake isaaclab modules."""

import sys
import types
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace

import numpy as np
import pytest
import torch
from pxr import Usd, UsdGeom, UsdPhysics

from lyra_sim.errors import InvalidInputError
from lyra_sim.sim import RandomizationCfg, WorldCfg, compose_world, read_world_record
from lyra_sim.sim import isaaclab as lab_helpers
from lyra_sim.sim.humanoid import ASSET_PATH, PELVIS_HEIGHT
from lyra_sim.sim.randomize import SceneLayoutCfg


class _Cfg:
    def replace(self, **kw):
        return dc_replace(self, **kw)


def fake_isaaclab() -> dict[str, types.ModuleType]:
    """Dataclass stand-ins with Isaac Lab 3's class and field names (the fields we set and a few defaults)."""

    @dataclass
    class UsdFileCfg(_Cfg):
        usd_path: str = ""

    @dataclass
    class MultiUsdFileCfg(_Cfg):
        usd_path: object = None
        random_choice: bool = True

    @dataclass
    class DomeLightCfg(_Cfg):
        intensity: float = 1.0

    @dataclass
    class ImplicitActuatorCfg(_Cfg):
        joint_names_expr: list = None
        stiffness: object = 0.0
        damping: object = 0.0

    @dataclass
    class AssetBaseCfg(_Cfg):
        prim_path: str = ""
        spawn: object = None

    @dataclass
    class ArticulationCfg(_Cfg):
        @dataclass
        class InitialStateCfg(_Cfg):
            pos: tuple = (0.0, 0.0, 0.0)
            rot: tuple = (1.0, 0.0, 0.0, 0.0)

        prim_path: str = ""
        spawn: object = None
        init_state: object = field(default_factory=lambda: ArticulationCfg.InitialStateCfg())
        actuators: dict = None

    @dataclass
    class EventTermCfg(_Cfg):
        func: object = None
        mode: str = ""
        params: dict = field(default_factory=dict)

    @dataclass
    class SceneEntityCfg(_Cfg):
        name: str = ""

    @dataclass
    class InteractiveSceneCfg(_Cfg):
        num_envs: int = 0
        env_spacing: float = 0.0
        lazy_sensor_update: bool = True
        replicate_physics: bool = True
        filter_collisions: bool = True
        clone_cfg: object = field(default_factory=lambda: types.SimpleNamespace(clone_strategy=None))

    @dataclass
    class TerrainImporterCfg(_Cfg):
        prim_path: str = ""
        terrain_type: str = "generator"
        usd_path: str | None = None
        env_spacing: float | None = None

    mods = {n: types.ModuleType(n) for n in (
        "isaaclab", "isaaclab.sim", "isaaclab.actuators", "isaaclab.assets", "isaaclab.managers", "isaaclab.scene",
        "isaaclab.terrains", "isaaclab_assets", "isaaclab_assets.robots", "isaaclab_assets.robots.unitree")}
    for cls, mod in [(UsdFileCfg, "isaaclab.sim"), (MultiUsdFileCfg, "isaaclab.sim"), (DomeLightCfg, "isaaclab.sim"),
                     (ImplicitActuatorCfg, "isaaclab.actuators"), (AssetBaseCfg, "isaaclab.assets"),
                     (ArticulationCfg, "isaaclab.assets"), (EventTermCfg, "isaaclab.managers"),
                     (SceneEntityCfg, "isaaclab.managers"), (InteractiveSceneCfg, "isaaclab.scene"),
                     (TerrainImporterCfg, "isaaclab.terrains")]:
        setattr(mods[mod], cls.__name__, cls)
    mods["isaaclab"].sim = mods["isaaclab.sim"]
    h1 = ArticulationCfg(prim_path="/World/Robot", spawn=UsdFileCfg("{ISAACLAB_NUCLEUS_DIR}/Robots/Unitree/H1/h1.usd"),
                         init_state=ArticulationCfg.InitialStateCfg(pos=(0.0, 0.0, 1.05)), actuators={"legs": None})
    mods["isaaclab_assets.robots.unitree"].H1_CFG = h1
    return mods


@pytest.fixture
def lab(monkeypatch):
    mods = fake_isaaclab()
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, name, mod)
    return mods


def test_without_isaaclab_the_helpers_say_where_to_run(scene_a, monkeypatch):
    monkeypatch.setitem(sys.modules, "isaaclab", None)  # import isaaclab -> ImportError
    pool = lab_helpers.plan_pool([scene_a], 2, "builtin")  # the plan itself needs no Isaac Lab
    for call in (lambda: lab_helpers.terrain_cfg(scene_a), lambda: lab_helpers.scene_cfg(pool),
                 lambda: lab_helpers.event_terms(pool)):
        with pytest.raises(lab_helpers.IsaacLabMissingError, match="inside Isaac Lab 3"):
            call()


def test_importing_the_helpers_needs_no_isaaclab():
    import subprocess

    code = ("import sys; sys.modules['isaaclab'] = None; import lyra_sim.sim, lyra_sim.sim.isaaclab; "
            "print(sorted(m for m in sys.modules if m.startswith('isaaclab')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['isaaclab']"  # only the blocker: nothing imported Isaac Lab


def test_terrain_from_one_exported_scene(lab, scene_a):
    cfg = lab_helpers.terrain_cfg(scene_a)
    assert type(cfg) is lab["isaaclab.terrains"].TerrainImporterCfg
    assert cfg.prim_path == "/World/ground" and cfg.terrain_type == "usd"
    assert cfg.usd_path == str((scene_a / "scene.usda").resolve())


def test_pool_draws_match_the_composed_world(scene_a, scene_b):
    rand = RandomizationCfg(seed=7)
    pool = lab_helpers.plan_pool([scene_a, scene_b], 4, "builtin", rand)
    world = compose_world([scene_a, scene_b], "builtin", WorldCfg(num_envs=4, randomization=rand))
    assert pool.draws == read_world_record(world)["draws"]
    assert pool.env_spacing == pytest.approx(read_world_record(world)["env_spacing"])
    for i in range(4):
        # The first reset puts the root where lyra-sim world put the robot (relative to its env).
        robot = UsdGeom.Xformable(world.GetPrimAtPath(f"/World/envs/env_{i:04d}/Robot"))
        local = np.array(robot.GetLocalTransformation(), float).T
        pose = pool.root_pose(i, 0)  # the root link: the pelvis, PELVIS_HEIGHT above the asset origin
        np.testing.assert_allclose(pose[:3], local[:3, 3] + [0.0, 0.0, PELVIS_HEIGHT], atol=1e-6)
        np.testing.assert_allclose(pool.floor_point(i, 0), local[:3, 3] - [0.0, 0.0, pool.draws.envs[i].robots[0].drop_height],
                                   atol=1e-6)
        yaw = np.degrees(2 * np.arctan2(pose[5], pose[6]))  # Isaac Lab 3: (x, y, z, w)
        assert (yaw - pool.draws.envs[i].robots[0].yaw + 180) % 360 - 180 == pytest.approx(0, abs=1e-6)


def test_later_resets_draw_new_spawns_reproducibly(scene_a):
    pool = lab_helpers.plan_pool([scene_a], 3, "builtin", RandomizationCfg(seed=1))
    first = [pool.reset_draw(i, 0) for i in range(3)]
    later = [pool.reset_draw(i, 240) for i in range(3)]
    assert later == [pool.reset_draw(i, 240) for i in range(3)]  # same seed and step: same draw
    assert [d.robots for d in later] != [d.robots for d in first]
    for a, b in zip(first, later):  # the scene, its layout and material stay
        assert (a.scene, a.scene_yaw, a.static_friction) == (b.scene, b.scene_yaw, b.static_friction)
    n_spawns = len(pool.scenes[0].spawn_points)
    assert all(0 <= d.robots[0].spawn < n_spawns for d in later)


def test_random_scene_choice_is_refused(scene_a):
    with pytest.raises(InvalidInputError, match="choice='cycle'"):
        lab_helpers.plan_pool([scene_a], 2, None, RandomizationCfg(scene=SceneLayoutCfg(choice="random")))


def test_interactive_scene_cfg_field_by_field(lab, scene_a, scene_b):
    pool = lab_helpers.plan_pool([scene_a, scene_b], 6, "builtin")
    cfg = lab_helpers.scene_cfg(pool)
    assert type(cfg) is lab["isaaclab.scene"].InteractiveSceneCfg
    assert (cfg.num_envs, cfg.env_spacing, cfg.replicate_physics) == (6, pool.env_spacing, False)
    assert cfg.clone_cfg.clone_strategy is lab_helpers.cycle_worlds
    assert cfg.scene.prim_path == "{ENV_REGEX_NS}/Scene"
    assert type(cfg.scene.spawn) is lab["isaaclab.sim"].MultiUsdFileCfg
    assert cfg.scene.spawn.usd_path == [str((p / "scene.usda").resolve()) for p in (scene_a, scene_b)]
    assert cfg.scene.spawn.random_choice is False
    robot = cfg.robot
    assert type(robot) is lab["isaaclab.assets"].ArticulationCfg
    assert robot.prim_path == "{ENV_REGEX_NS}/Robot" and robot.spawn.usd_path == str(ASSET_PATH)
    assert robot.init_state.pos == (0.0, 0.0, PELVIS_HEIGHT)  # init_state is the root link's: spawn + standing height
    act = robot.actuators["all_joints"]
    assert (act.joint_names_expr, act.stiffness, act.damping) == ([".*"], None, None)
    assert cfg.light.prim_path == "/World/Light" and cfg.light.spawn.intensity == 1000.0


def test_h1_uses_isaac_labs_own_config(lab, scene_a):
    pool = lab_helpers.plan_pool([scene_a], 2, "h1")  # no assets root needed: Isaac Lab resolves it
    assert pool.robot.spawn_height == pool.robot.root_height == 1.05  # H1's origin is its pelvis
    robot = lab_helpers.scene_cfg(pool).robot
    assert robot.prim_path == "{ENV_REGEX_NS}/Robot"
    assert robot.spawn.usd_path.endswith("Robots/Unitree/H1/h1.usd") and robot.actuators == {"legs": None}
    assert lab["isaaclab_assets.robots.unitree"].H1_CFG.prim_path == "/World/Robot"  # the original is untouched


def test_event_terms_field_by_field(lab, scene_a):
    pool = lab_helpers.plan_pool([scene_a], 2, "builtin")
    terms = lab_helpers.event_terms(pool)
    assert {k: (t.func, t.mode) for k, t in terms.items()} == {
        "place_scenes": (lab_helpers.place_scenes, "prestartup"),
        "collider_material": (lab_helpers.set_collider_materials, "prestartup"),
        "reset_robot": (lab_helpers.reset_robot_at_spawn_points, "reset"),
    }
    assert all(t.params["pool"] is pool for t in terms.values())
    assert terms["reset_robot"].params["asset_cfg"].name == "robot"
    assert "reset_robot" not in lab_helpers.event_terms(lab_helpers.plan_pool([scene_a], 2, None))


class FakeEnv:
    """What the event functions read from Isaac Lab's ManagerBasedEnv: scene.stage,
    scene.env_prim_paths, scene.env_origins, scene[name], num_envs, device, common_step_counter."""

    def __init__(self, stage, n, spacing):
        self.num_envs, self.device, self.common_step_counter = n, "cpu", 0
        self.robot = types.SimpleNamespace(calls=[])
        self.robot.write_root_pose_to_sim_index = lambda *, root_pose, env_ids: self.robot.calls.append(
            ("pose", root_pose, env_ids))
        self.robot.write_root_velocity_to_sim_index = lambda *, root_velocity, env_ids: self.robot.calls.append(
            ("vel", root_velocity, env_ids))
        origins = torch.tensor([[i * spacing, 0.0, 0.0] for i in range(n)])
        self.scene = types.SimpleNamespace(stage=stage, env_prim_paths=[f"/World/envs/env_{i}" for i in range(n)],
                                           env_origins=origins, __getitem__=None)
        self.scene = _Scene(self.scene, {"robot": self.robot})


class _Scene(types.SimpleNamespace):
    def __init__(self, ns, entities):
        super().__init__(**vars(ns))
        self._entities = entities

    def __getitem__(self, name):
        return self._entities[name]


def cloned_stage(pool):
    """Roughly what Isaac Lab's multi-USD spawner leaves: env i references scene i mod P, with its own ops."""
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    for i in range(pool.num_envs):
        xf = UsdGeom.Xform.Define(stage, f"/World/envs/env_{i}/Scene")
        xf.GetPrim().GetReferences().AddReference(str(pool.scenes[i % len(pool.scenes)].usd))
        xf.AddTranslateOp().Set((0.0, 0.0, 0.0))
        xf.AddOrientOp().Set(__import__("pxr").Gf.Quatf(1.0))
    return stage


def test_prestartup_events_lay_out_scenes_like_the_composed_world(scene_a, scene_b):
    pool = lab_helpers.plan_pool([scene_a, scene_b], 3, "builtin", RandomizationCfg(seed=5))
    world = compose_world([scene_a, scene_b], "builtin", WorldCfg(num_envs=3, randomization=RandomizationCfg(seed=5)))
    env = FakeEnv(cloned_stage(pool), 3, pool.env_spacing)
    lab_helpers.place_scenes(env, None, pool)
    lab_helpers.set_collider_materials(env, None, pool)
    for i in range(3):
        ours = UsdGeom.Xformable(env.scene.stage.GetPrimAtPath(f"/World/envs/env_{i}/Scene"))
        theirs = UsdGeom.Xformable(world.GetPrimAtPath(f"/World/envs/env_{i:04d}/Scene"))
        np.testing.assert_allclose(np.array(ours.GetLocalTransformation()), np.array(theirs.GetLocalTransformation()),
                                   atol=1e-6)  # compose writes rotateZ as float
        stage = env.scene.stage
        assert not stage.GetPrimAtPath(f"/World/envs/env_{i}/Scene/PhysicsScene").IsActive()
        mat = stage.GetPrimAtPath(f"/World/envs/env_{i}/Scene/Looks/ColliderMaterial")
        assert mat.GetAttribute("physics:staticFriction").Get() == pytest.approx(pool.draws.envs[i].static_friction)
        assert mat.GetAttribute("physics:restitution").Get() == pytest.approx(pool.draws.envs[i].restitution)
    assert [p for p in env.scene.stage.Traverse() if p.IsA(UsdPhysics.Scene)] == []
    with pytest.raises(InvalidInputError, match="no scene prim"):
        lab_helpers.place_scenes(FakeEnv(Usd.Stage.CreateInMemory(), 1, 1.0), None, pool)


def test_reset_event_writes_spawn_poses_in_world_frame(scene_a):
    pool = lab_helpers.plan_pool([scene_a], 4, "builtin", RandomizationCfg(seed=2))
    env = FakeEnv(None, 4, 20.0)
    ids = torch.tensor([1, 3])
    lab_helpers.reset_robot_at_spawn_points(env, ids, pool, types.SimpleNamespace(name="robot"))
    (_, pose, pose_ids), (_, vel, vel_ids) = env.robot.calls
    assert pose.shape == (2, 7) and pose.dtype == torch.float32 and vel.abs().sum() == 0 and vel.shape == (2, 6)
    assert pose_ids.tolist() == vel_ids.tolist() == [1, 3]
    for row, i in zip(pose.numpy(), [1, 3]):
        expected = pool.root_pose(i, 0)
        expected[0] += 20.0 * i
        np.testing.assert_allclose(row, expected, atol=1e-4)
        assert np.linalg.norm(row[3:]) == pytest.approx(1.0, abs=1e-6)
    env.common_step_counter = 500
    lab_helpers.reset_robot_at_spawn_points(env, ids, pool, types.SimpleNamespace(name="robot"))
    assert not torch.allclose(env.robot.calls[2][1], pose)  # a later reset: a fresh draw


def test_cycle_worlds_gives_env_i_world_i_mod_p():
    assert lab_helpers.cycle_worlds(np.ones(3), 7).tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert lab_helpers.cycle_worlds(np.ones(1), 2).tolist() == [0, 0]


def test_replicated_pool_keeps_scenes_as_exported(lab, scene_a, scene_b):
    """Isaac Lab 3's Newton imports each scene once and copies it per env: no yaw, shift or centring."""
    pool = lab_helpers.plan_pool([scene_a, scene_b], 4, "builtin", RandomizationCfg(seed=4), replicate_physics=True)
    assert all(d.scene_yaw == 0.0 and d.scene_offset == (0.0, 0.0) for d in pool.draws.envs)
    assert lab_helpers.scene_cfg(pool).replicate_physics is True
    assert list(lab_helpers.event_terms(pool)) == ["reset_robot"]  # no USD edits Newton would not see
    for i in range(4):
        draw = pool.draws.envs[i]
        spawn = np.array(pool.scenes[draw.scene].spawn_points[draw.robots[0].spawn].position, float)
        floor = pool.floor_point(i, 0)
        np.testing.assert_allclose(floor[:2], spawn[:2] + draw.robots[0].offset, atol=1e-6)  # in the scene's own frame
        assert pool.root_pose(i, 0)[2] == pytest.approx(floor[2] + PELVIS_HEIGHT + draw.robots[0].drop_height)
    reach = max(float(np.abs(s.bounds[:, :2]).max()) for s in pool.scenes)
    assert pool.env_spacing >= 2 * reach  # neighbours never overlap although not centred
    # The robots still start at freshly drawn spawn points on later resets.
    assert [pool.reset_draw(i, 100).robots for i in range(4)] != [d.robots for d in pool.draws.envs]
