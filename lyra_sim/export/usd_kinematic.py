"""Kinematic colliders of a moving (4D) world: one rigid body per decoded time.

Moving geometry gets one kinematic collider per time (:mod:`lyra_sim.export.moving`; the static
collider in ``scene.usdz`` then holds only what never moves): ``/World/DynamicColliders/t_0p500``
is a kinematic rigid body (``physics:kinematicEnabled``) holding an invisible triangle-mesh
collider in the sim frame. Only the current instant's body is in the world: each body's
``xformOp:translate`` is time-sampled as a step, (0, 0, 0) from half-way after the previous
time to half-way before the next and parked ``park_depth`` x (its index + 1) metres below the
world otherwise (the switch takes :data:`SWITCH_TIME_CODES` time codes). The default value (no
time) is the first time's. Time codes are ``t * (num_frames - 1)``, as for the time-sampled
Gaussians (:mod:`lyra_sim.export.usd_dynamic`). Time-sampled kinematic transforms are what a
PhysX scene animates while a timeline plays; :func:`stage_at_time` writes a copy with every body
placed for one time (no time samples), for engines that read one pose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics

from lyra_sim.errors import InvalidInputError
from lyra_sim.export.usd_physics import author_collider

DYNAMIC_COLLIDERS = "/World/DynamicColliders"
SWITCH_TIME_CODES = 1e-3
"""How long (time codes) a body takes to switch between parked and in place."""


def _prim_name(t: float) -> str:
    return "t_" + f"{t:.3f}".replace(".", "p")


def author_kinematic_colliders(stage, colliders, num_frames: int, collider_cfg=None, park_depth: float = 1000.0) -> list[str]:
    """One kinematic body per collider under ``/World/DynamicColliders`` (see the module
    docstring); returns the body prim paths.

    Args:
        stage: the stage to author into (Z-up, metres).
        colliders: sim-frame :class:`~lyra_sim.export.moving.MovingCollider` s, any order.
        num_frames: teacher frames per trajectory; time t is time code t * (num_frames - 1).
        collider_cfg: the static collider's :class:`~lyra_sim.export.ColliderCfg` (physics
            material, approximation).
        park_depth: metres below the world where a body waits while it is not current.
    """
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
