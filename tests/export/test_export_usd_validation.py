"""OpenUSD validators plus lyra-sim's rules, with negative controls."""

from pxr import Usd, UsdGeom

from lyra_sim.export.usd_gaussians import author_gaussians, new_stage
from lyra_sim.export.usd_validation import validate_stage


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
