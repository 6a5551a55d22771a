"""ParticleField3DGaussianSplat: schema, attribute values and tokens, round trips, cross-check."""

import math

import numpy as np
import pytest
import torch
from pxr import Gf, Usd, UsdGeom, UsdPhysics, UsdVol

from lyra_sim.errors import ExportError, OutputExistsError
from lyra_sim.export import (
    UsdGaussiansCfg,
    author_gaussians,
    read_usd_gaussians,
    write_usd_gaussians,
)
from lyra_sim.export.usd_gaussians import new_stage, partition_ranges
from lyra_sim.export.usd_prims import check_gaussian_prim
from lyra_sim.export.usd_validation import validate_stage
from lyra_sim.gaussians import GaussianScene, read_ply, write_ply


def random_scene(n=200, degree=3, seed=0) -> GaussianScene:
    g = torch.Generator().manual_seed(seed)
    return GaussianScene(
        means=torch.randn(n, 3, generator=g) * 2,
        quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=g), dim=-1),
        scales=torch.rand(n, 3, generator=g) * 0.1 + 0.001,
        opacities=torch.rand(n, generator=g),
        sh=torch.randn(n, (degree + 1) ** 2, 3, generator=g) * 0.5,
    )


def assert_same(a: GaussianScene, b: GaussianScene, atol=1e-6):
    assert len(a) == len(b)
    torch.testing.assert_close(a.means, b.means, atol=atol, rtol=0)
    # q and -q are the same rotation; our writer keeps the sign, so compare directly.
    torch.testing.assert_close(a.quats, b.quats, atol=atol, rtol=0)
    torch.testing.assert_close(a.scales, b.scales, atol=atol, rtol=1e-5)
    torch.testing.assert_close(a.opacities, b.opacities, atol=atol, rtol=0)
    torch.testing.assert_close(a.sh, b.sh, atol=atol, rtol=0)


def test_schema_attributes_and_tokens_on_an_in_memory_stage():
    scene = random_scene(5, degree=1)
    stage = new_stage()
    gs = author_gaussians(stage, "/World/Gaussians/gaussians", scene, UsdGaussiansCfg(sorting_mode_hint="cameraDistance"))
    prim = gs.GetPrim()
    assert prim.GetTypeName() == "ParticleField3DGaussianSplat"
    applied = set(prim.GetAppliedSchemas())
    for api in ("ParticleFieldPositionAttributeAPI", "ParticleFieldOrientationAttributeAPI", "ParticleFieldScaleAttributeAPI",
                "ParticleFieldOpacityAttributeAPI", "ParticleFieldKernelGaussianEllipsoidAPI",
                "ParticleFieldSphericalHarmonicsAttributeAPI"):
        assert api in applied
    assert UsdGeom.GetStageUpAxis(stage) == "Z"
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert UsdPhysics.GetStageKilogramsPerUnit(stage) == 1.0
    assert stage.GetDefaultPrim().GetPath() == "/World"

    np.testing.assert_allclose(np.asarray(gs.GetPositionsAttr().Get()), scene.means.numpy())
    # Orientations: Gf.Quatf(real = w, imaginary = x, y, z) for our (w, x, y, z).
    q0 = gs.GetOrientationsAttr().Get()[0]
    assert isinstance(q0, Gf.Quatf)
    np.testing.assert_allclose([q0.GetReal(), *q0.GetImaginary()], scene.quats[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(np.asarray(gs.GetScalesAttr().Get()), scene.scales.numpy())  # linear, not log
    np.testing.assert_allclose(np.asarray(gs.GetOpacitiesAttr().Get()), scene.opacities.numpy())  # linear, not logit
    sh = np.asarray(gs.GetRadianceSphericalHarmonicsCoefficientsAttr().Get())
    assert sh.shape == (5 * 4, 3)
    np.testing.assert_allclose(sh[4:8], scene.sh[1].numpy())  # particle 1: DC, then band 1 in INRIA order
    assert gs.GetRadianceSphericalHarmonicsDegreeAttr().Get() == 1
    assert gs.GetRadianceSphericalHarmonicsCoefficientsAttr().GetMetadata("elementSize") == 4
    assert gs.GetSortingModeHintAttr().Get() == "cameraDistance"
    assert gs.GetProjectionModeHintAttr().Get() == "perspective"
    lo, hi = (np.asarray(v) for v in gs.GetExtentAttr().Get())
    pad = 3 * scene.scales.max(1).values.numpy()[:, None]
    assert (lo <= (scene.means.numpy() - pad).min(0) + 1e-5).all() and (hi >= (scene.means.numpy() + pad).max(0) - 1e-5).all()
    assert check_gaussian_prim(prim) == []
    assert [i for i in validate_stage(stage) if i.severity == "error" and i.validator != "lyraSim:Physics"] == []


def test_vg035_checker_catches_bad_arrays():
    stage = new_stage()
    gs = author_gaussians(stage, "/World/g", random_scene(4, degree=0))
    gs.GetOpacitiesAttr().Set([0.5, 1.5, 0.2])  # one short and one out of range
    problems = check_gaussian_prim(gs.GetPrim())
    assert any("opacities holds 3 values for 4" in p for p in problems)
    assert any("outside [0, 1]" in p for p in problems)


@pytest.mark.parametrize("suffix", ["usda", "usdc", "usd", "usdz"])
def test_round_trip_every_format(tmp_path, suffix):
    scene = random_scene(300, degree=3)
    files = write_usd_gaussians(scene, tmp_path / f"g.{suffix}")
    assert files == [tmp_path / f"g.{suffix}"]
    assert_same(read_usd_gaussians(files[0]), scene)


def test_half_precision_round_trip(tmp_path):
    scene = random_scene(100, degree=2)
    path = write_usd_gaussians(scene, tmp_path / "h.usdc", UsdGaussiansCfg(half=True))[0]
    stage = Usd.Stage.Open(str(path))
    prim = stage.GetPrimAtPath("/World/Gaussians/gaussians")
    assert prim.GetAttribute("positionsh").HasAuthoredValue() and not prim.GetAttribute("positions").HasAuthoredValue()
    back = read_usd_gaussians(path)
    torch.testing.assert_close(back.means, scene.means, atol=5e-3, rtol=1e-3)
    torch.testing.assert_close(back.sh, scene.sh, atol=3e-3, rtol=1e-3)
    assert not torch.equal(back.means, scene.means)  # really half precision


def test_split_into_layers_below_the_limit(tmp_path):
    scene = random_scene(1000, degree=3)
    per_gaussian = 4 * (3 + 4 + 3 + 1 + 16 * 3)
    cfg = UsdGaussiansCfg(max_layer_bytes=4096 + 260 * per_gaussian)  # 260 Gaussians per layer
    assert len(partition_ranges(len(scene), 16, cfg)) == 4
    files = write_usd_gaussians(scene, tmp_path / "big.usda", cfg)
    assert [f.name for f in files] == ["big.usda", "big_000.usdc", "big_001.usdc", "big_002.usdc", "big_003.usdc"]
    assert all(f.stat().st_size < cfg.max_layer_bytes for f in files[1:])
    stage = Usd.Stage.Open(str(files[0]))
    assert [p.GetName() for p in stage.GetPrimAtPath("/World/Gaussians").GetChildren()] == [f"Partition_{i:03d}" for i in range(4)]
    assert_same(read_usd_gaussians(files[0]), scene)
    # As a package: every data layer goes inside one USDZ.
    z = write_usd_gaussians(scene, tmp_path / "big.usdz", cfg)
    assert_same(read_usd_gaussians(z[0]), scene)


def test_world_frame_read_applies_the_recorded_transform(tmp_path):
    scene = random_scene(50, degree=1)
    rot = torch.tensor([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=torch.float64)
    m = torch.eye(4, dtype=torch.float64)
    m[:3, :3] = 2.5 * rot
    m[:3, 3] = torch.tensor([1.0, -2.0, 0.5])
    path = write_usd_gaussians(scene, tmp_path / "t.usda", transform=m)[0]
    assert_same(read_usd_gaussians(path, frame="local"), scene)
    world = read_usd_gaussians(path, frame="world")
    expected = scene.transform(m)
    torch.testing.assert_close(world.means, expected.means, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(world.scales, expected.scales, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(world.sh, expected.sh, atol=1e-5, rtol=1e-5)


def test_ply_usd_ply_round_trip(tmp_path):
    scene = random_scene(500, degree=3, seed=3)
    scene.opacities = scene.opacities.clamp(0.01, 0.99)
    write_ply(scene, tmp_path / "a.ply")
    from_ply = read_ply(tmp_path / "a.ply")
    usd = write_usd_gaussians(from_ply, tmp_path / "a.usdc")[0]
    write_ply(read_usd_gaussians(usd), tmp_path / "b.ply")
    assert_same(read_ply(tmp_path / "b.ply"), from_ply, atol=1e-6)


def test_matches_nvidia_usd_convert_gsplat(tmp_path):
    """Same PLY through NVIDIA's reference converter and ours: same values to float tolerance."""
    ucg = pytest.importorskip("usd_convert_gsplat", reason="usd-convert-gsplat is a test-only dependency (pip install --no-deps usd-convert-gsplat)")
    scene = random_scene(64, degree=3, seed=7)
    # A rotation that is not already normalised in the file exercises both normalisations.
    scene.quats = scene.quats * 3.0
    write_ply(scene, tmp_path / "s.ply")
    theirs = tmp_path / "theirs.usda"
    ucg.write_gaussian_splat_usd(ucg.read_ply(str(tmp_path / "s.ply")), str(theirs))
    ours = write_usd_gaussians(read_ply(tmp_path / "s.ply"), tmp_path / "ours.usda")[0]

    def arrays(path):
        stage = Usd.Stage.Open(str(path))
        (prim,) = [p for p in stage.Traverse() if p.IsA(UsdVol.ParticleField3DGaussianSplat)]
        gs = UsdVol.ParticleField3DGaussianSplat(prim)
        q = np.array([[x.GetReal(), *x.GetImaginary()] for x in gs.GetOrientationsAttr().Get()])
        return {
            "positions": np.asarray(gs.GetPositionsAttr().Get()), "orientations": q,
            "scales": np.asarray(gs.GetScalesAttr().Get()), "opacities": np.asarray(gs.GetOpacitiesAttr().Get()),
            "sh": np.asarray(gs.GetRadianceSphericalHarmonicsCoefficientsAttr().Get()),
            "degree": gs.GetRadianceSphericalHarmonicsDegreeAttr().Get(),
            "element_size": gs.GetRadianceSphericalHarmonicsCoefficientsAttr().GetMetadata("elementSize"),
        }

    a, b = arrays(ours), arrays(theirs)
    assert a["degree"] == b["degree"] == 3 and a["element_size"] == b["element_size"] == 16
    for key in ("positions", "orientations", "scales", "opacities", "sh"):
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6, err_msg=key)
    # And our reader understands their file.
    assert_same(read_usd_gaussians(theirs), read_usd_gaussians(ours), atol=1e-5)


def test_bad_inputs_raise_and_leave_nothing(tmp_path):
    with pytest.raises(ExportError, match="no Gaussians"):
        write_usd_gaussians(GaussianScene.empty(), tmp_path / "e.usda")
    nan = random_scene(10)
    nan.means[3, 1] = math.nan
    with pytest.raises(ExportError, match="NaN"):
        write_usd_gaussians(nan, tmp_path / "n.usda")
    clear = random_scene(10)
    clear.opacities.zero_()
    with pytest.raises(ExportError, match="transparent"):
        write_usd_gaussians(clear, tmp_path / "c.usda")
    with pytest.raises(ExportError, match="extension"):
        write_usd_gaussians(random_scene(10), tmp_path / "x.ply")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "exists.usda").write_text("keep me")
    with pytest.raises(OutputExistsError):
        write_usd_gaussians(random_scene(10), tmp_path / "exists.usda")
    assert (tmp_path / "exists.usda").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.usda"]
    new_stage(tmp_path / "empty.usda").Save()
    with pytest.raises(ExportError, match="no ParticleField"):
        read_usd_gaussians(tmp_path / "empty.usda")
    with pytest.raises(ExportError, match="no such file"):
        read_usd_gaussians(tmp_path / "missing.usda")
