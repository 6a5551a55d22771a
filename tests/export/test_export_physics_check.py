"""`lyra-sim check`: OpenUSD validators with negative controls, and the real PhysX drop test."""

import shutil

import pytest
from pxr import Usd, UsdGeom

from lyra_sim.export.physics_check import check_world, validate_stage
from lyra_sim.export.usd_gaussians import author_gaussians, new_stage


def test_exported_world_passes_every_validator(world):
    out, _ = world
    result = check_world(out / "scene.usda", drop=False)
    assert result.errors == [] and result.passed
    assert result.drop_test.startswith("skipped")


def test_validators_catch_broken_stages(room_scene):
    bare = Usd.Stage.CreateInMemory()
    UsdGeom.Xform.Define(bare, "/World")
    names = {i.validator for i in validate_stage(bare) if i.severity == "error"}
    messages = " ".join(i.message for i in validate_stage(bare))
    assert "lyraSim:Physics" in names  # no physics scene, no collider
    assert "upAxis" in messages or "UpAxis" in messages  # stock StageMetadataChecker
    stage = new_stage()
    gs = author_gaussians(stage, "/World/g", room_scene[:10])
    gs.GetScalesAttr().Set(gs.GetScalesAttr().Get()[:5])
    assert any(i.validator == "lyraSim:ParticleField" for i in validate_stage(stage))


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
    assert {d.body for d in checked.drops} == {"capsule", "box"}
    assert len(checked.drops) == 2 * len(result.spawn_points)
    for d in checked.drops:
        assert abs(d.final_z - d.expected_z) < 0.05 and d.speed < 0.05


def test_drop_test_fails_without_a_collider(world, physx, tmp_path):
    """Negative control: with collision switched off the bodies fall through and the check fails."""
    out, _ = world
    for f in out.iterdir():
        shutil.copy(f, tmp_path / f.name)
    stage = Usd.Stage.Open(str(tmp_path / "scene.usda"))
    stage.GetPrimAtPath("/World/Collider").GetAttribute("physics:collisionEnabled").Set(False)
    stage.Save()
    checked = check_world(tmp_path / "scene.usda")
    assert checked.drop_test == "failed" and not checked.passed
    assert all(d.final_z < d.expected_z - 0.5 for d in checked.drops)
