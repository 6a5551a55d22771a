"""The packaged humanoid: reproducible from code, a valid UsdPhysics articulation, metre scale."""

import math

import pytest
from pxr import Usd, UsdGeom, UsdPhysics

from lyra_sim.sim.humanoid import (
    ASSET_PATH,
    JOINTS,
    LINKS,
    STANDING_HEIGHT,
    HumanoidCfg,
    humanoid_stage,
    humanoid_usda,
)


def test_packaged_asset_matches_the_generator():
    assert ASSET_PATH.read_text() == humanoid_usda(), "regenerate with `python -m lyra_sim.sim.humanoid`"


def test_asset_is_a_floating_articulation_in_metres():
    stage = Usd.Stage.Open(str(ASSET_PATH))
    assert UsdGeom.GetStageUpAxis(stage) == "Z" and UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert UsdPhysics.GetStageKilogramsPerUnit(stage) == 1.0
    links = [p for p in stage.Traverse() if p.HasAPI(UsdPhysics.RigidBodyAPI)]
    assert len(links) == len(LINKS) == 13
    roots = [p for p in stage.Traverse() if p.HasAPI(UsdPhysics.ArticulationRootAPI)]
    assert [str(p.GetPath()) for p in roots] == ["/Humanoid/pelvis"]
    assert sum(UsdPhysics.MassAPI(p).GetMassAttr().Get() for p in links) == pytest.approx(60.4)
    kinds = {p.GetTypeName() for p in stage.Traverse() if p.IsA(UsdPhysics.Joint)}
    assert kinds == {"PhysicsRevoluteJoint", "PhysicsJoint"}  # shoulders, hips and ankles are D6 joints
    revolute = [p for p in stage.Traverse() if p.HasAPI(UsdPhysics.DriveAPI, "angular")]
    assert len(revolute) == sum(j.drive is not None and j.kind == "revolute" for j in JOINTS) == 6
    # Six driven DOFs per leg: hip roll/pitch/yaw, knee, ankle pitch/roll (a pitch-only leg let
    # the feet pivot on the floor: bench/humanoid_slip.py).
    for side, outward in (("left", 1.0), ("right", -1.0)):
        hip = stage.GetPrimAtPath(f"/Humanoid/joints/{side}_hip")
        ankle = stage.GetPrimAtPath(f"/Humanoid/joints/{side}_ankle")
        for joint, free in ((hip, ("rotX", "rotY", "rotZ")), (ankle, ("rotX", "rotY"))):
            for axis in ("transX", "transY", "transZ", "rotX", "rotY", "rotZ"):
                limit = UsdPhysics.LimitAPI(joint, axis)
                assert (limit.GetLowAttr().Get() < limit.GetHighAttr().Get()) == (axis in free), (joint, axis)
                assert joint.HasAPI(UsdPhysics.DriveAPI, axis) == (axis in free)
            for axis in free:
                assert UsdPhysics.DriveAPI(joint, axis).GetStiffnessAttr().Get() * 180 / math.pi >= 2500 - 1e-3
        roll = UsdPhysics.LimitAPI(hip, "rotX")
        assert outward * (roll.GetHighAttr().Get() if outward > 0 else roll.GetLowAttr().Get()) == 45.0  # outward swing
        pitch = UsdPhysics.LimitAPI(hip, "rotY")
        assert (pitch.GetLowAttr().Get(), pitch.GetHighAttr().Get()) == (-120.0, 30.0)
    for side in ("left", "right"):
        shoulder = stage.GetPrimAtPath(f"/Humanoid/joints/{side}_shoulder")
        for axis in ("transX", "transY", "transZ"):  # low > high: locked
            limit = UsdPhysics.LimitAPI(shoulder, axis)
            assert limit.GetLowAttr().Get() > limit.GetHighAttr().Get()
        for axis, bound in (("rotX", 80.0), ("rotY", 90.0), ("rotZ", 90.0)):
            limit = UsdPhysics.LimitAPI(shoulder, axis)
            assert (limit.GetLowAttr().Get(), limit.GetHighAttr().Get()) == (-bound, bound)
            assert UsdPhysics.DriveAPI(shoulder, axis).GetStiffnessAttr().Get() > 0
    # The joint tree spans every link once (each link but the root has one inbound joint).
    children = [j.child for j in JOINTS]
    assert sorted(children) == sorted(link.name for link in LINKS if link.name != "pelvis")
    # Feet rest on z = 0 and the head tops out at the standing height.
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_])
    box = cache.ComputeWorldBound(stage.GetPrimAtPath("/Humanoid")).ComputeAlignedRange()
    assert box.GetMin()[2] == pytest.approx(0.0, abs=1e-6)
    assert box.GetMax()[2] == pytest.approx(STANDING_HEIGHT, abs=1e-6) and 1.6 < STANDING_HEIGHT < 1.9


def test_joint_anchors_agree_between_both_links():
    stage = Usd.Stage.Open(str(ASSET_PATH))
    cache = UsdGeom.XformCache()
    for spec in JOINTS:
        joint = UsdPhysics.Joint(stage.GetPrimAtPath(f"/Humanoid/joints/{spec.name}"))
        a = cache.GetLocalToWorldTransform(stage.GetPrimAtPath(f"/Humanoid/{spec.parent}")).Transform(joint.GetLocalPos0Attr().Get())
        b = cache.GetLocalToWorldTransform(stage.GetPrimAtPath(f"/Humanoid/{spec.child}")).Transform(joint.GetLocalPos1Attr().Get())
        assert (a - b).GetLength() < 1e-6 and (a - type(a)(*spec.anchor)).GetLength() < 1e-6


def test_ragdoll_variant_has_no_drive_stiffness_only_passive_damping():
    stage = humanoid_stage(HumanoidCfg(drives=False, ragdoll_damping=2.0))
    drives = [UsdPhysics.DriveAPI(p, axis) for p in stage.Traverse() for axis in ("angular", "rotX", "rotY", "rotZ")
              if p.HasAPI(UsdPhysics.DriveAPI, axis)]
    assert len(drives) == 6 + 2 * (3 + 3 + 2)  # revolute + shoulders, hips, ankles
    for drive in drives:
        assert drive.GetStiffnessAttr().Get() == 0.0
        assert drive.GetDampingAttr().Get() == pytest.approx(2.0 * math.pi / 180.0)  # N m s/deg
