"""`lyra-sim check`: OpenUSD validators with negative controls, and the real PhysX drop test."""

import shutil
import sys

import numpy as np
import pytest
from pxr import Usd

from lyra_sim.cli import main
from lyra_sim.export import format_report
from lyra_sim.export.physics_check import check_world
from lyra_sim.export.usd_physics import SPAWN_ROOT


def copy_world(world, tmp_path):
    out, _ = world
    for f in out.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "scene.usda"


def test_exported_world_passes_every_validator(world):
    out, _ = world
    result = check_world(out / "scene.usda", drop=False)
    assert result.errors == []
    # Validators alone are not a pass: nothing was dropped.
    assert (result.status, result.drop_test, result.reason) == ("skipped", "skipped", "not asked for")
    assert not result.passed and result.to_dict()["status"] == "skipped"
    assert main(["check", str(out / "scene.usda"), "--no-drop"]) == 0


def test_world_without_spawn_points_fails_the_check(world, tmp_path, capsys):
    path = copy_world(world, tmp_path)
    stage = Usd.Stage.Open(str(path))
    assert stage.RemovePrim(SPAWN_ROOT)
    stage.Save()
    checked = check_world(path)
    assert checked.errors == []  # valid USD, but a robot has nowhere to start
    assert (checked.status, checked.drop_test, checked.reason) == ("failed", "failed", "no spawn points")
    assert checked.drops == [] and checked.to_dict()["status"] == "failed"
    capsys.readouterr()
    assert main(["check", str(path)]) == 2  # nothing can be placed: one line saying what to do
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no spawn points" in err[0]


def test_drop_test_without_physx_is_skipped_not_passed(world, monkeypatch, capsys):
    out, exported = world
    monkeypatch.setitem(sys.modules, "ovphysx", None)  # `import ovphysx` raises ImportError, as when it is missing
    checked = check_world(out / "scene.usda")
    assert (checked.status, checked.drop_test) == ("skipped", "skipped") and not checked.passed
    assert "ovphysx" in checked.reason and "not installed" in checked.reason
    assert checked.to_dict()["status"] == "skipped" and checked.to_dict()["reason"] == checked.reason
    summary = format_report({**exported.report, "physics_check": checked.to_dict()})
    assert "physics check" in summary and "skipped: " in summary and "not installed" in summary
    capsys.readouterr()
    assert main(["check", str(out / "scene.usda")]) == 0  # the world is not at fault
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if not ln.startswith("physics check (")]  # its bar
    assert len(err) == 1 and err[0].startswith("lyra-sim check: physics check skipped: physx skipped: PhysX on CPU (ovphysx) is not installed")


@pytest.fixture(scope="module")
def physx():
    return pytest.importorskip(
        "ovphysx", reason="ovphysx (PhysX on CPU) is a test-only dependency: pip install --no-deps ovphysx ovstage "
                          "warp-lang physx-usd-schemas (needs x86-64 with AVX)"
    )


def test_drop_test_bodies_rest_on_the_collider(world, physx):
    out, result = world
    assert result.spawn_points, "the fixture world has spawn points"
    checked = check_world(out / "scene.usda")
    assert checked.drop_test == "passed", checked.summary()
    assert checked.status == "passed" and checked.passed and checked.reason is None
    assert checked.to_dict()["status"] == "passed"
    assert {d.body for d in checked.drops} == {"capsule", "box"}
    assert len(checked.drops) == 2 * len(result.spawn_points)
    for d in checked.drops:
        assert abs(d.final_z - d.expected_z) < 0.05 and d.speed < 0.05


def test_drop_test_fails_without_a_collider(world, physx, tmp_path):
    """Negative control: with collision switched off the bodies fall through and the check fails."""
    path = copy_world(world, tmp_path)
    stage = Usd.Stage.Open(str(path))
    stage.GetPrimAtPath("/World/Collider").GetAttribute("physics:collisionEnabled").Set(False)
    stage.Save()
    checked = check_world(path)
    assert checked.drop_test == "failed" and checked.status == "failed" and not checked.passed
    assert checked.to_dict()["status"] == "failed"
    assert all(d.final_z < d.expected_z - 0.5 for d in checked.drops)


def test_drop_test_on_a_10_degree_ramp(physx, tmp_path):
    """On a ramp rising to 2 m the capsule rests radius / cos(10 deg) above the plane, the box lies
    tilted flat on it (tan 10 deg = 0.18 < friction 0.8: neither slides)."""
    from export_scenes import ramp, write_terrain_scene

    from lyra_sim.export import CollisionProxy, PhysicsCheckCfg, SpawnCfg, find_spawn_points

    points = find_spawn_points(CollisionProxy(*ramp(10.0, 2.0)), SpawnCfg(num_points=4))
    assert len(points) == 4 and max(p.position[2] for p in points) > 1.0
    cfg = PhysicsCheckCfg()
    checked = check_world(write_terrain_scene(tmp_path, CollisionProxy(*ramp(10.0, 2.0)), points), cfg)
    assert checked.status == "passed", checked.summary()
    assert len(checked.drops) == 8
    t = np.radians(10.0)
    for d in checked.drops:
        ground = points[d.spawn_index].position[0] * np.tan(t)
        if d.body == "capsule":
            expected = ground + cfg.capsule_radius / np.cos(t) + cfg.capsule_height / 2
        else:
            # The box's centre sits half an edge along the normal from the point, which is a little downhill.
            expected = ground + np.cos(t) * cfg.box_size / 2
        assert d.expected_z == pytest.approx(expected, abs=1e-3)
        # Flat-floor rules would have put the capsule 4 cm higher (radius above the footprint's highest point).
        assert abs(d.final_z - d.expected_z) < 0.02 and d.speed < cfg.max_speed, d
