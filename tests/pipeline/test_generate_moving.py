"""4D worlds: kinematic colliders for what moves, in the time-sampled USD, checked in PhysX."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from lyra_sim.pipeline import generate

REPO = Path(__file__).resolve().parents[2]
SMALL = ["teacher.num_frames=9", "teacher.width=160", "teacher.height=96", "teacher.trajectories=[left,zoom_out]",
         "decoder.image_size=[48,80]", "preview.enabled=false", "refine.steps=0"]


OVPHYSX = find_spec("ovphysx") is not None
"""PhysX on CPU (a test-only dependency) is installed."""


@pytest.fixture(scope="module")
def moving_world(tmp_path_factory):
    """'a warehouse', seed 1: a carton stack slides 1.2 m (cycles 0.5: from t=0 to its far end at t=1)."""
    from lyra_sim.models import LatentGaussianDecoder, init_from_decoder, load_decoder_cfg, save_decoder

    tmp = tmp_path_factory.mktemp("moving")
    cfg = load_decoder_cfg(REPO / "configs/model/embedded_dynamic.yaml", ["gaussian_stride=4"])
    dec = save_decoder(init_from_decoder(LatentGaussianDecoder(cfg), "embedded"), tmp / "dyn_decoder")
    overrides = [*SMALL, f"decoder.weights={dec}", "dynamic=true", "times=[0,1]", f"physics_check={OVPHYSX}"]
    return generate(tmp / "warehouse", prompt="a warehouse", overrides=overrides, seed=1)


def _bodies(path):
    from pxr import Usd

    from lyra_sim.export.usd_kinematic import kinematic_bodies

    return Usd.Stage.Open(str(path)), kinematic_bodies(Usd.Stage.Open(str(path)))


def test_each_time_gets_a_kinematic_collider_of_what_moves(moving_world):
    from pxr import Usd, UsdGeom, UsdPhysics

    moving = moving_world.report["moving_colliders"]
    assert moving["depth_source"] == "teacher" and len(moving["instants_compared"]) >= 9
    assert [c["time"] for c in moving["per_time"]] == [0.0, 1.0]
    assert all(c["triangles"] >= 50 for c in moving["per_time"])
    assert moving["static_faces_removed"] > 0  # the carton stack's faces left the static collider
    # The two instants' pieces are where the stack was then: different places, a metre or so apart.
    centres = [(np.array(c["bounds_min"]) + np.array(c["bounds_max"])) / 2 for c in moving["per_time"]]
    assert 0.3 < np.linalg.norm(centres[0][:2] - centres[1][:2]) < 3.0
    stage, bodies = _bodies(moving_world.out_dir / "scene_dynamic.usdc")
    assert [t for t, _ in bodies] == [0.0, 1.0]
    for _, body in bodies:
        prim = stage.GetPrimAtPath(body)
        assert prim.HasAPI(UsdPhysics.RigidBodyAPI) and UsdPhysics.RigidBodyAPI(prim).GetKinematicEnabledAttr().Get()
        mesh = stage.GetPrimAtPath(f"{body}/collider")
        assert mesh.HasAPI(UsdPhysics.CollisionAPI) and UsdGeom.Imageable(mesh).ComputeVisibility() == UsdGeom.Tokens.invisible
    # A step schedule: each body is in place at its own time code and parked at the other's.
    first, last = (UsdGeom.Xformable(stage.GetPrimAtPath(b)).GetOrderedXformOps()[0] for _, b in bodies)
    assert first.Get(Usd.TimeCode(0.0))[2] == 0.0 and first.Get(Usd.TimeCode(8.0))[2] == -1000.0
    assert last.Get(Usd.TimeCode(0.0))[2] == -2000.0 and last.Get(Usd.TimeCode(8.0))[2] == 0.0
    assert first.Get(Usd.TimeCode(3.99))[2] == 0.0 and last.Get(Usd.TimeCode(4.0))[2] == 0.0  # switch half-way


def test_stage_at_time_places_the_current_body_only(moving_world, tmp_path):
    from pxr import UsdGeom

    from lyra_sim.export.usd_kinematic import stage_at_time

    for t, expect in ((0.0, (0.0, -2000.0)), (1.0, (-1000.0, 0.0)), (0.4, (0.0, -2000.0))):
        stage, bodies = _bodies(stage_at_time(moving_world.out_dir / "scene_dynamic.usdc", t, tmp_path / f"at_{t}.usdc"))
        for (_, body), z in zip(bodies, expect):
            op = UsdGeom.Xformable(stage.GetPrimAtPath(body)).GetOrderedXformOps()[0]
            assert not op.GetAttr().GetNumTimeSamples() and op.Get()[2] == z


@pytest.mark.skipif(not OVPHYSX, reason="needs ovphysx (PhysX on CPU)")
def test_physx_finds_each_body_in_place_at_its_time_and_parked_at_another(moving_world, tmp_path):
    """PhysX: the report's drop test put a box on each body's top at its time; here a probe box
    over the t=0 body's parking spot (1000 m below; the t=1 body parks 2000 m below) rests on it
    with the world at t=1, and falls through that spot with the world at t=0 (the body is in the
    room then)."""
    from pxr import Gf, Usd, UsdGeom, UsdPhysics

    from lyra_sim.export.drop_test import flattest_patch
    from lyra_sim.export.physx_runner import simulate
    from lyra_sim.export.usd_kinematic import stage_at_time

    check = moving_world.report["physics_check"]["moving_colliders"]
    assert check["status"] == "passed" and {d["time"] for d in check["drops"]} == {0.0, 1.0}
    assert all(abs(d["final_z"] - d["expected_z"]) < 0.05 and d["expected_z"] > 0.3 for d in check["drops"])
    stage = Usd.Stage.Open(str(moving_world.out_dir / "scene_dynamic.usdc"))
    (x, y), z, _ = flattest_patch(*_mesh(stage, "/World/DynamicColliders/t_0p000/collider"), 0.06)
    finals = {}
    for t in (0.0, 1.0):
        path = stage_at_time(moving_world.out_dir / "scene_dynamic.usdc", t, tmp_path / f"probe_{t}.usda")
        at = Usd.Stage.Open(str(path))
        for prim in at.Traverse():
            if prim.GetTypeName() == "ParticleField3DGaussianSplat":
                prim.SetActive(False)
        cube = UsdGeom.Cube.Define(at, "/World/Probe")
        cube.CreateSizeAttr(0.12)
        cube.AddTranslateOp().Set(Gf.Vec3d(float(x), float(y), z - 1000.0 + 0.06 + 0.3))
        UsdPhysics.RigidBodyAPI.Apply(cube.GetPrim())
        UsdPhysics.CollisionAPI.Apply(cube.GetPrim())
        at.GetRootLayer().Save()
        finals[t] = float(simulate(path, 90, 1 / 60)["/World/Probe"][0][2])
    assert abs(finals[1.0] - (z - 1000.0 + 0.06)) < 0.05, finals  # resting on the parked t=0 body
    assert finals[0.0] < z - 1000.0 - 1.0, finals  # nothing there: the t=0 body is in the room


def _mesh(stage, path) -> tuple[np.ndarray, np.ndarray]:
    from pxr import UsdGeom

    mesh = UsdGeom.Mesh(stage.GetPrimAtPath(path))
    return np.asarray(mesh.GetPointsAttr().Get(), np.float64), np.asarray(mesh.GetFaceVertexIndicesAttr().Get()).reshape(-1, 3)
