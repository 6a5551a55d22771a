"""export_scene end to end: files, stage layout and metadata, report, bad inputs, NuRec, CLI."""

import gzip
import json
import math
import shutil
import zipfile

import numpy as np
import pytest
import torch
from pxr import Usd, UsdGeom, UsdPhysics

from lyra_sim.errors import ExportError, OutputExistsError
from lyra_sim.export import (
    ExportCfg,
    SourceFrame,
    export_scene,
    read_nurec_usdz,
    read_usd_gaussians,
    write_nurec_usdz,
)
from lyra_sim.export.nurec import msgpack_pack, msgpack_unpack
from lyra_sim.export.usd_physics import read_metadata, read_spawn_points
from lyra_sim.export.usd_validation import validate_stage
from lyra_sim.gaussians import GaussianScene, write_ply
from lyra_sim.io.schemas import schema_errors


def quick_cfg(**kw) -> ExportCfg:
    cfg = ExportCfg(**kw)
    cfg.collider.resolution = 64
    return cfg


def test_world_files_stage_and_report(world, room_scene, room_output):
    out, result = world
    names = sorted(p.name for p in out.iterdir())
    assert names == ["collider.glb", "collider.obj", "gaussians.usdc", "report.json", "report.png", "scene.usda"]
    stage = Usd.Stage.Open(str(out / "scene.usda"))
    assert UsdGeom.GetStageUpAxis(stage) == "Z" and UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert UsdPhysics.GetStageKilogramsPerUnit(stage) == 1.0 and stage.GetDefaultPrim().GetName() == "World"
    scene_prim = stage.GetPrimAtPath("/World/PhysicsScene")
    assert scene_prim.IsA(UsdPhysics.Scene)
    assert tuple(scene_prim.GetAttribute("physics:gravityDirection").Get()) == (0, 0, -1)
    assert scene_prim.GetAttribute("physics:gravityMagnitude").Get() == pytest.approx(9.81)
    collider = stage.GetPrimAtPath("/World/Collider")
    assert collider.HasAPI(UsdPhysics.MeshCollisionAPI) and collider.GetAttribute("physics:approximation").Get() == "none"
    # The transform from the scene frame, on the stage and in the report.
    xf = UsdGeom.Xformable(stage.GetPrimAtPath("/World/Gaussians"))
    m = np.array(xf.GetLocalTransformation(), dtype=np.float64).T
    np.testing.assert_allclose(m, result.alignment.sim_from_scene.numpy(), atol=1e-9)
    np.testing.assert_allclose(read_metadata(stage)["sim_from_scene"], m, atol=1e-9)
    report = json.loads((out / "report.json").read_text())
    errors = schema_errors(report, "report")
    assert errors == [], "\n".join(errors)
    np.testing.assert_allclose(report["frame"]["sim_from_scene"], m, atol=1e-9)
    # Gaussians: local data is the scene frame; the world read is the scene in the sim frame.
    local = read_usd_gaussians(out / "scene.usda")
    torch.testing.assert_close(local.means, room_scene.means)
    world_g = read_usd_gaussians(out / "scene.usda", frame="world")
    torch.testing.assert_close(world_g.means, room_scene.transform(m).means, atol=1e-4, rtol=1e-5)
    # Report contents.
    assert report["gaussians"]["count"] == len(room_scene)
    assert report["collider"]["triangles"] == result.collider.num_triangles > 0
    assert report["collider"]["watertight"] in (True, False)
    assert report["collider"]["depth_source"] == "teacher"
    assert report["scale"]["source"] == "teacher"
    assert report["floor"]["tilt_after_degrees"] < 0.5
    flattening = report["collider"]["floor_flattening"]
    assert flattening["vertices"] > 0 and 0 < flattening["max_shift_m"] <= flattening["band_m"]
    floor = np.abs(result.collider.vertices[:, 2]) < 1e-9
    assert floor.sum() == flattening["vertices"]  # the flattened floor is exactly z = 0 in the exported collider
    assert report["floor"]["tilt_before_degrees"] > 5  # the input camera looks down a little
    assert 0 <= report["depth_residual_m"]["mean"] < 0.3 and report["depth_residual_m"]["p90"] is not None
    assert len(report["spawn_points"]) == len(read_spawn_points(stage)) >= 1
    assert report["physics_check"]["status"] == "not run"
    assert [i for i in validate_stage(stage) if i.severity == "error"] == []


def test_rendered_depth_and_camera_height_scale(tmp_path, room_output, room_scene):
    """No depth maps: the Gaussians' expected depth at their own trajectories, scale from 1.6 m."""
    src = SourceFrame.from_teacher(room_output, "room")
    src.world_from_scene, src.depth_is_metric = None, False
    src.cameras = src.cameras[::2]
    cfg = quick_cfg(previews=False)
    cfg.collider.render_width, cfg.collider.render_height = 64, 48
    cfg.alignment.camera_height = float(room_output.world_from_scene[2, 3])
    result = export_scene(room_scene, tmp_path, cfg, source=src)
    r = result.report
    assert r["collider"]["depth_source"] == "rendered" and r["scale"]["source"] == "camera_height"
    # The scene is metric already. Expected depth lifts floors seen at grazing angles (a splat's
    # depth is its centre's), so the rendered path is looser than the teacher-depth one.
    assert r["scale"]["metres_per_unit"] == pytest.approx(1.0, rel=0.1)
    assert r["floor"]["tilt_after_degrees"] < 3.0


def test_usdz_world_is_one_valid_package(tmp_path, room_scene, room_views, room_output):
    cfg = quick_cfg(usd_format="usdz", previews=False, nurec=True)
    cfg.collider.write_glb = False
    export_scene(room_scene, tmp_path, cfg, room_views, SourceFrame.from_teacher(room_output))
    # Reproducible: a second export gives the same bytes; the NuRec payload is named after the
    # package, not after the temporary file it was written to before the rename.
    again = tmp_path / "again"
    export_scene(room_scene, again, cfg, room_views, SourceFrame.from_teacher(room_output))
    for name in ("scene.nurec.usdz", "collider.obj"):  # (scene.usdz: USD's packager stamps the time)
        assert (again / name).read_bytes() == (tmp_path / name).read_bytes(), name
    with zipfile.ZipFile(tmp_path / "scene.nurec.usdz") as zf:
        assert zf.namelist() == ["default.usda", "scene_nurec.nurec", "gauss.usda"]
        assert b"./scene_nurec.nurec" in zf.read("gauss.usda")
    shutil.rmtree(again)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["collider.obj", "report.json", "scene.nurec.usdz", "scene.usdz"]
    assert len(read_nurec_usdz(tmp_path / "scene.nurec.usdz")) == len(room_scene)
    with zipfile.ZipFile(tmp_path / "scene.usdz") as zf:
        assert zf.namelist()[0] == "scene.usda" and "gaussians.usdc" in zf.namelist()
    stage = Usd.Stage.Open(str(tmp_path / "scene.usdz"))
    assert [i for i in validate_stage(stage) if i.severity == "error"] == []
    assert len(read_usd_gaussians(stage)) == len(room_scene)


def test_source_frame_keeps_the_input_frame(tmp_path, room_scene, room_views):
    cfg = quick_cfg(previews=False)
    cfg.alignment.frame = "source"
    cfg.spawn.enabled = False
    result = export_scene(room_scene, tmp_path, cfg, room_views)
    assert result.files["usd"] == tmp_path / "scene.usdz"  # the default layout: one package, as generate writes
    stage = Usd.Stage.Open(str(tmp_path / "scene.usdz"))
    assert UsdGeom.GetStageUpAxis(stage) == "Y"
    assert not stage.GetPrimAtPath("/World/PhysicsScene") and not stage.GetPrimAtPath("/World/SpawnPoints")
    assert torch.equal(result.alignment.sim_from_scene, torch.eye(4, dtype=torch.float64))
    assert result.report["scale"]["source"] == "none"
    torch.testing.assert_close(read_usd_gaussians(tmp_path / "scene.usdz", frame="world").means, room_scene.means)


def test_bad_inputs_give_clear_errors_and_leave_no_files(tmp_path, room_scene, room_views):
    def nothing_written(d):
        return not d.exists() or list(d.iterdir()) == []

    with pytest.raises(ExportError, match="no Gaussians"):
        export_scene(GaussianScene.empty(), tmp_path / "a", quick_cfg(), room_views)
    assert nothing_written(tmp_path / "a")
    clear = room_scene.clone()
    clear.opacities.zero_()
    with pytest.raises(ExportError, match="transparent"):
        export_scene(clear, tmp_path / "b", quick_cfg(), room_views)
    assert nothing_written(tmp_path / "b")
    nan = room_scene.clone()
    nan.scales[5, 0] = math.nan
    with pytest.raises(ExportError, match="NaN"):
        export_scene(nan, tmp_path / "c", quick_cfg(), room_views)
    assert nothing_written(tmp_path / "c")
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ExportError, match="cannot write"):
        export_scene(room_scene, tmp_path / "file" / "out", quick_cfg(), room_views)
    # Existing output, no overwrite: refused before any work, the old file untouched, nothing added.
    d = tmp_path / "d"
    d.mkdir()
    (d / "collider.obj").write_text("old")
    with pytest.raises(OutputExistsError):
        export_scene(room_scene, d, quick_cfg(), room_views)
    assert sorted(p.name for p in d.iterdir()) == ["collider.obj"] and (d / "collider.obj").read_text() == "old"


def test_a_failure_midway_removes_what_was_written(tmp_path, room_scene, room_views, monkeypatch):
    import lyra_sim.export.scene as scene_mod

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(scene_mod, "write_glb", broken)
    with pytest.raises(OSError, match="disk full"):
        export_scene(room_scene, tmp_path, quick_cfg(previews=False), room_views)
    assert list(tmp_path.iterdir()) == []  # scene.usdz and collider.obj were rolled back


def test_nurec_round_trip_and_layout(tmp_path, room_scene):
    scene = room_scene[:500].with_sh_degree(1)
    scene.sh[:, 1:] = torch.randn(len(scene), 3, 3) * 0.1
    m = torch.eye(4, dtype=torch.float64)
    m[:3, 3] = torch.tensor([1.0, 2.0, 3.0])
    path = write_nurec_usdz(scene, tmp_path / "scene.nurec.usdz", m)
    back = read_nurec_usdz(path)
    assert back.sh_degree == 1
    torch.testing.assert_close(back.means, scene.means, atol=5e-3, rtol=1e-3)  # float16 payload
    torch.testing.assert_close(back.scales, scene.scales, atol=1e-4, rtol=2e-3)
    torch.testing.assert_close(back.opacities, scene.opacities, atol=2e-3, rtol=0)
    torch.testing.assert_close(back.sh, scene.sh, atol=2e-3, rtol=2e-3)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["default.usda", "scene_nurec.nurec", "gauss.usda"]
        for info in infos:  # USDZ: stored, 64-byte aligned data
            assert info.compress_type == zipfile.ZIP_STORED
            assert (info.header_offset + 30 + len(info.filename) + len(info.extra)) % 64 == 0
        payload = msgpack_unpack(gzip.decompress(zf.read("scene_nurec.nurec")))
    cfg = payload["nre_data"]["config"]["layers"]["gaussians"]
    assert cfg["density_activation"] == "sigmoid" and cfg["scale_activation"] == "exp"
    sd = payload["nre_data"]["state_dict"]
    assert sd[".gaussians_nodes.gaussians.features_specular.shape"] == [500, 45]
    stage = Usd.Stage.Open(str(path))
    # default.usda's /World/gauss references gauss.usda (whose /World holds the Volume "gauss").
    (vol,) = [p for p in stage.Traverse() if p.GetTypeName() == "Volume"]
    assert vol.GetPath() == "/World/gauss/gauss" and vol.GetAttribute("omni:nurec:isNuRecVolume").Get() is True
    field = stage.GetPrimAtPath(vol.GetPath().AppendChild("density_field"))
    assert field.GetTypeName() == "OmniNuRecFieldAsset"
    assert field.GetAttribute("filePath").Get().path == "./scene_nurec.nurec"
    np.testing.assert_allclose(np.array(UsdGeom.Xformable(vol).GetLocalTransformation()).T, m.numpy())


def test_msgpack_subset_round_trips_and_matches_the_reference():
    obj = {"a": [1, -3, 2**40, -(2**40), 0.5, True, False, None], "b": b"\x00\x01" * 40, "s": "x" * 40, "e": {}, "n": []}
    assert msgpack_unpack(msgpack_pack(obj)) == obj
    msgpack = pytest.importorskip("msgpack", reason="the msgpack package is only used to cross-check our encoder")
    assert msgpack.unpackb(msgpack_pack(obj), strict_map_key=False) == obj
    assert msgpack_unpack(msgpack.packb(obj)) == obj


def test_cli_export_and_check(tmp_path, room_scene):
    from lyra_sim.cli import main

    write_ply(room_scene, tmp_path / "room.ply")
    out = tmp_path / "world"
    small = ["collider.render_width=48", "collider.render_height=32", "collider.views_per_trajectory=2", "collider.resolution=64"]
    args = ["export", str(tmp_path / "room.ply"), *small, "--out", str(out), "--no-previews", "--quiet", "--max-triangles", "20000"]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["collider.glb", "collider.obj", "report.json", "scene.usdz"]
    report = json.loads((out / "report.json").read_text())
    assert report["scale"]["source"] == "camera_height" and report["collider"]["depth_source"] == "rendered"
    assert main(args) == 2  # exists: refused without --overwrite
    assert main(["check", str(out / "scene.usdz"), "--no-drop"]) == 0
    assert main(["check", str(tmp_path / "missing.usda")]) == 2
    assert main(["export", str(tmp_path / "room.ply"), "colider.resolution=3", "--out", str(out)]) == 2  # typo: clear error


def test_config_overrides():
    from lyra_sim.errors import InvalidInputError
    from lyra_sim.export.config import apply_overrides

    cfg = apply_overrides(ExportCfg(), ["collider.voxel_size=0.05", "spawn.num_points=3", "alignment.up_hint=+z", "nurec=true"])
    assert (cfg.collider.voxel_size, cfg.spawn.num_points, cfg.alignment.up_hint, cfg.nurec) == (0.05, 3, "+z", True)
    cfg = apply_overrides(ExportCfg(), {"collider": {"max_triangles": 1000}, "gravity": 3.7})
    assert cfg.collider.max_triangles == 1000 and cfg.gravity == 3.7
    for bad in (["collider.nope=1"], ["collider=1"], ["spawn.num_points=many"], ["previews=3"], ["novalue"]):
        with pytest.raises(InvalidInputError):
            apply_overrides(ExportCfg(), bad)


def test_nurec_reader_refuses_a_zip_bomb(tmp_path):
    from zip_bomb import write_zip_bomb  # tests/io, on sys.path through conftest

    from lyra_sim.errors import InvalidInputError

    write_zip_bomb(tmp_path / "bomb.nurec.usdz", "scene_nurec.nurec", extra={"default.usda": b"#usda 1.0\n"})
    with pytest.raises(InvalidInputError, match="'scene_nurec.nurec' declares 2,147,483,648 bytes"):
        read_nurec_usdz(tmp_path / "bomb.nurec.usdz")
