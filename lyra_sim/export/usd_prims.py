"""Find and check ``ParticleField3DGaussianSplat`` prims on a USD stage, with numpy only.

The validators (``lyra-sim check``), the PhysX runner and world composition need to find the
Gaussian prims of a stage and check them, but never the Gaussians as tensors; keeping that here,
apart from :mod:`lyra_sim.export.usd_gaussians` (which converts to and from
:class:`~lyra_sim.gaussians.GaussianScene`), lets those commands start without importing torch.
"""

from __future__ import annotations

import numpy as np


def gaussian_prims(stage) -> list:
    """Every ParticleField3DGaussianSplat prim of ``stage``, in traversal order."""
    return [p for p in stage.Traverse() if p.GetTypeName() == "ParticleField3DGaussianSplat"]


def prim_array(prim, name: str):
    """Value of ``name`` or its half twin ``name + 'h'`` as a numpy array, or None."""
    for attr_name in (name, name + "h"):
        attr = prim.GetAttribute(attr_name)
        if attr and attr.HasAuthoredValue():
            value = attr.Get()
            if value is not None and len(value):
                return np.array(value, dtype=np.float32)  # a copy: torch wants writable memory
    return None


def check_gaussian_prim(prim) -> list[str]:
    """Problems NVIDIA's asset rule VG.035 names that stock validators do not check.

    All arrays authored and of one length, opacities in [0, 1], positive finite scales, unit
    quaternions, SH length = N (degree+1)^2, extent authored. Returns messages (empty: fine).
    """
    problems = []
    path = prim.GetPath()
    pos = prim_array(prim, "positions")
    if pos is None:
        return [f"{path}: positions not authored"]
    n = len(pos)
    for name, width in (("orientations", 4), ("scales", 3), ("opacities", 1)):
        v = prim_array(prim, name)
        if v is None:
            problems.append(f"{path}: {name} not authored")
        elif v.size != n * width:
            problems.append(f"{path}: {name} holds {v.size // width} values for {n} particles")
    q = prim_array(prim, "orientations")
    if q is not None and q.size == 4 * n and n and np.abs(np.linalg.norm(q.reshape(n, 4), axis=1) - 1).max() > 1e-2:
        problems.append(f"{path}: orientations are not unit quaternions")
    o = prim_array(prim, "opacities")
    if o is not None and n and ((o < 0) | (o > 1)).any():
        problems.append(f"{path}: opacities outside [0, 1]")
    s = prim_array(prim, "scales")
    if s is not None and n and (~np.isfinite(s) | (s <= 0)).any():
        problems.append(f"{path}: scales must be finite and > 0")
    if not np.isfinite(pos).all():
        problems.append(f"{path}: positions contain NaN/inf")
    degree_attr = prim.GetAttribute("radiance:sphericalHarmonicsDegree")
    degree = int(degree_attr.Get()) if degree_attr and degree_attr.HasAuthoredValue() else 3
    sh = prim_array(prim, "radiance:sphericalHarmonicsCoefficients")
    if sh is None:
        problems.append(f"{path}: SH coefficients not authored")
    elif len(sh) != n * (degree + 1) ** 2:
        problems.append(f"{path}: {len(sh)} SH coefficients for {n} particles of degree {degree}")
    extent = prim.GetAttribute("extent")
    if not (extent and extent.HasAuthoredValue()):
        problems.append(f"{path}: extent not authored")
    return problems
