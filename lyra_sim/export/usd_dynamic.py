"""A moving (4D) world as one time-sampled USD: ``scene_dynamic.usdc``.

The time-conditioned decoder gives one static Gaussian scene per requested time. They are
authored on one ``ParticleField3DGaussianSplat`` prim as time samples of every attribute
(positions, orientations, scales, opacities, SH; the count may differ between times), at
time code ``t * (num_frames - 1)`` with ``timeCodesPerSecond = fps``, so a USD player shows the
scene at the teacher video's speed. The file sublayers the static world (``scene.usdz``: physics
scene, collider, spawn points), deactivates its static Gaussians and adds the moving ones at
``/World/DynamicGaussians/gaussians`` under the same scene-to-sim transform. Moving geometry gets
one kinematic collider per time in the same file (:mod:`lyra_sim.export.usd_kinematic`).

The root layer's ``customLayerData["lyra_sim"]`` holds ``times`` (normalised, in [0, 1]),
``time_codes`` and ``moving_collider_times``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pxr import Sdf, Usd, UsdGeom, UsdVol, Vt

from lyra_sim.errors import InvalidInputError
from lyra_sim.export.usd_gaussians import KERNEL_SUPPORT, new_stage, schema_arrays, set_transform
from lyra_sim.export.usd_kinematic import author_kinematic_colliders
from lyra_sim.gaussians import GaussianScene
from lyra_sim.io.atomic import atomic_output

DYNAMIC_PRIM = "/World/DynamicGaussians/gaussians"


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
            times; empty ones are skipped), authored as kinematic bodies
            (:func:`lyra_sim.export.usd_kinematic.author_kinematic_colliders`).
        collider_cfg: the static collider's :class:`~lyra_sim.export.ColliderCfg` (physics
            material, approximation).
        park_depth: metres below the world where a body waits while it is not current.
    """
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
        a = schema_arrays(scene)
        for name, attr in attrs.items():
            attr.Set(kinds[name].FromNumpy(a[name]), Usd.TimeCode(code))
        pad = KERNEL_SUPPORT * a["scales"].max(axis=1, keepdims=True) if len(scene) else np.zeros((0, 1), np.float32)
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
    with atomic_output(path, overwrite=True) as tmp:
        stage.GetRootLayer().Export(str(tmp))
        if static_world:  # added on the saved layer, where the relative path resolves next to it
            layer = Sdf.Layer.FindOrOpen(str(tmp))
            layer.subLayerPaths.append(f"./{static_world}")
            layer.Save()
    return path


def read_time_sampled_gaussians(path: str | Path) -> list[tuple[float, GaussianScene]]:
    """(normalised time, scene in the scene frame) for every time sample of ``path``."""
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

        def get(name: str, tc=tc) -> np.ndarray:
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
