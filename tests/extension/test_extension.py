"""The Kit extension with fake omni modules: start-up/shut-down, menu, buttons editing the stage."""

import asyncio
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib
from pxr import UsdGeom, UsdPhysics

from lyra_sim.sim.open_stage import DRAW_KEY

EXTENSION_DIR = Path(__file__).parents[2] / "extension" / "lyra.sim.world"


def button(ui, text):
    found = [w for w in ui.widgets if type(w).__name__ == "Button" and w.text == text]
    assert len(found) == 1, f"one button {text!r} expected, found {len(found)}"
    return found[0]


def fields(ui, kind):
    return [w for w in ui.widgets if type(w).__name__ == kind]


def status(ui):
    return [w for w in ui.widgets if type(w).__name__ == "Label"][-1].text


@pytest.fixture
def started(kit):
    ext = kit.LyraSimWorldExtension()
    ext.on_startup("lyra.sim.world-0.1.0")
    yield kit, ext
    if ext._window is not None:
        ext.on_shutdown()


def test_extension_toml_names_an_existing_module():
    toml = tomllib.loads((EXTENSION_DIR / "config" / "extension.toml").read_text())
    package = toml["package"]
    for key in ("version", "title", "description", "readme", "changelog", "category"):
        assert package[key], key
    assert (EXTENSION_DIR / package["readme"]).is_file() and (EXTENSION_DIR / package["changelog"]).is_file()
    assert {"omni.kit.uiapp", "omni.usd", "omni.physx"} <= set(toml["dependencies"])
    modules = [m["name"] for m in toml["python"]["module"]]
    assert modules == ["lyra.sim.world"]
    assert (EXTENSION_DIR / "lyra" / "sim" / "world" / "__init__.py").is_file()
    assert toml["test"][0]["dependencies"]


def test_startup_adds_menu_and_window_shutdown_removes_them(kit):
    ext = kit.LyraSimWorldExtension()
    assert isinstance(ext, sys.modules["omni.ext"].IExt)
    ext.on_startup("lyra.sim.world-0.1.0")
    (window,) = kit.ui.windows
    assert window.title == "Lyra-Sim World" and window.visible is False
    entries = kit.menus["Window"]
    assert [e.name for e in entries] == ["Lyra-Sim World"]
    entries[0].onclick_fn()
    assert window.visible is True
    texts = {w.text for w in kit.ui.widgets if type(w).__name__ == "Button"}
    assert texts == {"Load scene", "Generate from prompt", "Drop robot", "Show colliders", "Re-randomize"}
    ext.on_shutdown()
    assert kit.menus["Window"] == [] and window.destroyed


def test_buttons_edit_the_open_stage(started, scene_dir):
    kit, ext = started
    stage = kit.holder["stage"]
    folder, _prompt, robot = fields(kit.ui, "StringField")
    folder.model.set_value(str(scene_dir))
    button(kit.ui, "Load scene").clicked_fn()
    scene = stage.GetPrimAtPath("/World/LyraSim/Scene")
    assert scene.GetMetadata("payload").GetAddedOrExplicitItems()[0].assetPath.endswith("scene.usda")
    collider = stage.GetPrimAtPath("/World/LyraSim/Scene/Collider")
    assert collider.HasAPI(UsdPhysics.CollisionAPI), status(kit.ui)
    # The stage had no physics scene, so one was authored; the scene's own stays inactive.
    active = [p.GetPath() for p in stage.Traverse() if p.IsA(UsdPhysics.Scene)]
    assert active == ["/World/LyraSim/PhysicsScene"]
    assert "Loaded /World/LyraSim/Scene" in status(kit.ui)

    assert robot.model.get_value_as_string() == "builtin"
    button(kit.ui, "Drop robot").clicked_fn()
    robot_prim = stage.GetPrimAtPath("/World/LyraSim/Robot")
    assert robot_prim.GetMetadata("references").GetAddedOrExplicitItems()[0].assetPath.endswith("humanoid.usda")
    draw = ext._world.draw
    r = draw.robots[0]
    cache = UsdGeom.XformCache()
    pos = np.array(cache.GetLocalToWorldTransform(robot_prim).ExtractTranslation())
    # Independent check: the scene's own spawn-point prim, carried by the scene's turn, plus the drawn offset.
    spawn = np.array(cache.GetLocalToWorldTransform(
        stage.GetPrimAtPath(f"/World/LyraSim/Scene/SpawnPoints/spawn_{r.spawn:03d}")).ExtractTranslation())
    turn = np.array(cache.GetLocalToWorldTransform(stage.GetPrimAtPath("/World/LyraSim/Scene")), float).T[:3, :3]
    np.testing.assert_allclose(pos[:2], spawn[:2] + turn[:2, :2] @ np.asarray(r.offset), atol=1e-5)
    assert pos[2] == pytest.approx(spawn[2] + r.drop_height, abs=1e-5)
    collider = stage.GetPrimAtPath("/World/LyraSim/Scene/Collider")  # re-authored with the robot's draw

    toggle = button(kit.ui, "Show colliders")
    toggle.clicked_fn()
    assert UsdGeom.Imageable(collider).ComputeVisibility() == UsdGeom.Tokens.inherited
    assert toggle.text == "Hide colliders"
    toggle.clicked_fn()
    assert UsdGeom.Imageable(collider).ComputeVisibility() == UsdGeom.Tokens.invisible

    before_yaw = stage.GetPrimAtPath("/World/LyraSim/Scene").GetAttribute("xformOp:rotateZ").Get()
    before_robot = pos
    button(kit.ui, "Re-randomize").clicked_fn()
    after_yaw = stage.GetPrimAtPath("/World/LyraSim/Scene").GetAttribute("xformOp:rotateZ").Get()
    after_robot = np.array(UsdGeom.XformCache().GetLocalToWorldTransform(
        stage.GetPrimAtPath("/World/LyraSim/Robot")).ExtractTranslation())
    assert after_yaw != before_yaw and not np.allclose(after_robot, before_robot)
    assert len(ext._world.history) == 3  # load, load-with-robot, re-randomize
    assert '"scene_yaw"' in stage.GetPrimAtPath("/World/LyraSim").GetCustomDataByKey(DRAW_KEY)
    assert status(kit.ui).startswith("Draw 2:")


def test_errors_show_in_the_status_line(started, tmp_path):
    kit, _ext = started
    stage = kit.holder["stage"]
    button(kit.ui, "Drop robot").clicked_fn()
    assert "load a scene first" in status(kit.ui)
    fields(kit.ui, "StringField")[0].model.set_value(str(tmp_path / "missing"))
    button(kit.ui, "Load scene").clicked_fn()
    assert "no such scene folder" in status(kit.ui)
    assert not stage.GetPrimAtPath("/World/LyraSim/Scene")


def test_prompt_runs_lyra_sim_generate(started, tmp_path):
    """The prompt button builds the `lyra-sim generate --prompt P --out DIR` command and runs it
    off Kit's main loop; an empty prompt is refused with a message."""
    kit, ext = started
    labels = [w.text for w in kit.ui.widgets if type(w).__name__ == "Label"]
    assert any("runs `lyra-sim generate`" in t for t in labels)
    button(kit.ui, "Generate from prompt").clicked_fn()  # no prompt typed yet
    assert "prompt is empty" in status(kit.ui) and ext._generating is None
    seen = {}

    async def record(argv, out):
        seen["argv"], seen["out"] = argv, out

    ext.run_generate = record
    fields(kit.ui, "StringField")[0].model.set_value(str(tmp_path / "kitchen"))
    fields(kit.ui, "StringField")[1].model.set_value("a kitchen")

    async def click():
        button(kit.ui, "Generate from prompt").clicked_fn()
        await ext._generating

    asyncio.run(click())
    argv = seen["argv"]
    assert argv[argv.index("generate"):] == ["generate", "--prompt", "a kitchen", "--out", str(tmp_path / "kitchen")]
    assert seen["out"] == str(tmp_path / "kitchen") and status(kit.ui).startswith("Generating into")


def test_generate_runs_a_child_process_then_loads_its_folder(started, scene_dir):
    kit, ext = started
    ok = [sys.executable, "-c", "print('done')"]
    asyncio.run(ext.run_generate(ok, str(scene_dir)))
    assert fields(kit.ui, "StringField")[0].model.get_value_as_string() == str(scene_dir)
    assert kit.holder["stage"].GetPrimAtPath("/World/LyraSim/Scene/Collider")
    bad = [sys.executable, "-c", "import sys; print('out of memory'); sys.exit(3)"]
    asyncio.run(ext.run_generate(bad, str(scene_dir)))
    assert status(kit.ui) == "lyra-sim generate failed (3): out of memory"


def test_a_new_stage_gets_the_scene_again(started, scene_dir):
    kit, _ext = started
    from pxr import Usd

    fields(kit.ui, "StringField")[0].model.set_value(str(scene_dir))
    button(kit.ui, "Load scene").clicked_fn()
    other = Usd.Stage.CreateInMemory()  # File > New in Kit: the default cm, Y-up stage
    UsdGeom.SetStageUpAxis(other, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(other, 0.01)
    kit.holder["stage"] = other
    button(kit.ui, "Re-randomize").clicked_fn()
    root = UsdGeom.Xformable(other.GetPrimAtPath("/World/LyraSim"))
    assert other.GetPrimAtPath("/World/LyraSim/Scene/Collider")
    m = np.array(root.GetLocalTransformation(), float).T
    # Z-up metres content in a Y-up centimetre stage: +Z maps onto +Y, 1 m onto 100 units.
    np.testing.assert_allclose(m[:3, :3] @ [0, 0, 1], [0, 100, 0], atol=1e-9)
