"""A moving (4D) world as one time-sampled USD: ``scene_dynamic.usdc``.

The time-conditioned decoder gives one static Gaussian scene per requested time. They are
authored on one ``ParticleField3DGaussianSplat`` prim as time samples of every attribute
(positions, orientations, scales, opacities, SH; the count may differ between times), at
time code ``t * (num_frames - 1)`` with ``timeCodesPerSecond = fps``, so a USD player shows the
scene at the teacher video's speed. The file sublayers the static world (``scene.usdz``: physics
scene, collider, spawn points), deactivates its static Gaussians and adds the moving ones at
``/World/DynamicGaussians/gaussians`` under the same scene-to-sim transform.

Moving geometry gets one kinematic collider per time (:mod:`lyra_sim.export.moving`; the static
collider in ``scene.usdz`` then holds only what never moves): ``/World/DynamicColliders/t_0p500``
is a kinematic rigid body (``physics:kinematicEnabled``) holding an invisible triangle-mesh
collider in the sim frame. Only the current instant's body is in the world: each body's
``xformOp:translate`` is time-sampled as a step, (0, 0, 0) from half-way after the previous
time to half-way before the next and parked ``park_depth`` x (its index + 1) metres below the
world otherwise (the switch takes 1e-3 time codes). The default value (no time) is the first time's. Time-sampled kinematic
transforms are what a PhysX scene animates while a timeline plays; :func:`stage_at_time` writes
a copy with every body placed for one time (no time samples), for engines that read one pose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lyra_sim.errors import InvalidInputError
from lyra_sim.gaussians import GaussianScene

DYNAMIC_PRIM = "/World/DynamicGaussians/gaussians"
DYNAMIC_COLLIDERS = "/World/DynamicColliders"
SWITCH_TIME_CODES = 1e-3


def write_time_sampled_gaussians(scenes: list[GaussianScene], times: list[float], alignment, path: str | Path,
                                 static_world: str = "scene.usdz", num_frames: int = 25, fps: float = 24.0,
                                 moving_colliders=(), collider_cfg=None, park_depth: float = 1000.0) -> Path:
    """Write the time-sampled USD (see the module docstring); returns ``path``.

    Args:
        scenes: one scene per time, in the scene frame.
        times: normalised times in [0, 1], increasing.
        alignment: the export's :class:`~lyra_sim.export.Alignment` (its ``sim_from_scene``).
        static_world: the static world file next to ``path`` to sublayer ("" for none).
        num_frames: teacher frames per trajectory; time t is time code t * (num_frames - 1).
        moving_colliders: sim-frame :class:`~lyra_sim.export.moving.MovingCollider` s (any
            times; empty ones are skipped), authored as kinematic bodies.
        collider_cfg: the static collider's :class:`~lyra_sim.export.ColliderCfg` (physics
            material, approximation).
        park_depth: metres below the world where a body waits while it is not current.
    """
    from pxr import Sdf, Usd, UsdGeom, UsdVol, Vt

    from lyra_sim.export.usd_gaussians import _arrays, new_stage, set_transform

    if len(scenes) != len(times) or not scenes:
        raise InvalidInputError(f"need one scene per time, got {len(scenes)} scenes and {len(times)} times")
    if any(b <= a for a, b in zip(times, times[1:])):
        raise InvalidInputError(f"times must increase, got {times}")
    path = Path(path)
    stage = new_stage(None, up_axis="Z")
    if static_world:
        stage.OverridePrim("/World/Gaussians").SetActive(False)  # the static world's Gaussians (sublayered below)
    codes = [float(t) * (num_frames - 1) for t in times]
    stage.SetStartTimeCode(codes[0])
    stage.SetEndTimeCode(codes[-1])
    stage.SetTimeCodesPerSecond(fps)
    stage.SetFramesPerSecond(fps)
    xf = UsdGeom.Xform.Define(stage, str(Sdf.Path(DYNAMIC_PRIM).GetParentPath()))
    set_transform(xf, alignment.sim_from_scene)
    gs = UsdVol.ParticleField3DGaussianSplat.Define(stage, DYNAMIC_PRIM)
    attrs = {"positions": gs.CreatePositionsAttr(), "orientations": gs.CreateOrientationsAttr(), "scales": gs.CreateScalesAttr(),
             "opacities": gs.CreateOpacitiesAttr(), "sh": gs.CreateRadianceSphericalHarmonicsCoefficientsAttr()}
    kinds = {"positions": Vt.Vec3fArray, "orientations": Vt.QuatfArray, "scales": Vt.Vec3fArray, "opacities": Vt.FloatArray,
             "sh": Vt.Vec3fArray}
    lo, hi = np.full(3, np.inf, np.float32), np.full(3, -np.inf, np.float32)
    for code, scene in zip(codes, scenes):
        a = _arrays(scene)
        for name, attr in attrs.items():
            attr.Set(kinds[name].FromNumpy(a[name]), Usd.TimeCode(code))
        pad = 3.0 * a["scales"].max(axis=1, keepdims=True) if len(scene) else np.zeros((0, 1), np.float32)
        if len(scene):
            lo, hi = np.minimum(lo, (a["positions"] - pad).min(0)), np.maximum(hi, (a["positions"] + pad).max(0))
    attrs["sh"].SetMetadata("elementSize", scenes[0].sh.shape[1])
    gs.CreateRadianceSphericalHarmonicsDegreeAttr(scenes[0].sh_degree)
    gs.CreateExtentAttr(Vt.Vec3fArray.FromNumpy(np.stack([lo, hi]).astype(np.float32)))  # the union over time
    gs.CreateSortingModeHintAttr("zDepth")
    authored = [c for c in moving_colliders if not c.empty]
    if authored:
        author_kinematic_colliders(stage, authored, num_frames, collider_cfg, park_depth)
    stage.GetRootLayer().customLayerData = {"lyra_sim": {"times": Vt.DoubleArray([float(t) for t in times]),
                                                         "time_codes": Vt.DoubleArray(codes),
                                                         "moving_collider_times": Vt.DoubleArray([c.time for c in authored])}}
    from lyra_sim.io import atomic_output

    with atomic_output(path, overwrite=True) as tmp:
        stage.GetRootLayer().Export(str(tmp))
        if static_world:  # added on the saved layer, where the relative path resolves next to it
            layer = Sdf.Layer.FindOrOpen(str(tmp))
            layer.subLayerPaths.append(f"./{static_world}")
            layer.Save()
    return path


def _prim_name(t: float) -> str:
    return "t_" + f"{t:.3f}".replace(".", "p")


def author_kinematic_colliders(stage, colliders, num_frames: int, collider_cfg=None, park_depth: float = 1000.0) -> list[str]:
    """One kinematic body per collider under ``/World/DynamicColliders`` (see the module
    docstring); returns the body prim paths."""
    from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics

    from lyra_sim.export.usd_physics import author_collider

    colliders = sorted(colliders, key=lambda c: c.time)
    codes = [c.time * (num_frames - 1) for c in colliders]
    UsdGeom.Xform.Define(stage, DYNAMIC_COLLIDERS)
    here = Gf.Vec3d(0.0, 0.0, 0.0)
    paths = []
    for i, (c, code) in enumerate(zip(colliders, codes)):
        parked = Gf.Vec3d(0.0, 0.0, -float(park_depth) * (i + 1))  # each its own spot: parked bodies never overlap
        body = UsdGeom.Xform.Define(stage, f"{DYNAMIC_COLLIDERS}/{_prim_name(c.time)}")
        op = body.AddTranslateOp()
        start = None if i == 0 else 0.5 * (codes[i - 1] + code)  # current from here ...
        end = None if i == len(codes) - 1 else 0.5 * (code + codes[i + 1])  # ... until here
        op.Set(here if i == 0 else parked)  # no time asked: the first time's world
        if start is not None:
            op.Set(parked, Usd.TimeCode(start - SWITCH_TIME_CODES))
        op.Set(here, Usd.TimeCode(code if start is None else start))
        if end is not None:
            op.Set(here, Usd.TimeCode(end - SWITCH_TIME_CODES))
            op.Set(parked, Usd.TimeCode(end))
        prim = body.GetPrim()
        rigid = UsdPhysics.RigidBodyAPI.Apply(prim)
        rigid.CreateKinematicEnabledAttr(True)
        prim.CreateAttribute("lyra:time", Sdf.ValueTypeNames.Double).Set(float(c.time))
        prim.CreateAttribute("lyra:currentFromTimeCode", Sdf.ValueTypeNames.Double).Set(float("-inf") if start is None else start)
        prim.CreateAttribute("lyra:currentUntilTimeCode", Sdf.ValueTypeNames.Double).Set(float("inf") if end is None else end)
        author_collider(stage, c.proxy, collider_cfg, path=f"{body.GetPath()}/collider")
        paths.append(str(body.GetPath()))
    return paths


def kinematic_bodies(stage) -> list[tuple[float, str]]:
    """(time, body prim path) of every kinematic collider of a stage written here, by time."""
    root = stage.GetPrimAtPath(DYNAMIC_COLLIDERS)
    if not root:
        return []
    out = [(float(p.GetAttribute("lyra:time").Get()), str(p.GetPath())) for p in root.GetChildren() if p.HasAttribute("lyra:time")]
    return sorted(out)


def stage_at_time(path: str | Path, time: float, out: str | Path) -> Path:
    """A flattened copy of the 4D world ``path`` with every kinematic collider placed for
    normalised ``time`` (default values, no time samples): what a physics engine that reads
    one pose should load. Gaussians keep their time samples."""
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(path))
    if stage is None:
        raise InvalidInputError(f"{path}: OpenUSD cannot open it")
    info = stage.GetRootLayer().customLayerData.get("lyra_sim", {})
    codes, ts = list(info.get("time_codes", [])), list(info.get("times", []))
    if not codes:
        raise InvalidInputError(f"{path}: not a time-sampled world (no lyra_sim times in its layer data)")
    code = float(np.interp(float(time), ts, codes)) if len(ts) > 1 else codes[0]
    flat = Usd.Stage.Open(stage.Flatten())
    for _, body in kinematic_bodies(flat):
        op = UsdGeom.Xformable(flat.GetPrimAtPath(body)).GetOrderedXformOps()[0]
        value = op.Get(Usd.TimeCode(code))
        op.GetAttr().Clear()
        op.Set(value)
    out = Path(out)
    flat.GetRootLayer().Export(str(out))
    return out


def read_time_sampled_gaussians(path: str | Path) -> list[tuple[float, GaussianScene]]:
    """(normalised time, scene in the scene frame) for every time sample of ``path``."""
    from pxr import Usd

    stage = Usd.Stage.Open(str(path))
    if stage is None:
        raise InvalidInputError(f"{path}: OpenUSD cannot open it")
    prim = stage.GetPrimAtPath(DYNAMIC_PRIM)
    if not prim:
        raise InvalidInputError(f"{path}: no {DYNAMIC_PRIM} (not written by write_time_sampled_gaussians)")
    info = stage.GetRootLayer().customLayerData.get("lyra_sim", {})
    out = []
    for t, code in zip(info.get("times", []), info.get("time_codes", [])):
        tc = Usd.TimeCode(code)

        def get(name: str) -> np.ndarray:
            return np.array(prim.GetAttribute(name).Get(tc), dtype=np.float32)

        xyzw = get("orientations").reshape(-1, 4)
        k = int(prim.GetAttribute("radiance:sphericalHarmonicsCoefficients").GetMetadata("elementSize") or 1)
        out.append((float(t), GaussianScene(
            means=torch.from_numpy(get("positions").reshape(-1, 3)),
            quats=torch.from_numpy(np.ascontiguousarray(xyzw[:, [3, 0, 1, 2]])),
            scales=torch.from_numpy(get("scales").reshape(-1, 3)),
            opacities=torch.from_numpy(get("opacities").reshape(-1)),
            sh=torch.from_numpy(get("radiance:sphericalHarmonicsCoefficients").reshape(-1, k, 3)),
        )))
    return out
