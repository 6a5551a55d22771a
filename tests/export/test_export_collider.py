"""Collision proxy: TSDF fusion and meshing against ground truth, cleanup steps, files, USD physics."""

import json
import struct

import numpy as np
import pytest
import torch
from pxr import UsdGeom, UsdPhysics, UsdShade
from scipy.spatial import cKDTree

from lyra_sim.cameras import Cameras
from lyra_sim.export import (
    ColliderCfg,
    ColliderStats,
    CollisionProxy,
    DepthViews,
    build_collision_proxy,
    flatten_floor,
    mesh_ops,
    read_obj,
    write_glb,
    write_obj,
)
from lyra_sim.errors import ExportError
from lyra_sim.export.mesh_io import Z_UP_TO_Y_UP
from lyra_sim.export.usd_gaussians import new_stage
from lyra_sim.export.usd_physics import author_collider


def grid_mesh(n=6, size=2.0, hole=None):
    """A flat n x n quad grid in z = 0 (normals +z); ``hole`` (i, j) drops that quad."""
    xs = np.linspace(0, size, n + 1)
    v = np.array([[x, y, 0.0] for y in xs for x in xs])
    faces = []
    for j in range(n):
        for i in range(n):
            if hole == (i, j):
                continue
            a, b, c, d = j * (n + 1) + i, j * (n + 1) + i + 1, (j + 1) * (n + 1) + i + 1, (j + 1) * (n + 1) + i
            faces += [[a, b, c], [a, c, d]]
    return v, np.array(faces)


def cube_mesh():
    v = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return v, f


def test_collider_matches_ground_truth_and_faces_free_space(room_output, room_views):
    proxy, stats = build_collision_proxy(room_views, ColliderCfg(resolution=128, max_triangles=30_000))
    assert 0 < proxy.num_triangles <= 30_000 and stats.triangles == proxy.num_triangles
    assert stats.views == len(room_views) and stats.voxel_size > 0
    world = proxy.transformed(room_output.world_from_scene)
    gt = room_output.meshes[0]
    gt_world = CollisionProxy(gt.vertices.double().numpy(), gt.faces.numpy()).transformed(room_output.world_from_scene)
    ours, normals = mesh_ops.sample_surface(world.vertices, world.faces, 5_000)
    dist = mesh_ops.point_mesh_distance(ours, gt_world.vertices, gt_world.faces)
    # Accuracy: the collider lies on the true surfaces (the voxel here is about 5 cm).
    assert np.median(dist) < 0.015 and np.quantile(dist, 0.9) < 0.1
    # Normals point into free space: the floor's point up.
    floor = ours[:, 2] < 0.05
    assert floor.sum() > 200 and np.median(normals[floor, 2]) > 0.93  # TSDF ripple: 0.9485 with current scikit-image/fast-simplification


def test_far_depth_is_not_fused_so_it_cannot_coarsen_the_voxel(room_views):
    # A backdrop 40x the median depth in two views (a street's horizon): fused, it sets the grid.
    views = DepthViews(room_views.depth.clone(), room_views.cameras, room_views.masks.clone(), "teacher")
    far = 40 * float(views.depth[views.valid()].median())
    views.depth[:2, :20] = far
    views.masks[:2, :20] = True
    cfg = ColliderCfg(resolution=96, max_triangles=30_000, max_depth_ratio=4.0)  # generate's setting
    _, clean = build_collision_proxy(room_views, cfg)
    proxy, near = build_collision_proxy(views, cfg)
    _, whole = build_collision_proxy(views, ColliderCfg(resolution=96, max_triangles=30_000))  # export's default: all
    assert near.far_pixels_not_fused > 0 and clean.far_pixels_not_fused == 0
    assert near.voxel_size == pytest.approx(clean.voxel_size, rel=0.05)  # the room, not the backdrop, sets the voxel
    assert whole.voxel_size > 3 * clean.voxel_size  # negative control: fusing the backdrop coarsens everything
    room_pts = room_views.points()
    lo, hi = room_pts.min(0).values.numpy(), room_pts.max(0).values.numpy()
    assert (proxy.vertices > lo - 0.3).all() and (proxy.vertices < hi + 0.3).all()  # nothing from the backdrop
    with pytest.raises(ExportError, match="max_depth_ratio"):
        build_collision_proxy(views, ColliderCfg(max_depth_ratio=0.5))


def test_floaters_are_removed_only_by_the_free_space_test(room_views):
    views = DepthViews(room_views.depth.clone(), room_views.cameras, room_views.masks.clone(), "decoded")
    # One view sees a 12 x 12 px "floater" at 2 m where every other view looks past it.
    views.depth[0, 26:38, 42:54] = 2.0  # centred on the principal point (48, 32)
    cam = views.cameras[0]
    centre = cam.centers[0] + cam.c2w[0, :3, 2] * 2.0
    near_floater = lambda p: np.linalg.norm(p.vertices - centre.numpy(), axis=1).min()
    cleaned, stats = build_collision_proxy(views, ColliderCfg(resolution=96))
    kept, _ = build_collision_proxy(views, ColliderCfg(resolution=96, free_space_ratio=1e9, min_component_fraction=0))
    assert near_floater(kept) < 0.1  # negative control: without the cleanup the floater is meshed
    assert near_floater(cleaned) > 0.3
    assert stats.floater_triangles_removed > 0


def test_hole_filling_watertightness_and_components():
    v, f = grid_mesh(hole=(2, 3))
    loops = mesh_ops.boundary_loops(f)
    assert sorted(len(loop) for loop in loops) == [4, 24]
    v2, f2, filled = mesh_ops.fill_small_holes(v, f, max_edges=8)
    assert filled == 1 and len(mesh_ops.boundary_loops(f2)) == 1
    patch_normals = mesh_ops.face_normals(v2, f2[len(f):])
    assert (patch_normals[:, 2] > 0.99).all()  # the patch is wound like its surroundings
    cv, cf = cube_mesh()
    assert mesh_ops.is_watertight(cf) and not mesh_ops.is_watertight(cf[1:])
    assert not mesh_ops.is_watertight(np.concatenate([cf[:1, ::-1], cf[1:]]))  # one flipped face
    # A tiny second component goes, the big one stays.
    both_v = np.concatenate([v, cv * 0.01 + 5])
    both_f = np.concatenate([f, cf + len(v)])
    kv, kf = mesh_ops.keep_large_components(both_v, both_f, 0.01)
    assert len(kf) == len(f) and kv[:, 0].max() <= 2.0


def test_simplify_to_budget_keeps_the_shape(room_views):
    proxy, _ = build_collision_proxy(room_views, ColliderCfg(resolution=96, max_triangles=2_000))
    assert proxy.num_triangles <= 2_000
    full, _ = build_collision_proxy(room_views, ColliderCfg(resolution=96, max_triangles=10**9))
    assert full.num_triangles > 4 * proxy.num_triangles
    a, _ = mesh_ops.sample_surface(proxy.vertices, proxy.faces, 5000)
    b, _ = mesh_ops.sample_surface(full.vertices, full.faces, 50_000)
    assert np.median(cKDTree(b).query(a)[0]) < 0.05


def test_floor_flattening_snaps_the_rippled_floor_and_keeps_walls_and_steps():
    """A 2 cm TSDF-like ripple on the floor goes onto z = 0; a wall down to the floor and a 12 cm
    step (above the 1.5-voxel band of 6 cm) keep their shape."""
    v, f = grid_mesh(n=20, size=2.0)
    rng = np.random.default_rng(0)
    v[:, 2] = 0.02 * np.sin(7 * v[:, 0]) * np.cos(5 * v[:, 1]) + rng.normal(0, 0.003, len(v))
    step = v[:, 0] > 1.5
    v[step, 2] += 0.12  # a raised platform (its ramp edge is two grid rows)
    wall_v, wall_f = grid_mesh(n=4, size=1.0)
    wall_v = wall_v[:, [2, 0, 1]] + [-0.01, 0.5, 0.0]  # the x = -0.01 plane, z from 0 to 1, normals +x
    verts = np.concatenate([v, wall_v])
    faces = np.concatenate([f, wall_f + len(v)])
    stats = ColliderStats()
    flat = flatten_floor(CollisionProxy(verts, faces), ColliderCfg(), voxel_size=0.04, stats=stats)
    z = flat.vertices[:, 2]
    floor = (~step) & (v[:, 0] < 1.4)
    assert np.abs(z[: len(v)][floor]).max() == 0.0 and np.abs(v[floor, 2]).max() > 0.02
    np.testing.assert_array_equal(flat.vertices[: len(v)][step], v[step])  # the platform stays 12 cm up
    np.testing.assert_array_equal(flat.vertices[len(v):], wall_v)  # wall vertices face +x: untouched
    np.testing.assert_array_equal(flat.faces, faces)
    assert stats.floor_flatten_band == pytest.approx(0.06) and stats.floor_flattened_vertices >= floor.sum()
    assert 0.02 < stats.floor_flatten_max_shift <= 0.06
    off = flatten_floor(CollisionProxy(verts, faces), ColliderCfg(floor_flatten_voxels=0.0), voxel_size=0.04)
    np.testing.assert_array_equal(off.vertices, verts)


def test_obj_and_glb_files(tmp_path):
    v, f = cube_mesh()
    write_obj(v, f, tmp_path / "c.obj")
    rv, rf = read_obj(tmp_path / "c.obj")
    np.testing.assert_allclose(rv, v, atol=1e-6)
    np.testing.assert_array_equal(rf, f)
    write_glb(v, f, tmp_path / "c.glb")
    data = (tmp_path / "c.glb").read_bytes()
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert (magic, version, length) == (b"glTF", 2, len(data))
    jlen = struct.unpack("<I", data[12:16])[0]
    gltf = json.loads(data[20 : 20 + jlen])
    (prim,) = gltf["meshes"][0]["primitives"]
    position, index = gltf["accessors"][prim["attributes"]["POSITION"]], gltf["accessors"][prim["indices"]]
    assert (position["count"], position["componentType"], position["type"]) == (8, 5126, "VEC3")  # float32
    assert (index["count"], index["componentType"], prim["mode"]) == (36, 5125, 4)  # uint32 triangles
    assert gltf["nodes"] == [{"name": "collider", "mesh": 0, "matrix": [float(x) for x in Z_UP_TO_Y_UP]}]
    assert data == write_glb(v, f, tmp_path / "again.glb").read_bytes()  # reproducible
    assert (tmp_path / "c.obj").read_text().splitlines()[:2] == [
        "# lyra-sim collider: 8 vertices, 12 triangles, Z up, metres", f"v {v[0, 0]:.6f} {v[0, 1]:.6f} {v[0, 2]:.6f}"]
    import trimesh

    loaded = trimesh.load(tmp_path / "c.glb", force="mesh")
    assert len(loaded.vertices) == 8 and len(loaded.faces) == 12
    # glTF is Y-up: our Z-up cube's top (z = 1) becomes y = 1.
    assert np.isclose(loaded.vertices[:, 1].max(), 1.0) and np.isclose(loaded.vertices[:, 2].min(), -1.0)


@pytest.mark.parametrize("approximation", ["none", "meshSimplification"])
def test_collider_usd_physics_authoring(approximation):
    v, f = grid_mesh()
    stage = new_stage()
    cfg = ColliderCfg(approximation=approximation, static_friction=0.9, dynamic_friction=0.7, restitution=0.1)
    mesh = author_collider(stage, CollisionProxy(v, f), cfg)
    prim = mesh.GetPrim()
    assert prim.HasAPI(UsdPhysics.CollisionAPI) and prim.HasAPI(UsdPhysics.MeshCollisionAPI)
    assert not prim.HasAPI(UsdPhysics.RigidBodyAPI)  # static
    assert prim.GetAttribute("physics:approximation").Get() == approximation
    assert prim.GetAttribute("physics:collisionEnabled").Get() is True
    assert mesh.GetPurposeAttr().Get() == UsdGeom.Tokens.guide
    assert mesh.GetVisibilityAttr().Get() == UsdGeom.Tokens.invisible
    assert len(mesh.GetFaceVertexIndicesAttr().Get()) == 3 * len(f)
    binding = UsdShade.MaterialBindingAPI(prim).GetDirectBinding(materialPurpose="physics")
    material = binding.GetMaterial().GetPrim()
    assert material.HasAPI(UsdPhysics.MaterialAPI)
    assert material.GetAttribute("physics:staticFriction").Get() == pytest.approx(0.9)
    assert material.GetAttribute("physics:restitution").Get() == pytest.approx(0.1)
    parsed = UsdPhysics.UsdPhysicsLoadStageFromPrimRange(stage, ["/"])
    kinds = {str(k).rsplit(".", 1)[-1] for k in parsed}
    assert "MeshShape" in kinds and "RigidBodyMaterial" in kinds


def test_mesh_without_collision_api_is_not_a_collider():
    """Negative control for the parse above."""
    v, f = grid_mesh()
    stage = new_stage()
    mesh = UsdGeom.Mesh.Define(stage, "/World/Plain")
    mesh.CreatePointsAttr(v.tolist())
    mesh.CreateFaceVertexCountsAttr([3] * len(f))
    mesh.CreateFaceVertexIndicesAttr(f.ravel().tolist())
    kinds = {str(k).rsplit(".", 1)[-1] for k in UsdPhysics.UsdPhysicsLoadStageFromPrimRange(stage, ["/"])}
    assert "MeshShape" not in kinds


def test_no_depth_is_a_clear_error():
    from lyra_sim.errors import ExportError

    cams = Cameras(torch.eye(4)[None].repeat(2, 1, 1), torch.tensor([[50.0, 0, 16], [0, 50, 12], [0, 0, 1]]), 32, 24)
    with pytest.raises(ExportError, match="no valid depth|almost no valid depth"):
        build_collision_proxy(DepthViews(torch.zeros(2, 24, 32), cams))


def test_tsdf_bounds_hold_the_sparse_rim_of_views_cut_to_their_near_region():
    """A few far pixels (ground seen at grazing incidence) lie beyond the points' 99.5 % quantile:
    the grid keeps them when the views were cut to their near region (``whole``); otherwise the
    quantiles trim them as outliers."""
    from lyra_sim.cameras import Cameras, intrinsics_matrix
    from lyra_sim.export.tsdf import auto_voxel_size

    depth = torch.full((1, 96, 160), 2.0)
    depth[0, :, :3] = 9.0  # 3 of 160 columns (1.9 %) see a far rim, spread from 2 m to 9 m deep
    depth[0, :, :3] -= torch.linspace(0.0, 7.0, 96)[:, None]
    cams = Cameras(torch.eye(4)[None], intrinsics_matrix(80.0, 80.0, 80.0, 48.0)[None], 160, 96)
    views = DepthViews(depth, cams, None, "teacher")
    voxel_q, (lo_q, hi_q) = auto_voxel_size(views, 64)
    voxel_w, (lo_w, hi_w) = auto_voxel_size(views, 64, whole=True)
    assert voxel_w == pytest.approx(voxel_q, rel=0.05)  # the voxel still comes from the dense extent
    assert float(hi_q[2]) < 8.0 and float(hi_w[2]) >= 9.0 - 1e-4
    pts = views.points()
    assert ((pts >= lo_w - 1e-5) & (pts <= hi_w + 1e-5)).all()
    # A voxel budget: the rim beyond the box shrinks to fit it, the voxel stays.
    voxel_b, (lo_b, hi_b) = auto_voxel_size(views, 64, whole=True, max_voxels=int(0.5 * torch.prod((hi_w - lo_w) / voxel_w + 1)))
    assert voxel_b == voxel_w and torch.prod((hi_b - lo_b) / voxel_b + 1) <= 0.5 * torch.prod((hi_w - lo_w) / voxel_w + 1)
    assert float(hi_q[2]) - 0.5 < float(hi_b[2]) < float(hi_w[2])
