"""Procedural textures and Lambertian shading of ray hits.

Textures are functions of the world position on the surface, in the two world axes most
perpendicular to the normal (planar mapping), so the same point always gets the same albedo
from every camera: the multi-view consistency a teacher must have. Lighting is a sun
(directional, with optional hard shadows) plus a sky ambient term weighted by how much the
normal faces up; rays that hit nothing show a sky gradient (outdoors) or a dim backdrop.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lyra_sim.teachers.procedural.scene import SceneDescription

TEXTURE_CODES = {"plain": 0, "checker": 1, "stripes": 2, "brick": 3, "noise": 4, "wood": 5, "tiles": 6, "windows": 7, "lanes": 8}


def _hash2(ix: Tensor, iy: Tensor, seed: int) -> Tensor:
    """Deterministic pseudo-random value in [0, 1) per integer lattice point (integer hash)."""
    h = (ix * 73856093) ^ (iy * 19349663) ^ (seed * 83492791)
    h = (h ^ (h >> 13)) * 1274126177
    h = h ^ (h >> 16)
    return (h & 0xFFFF).to(torch.float32) / 65536.0


def value_noise(u: Tensor, v: Tensor, seed: int = 0) -> Tensor:
    """Smooth value noise in [0, 1): bilinear (smoothstep) interpolation of lattice hashes."""
    iu, iv = torch.floor(u), torch.floor(v)
    fu, fv = u - iu, v - iv
    fu, fv = fu * fu * (3 - 2 * fu), fv * fv * (3 - 2 * fv)
    iu, iv = iu.long(), iv.long()
    a, b = _hash2(iu, iv, seed), _hash2(iu + 1, iv, seed)
    c, d = _hash2(iu, iv + 1, seed), _hash2(iu + 1, iv + 1, seed)
    return (a * (1 - fu) + b * fu) * (1 - fv) + (c * (1 - fu) + d * fu) * fv


def planar_uv(p: Tensor, n: Tensor) -> tuple[Tensor, Tensor]:
    """Texture coordinates: the two world axes most perpendicular to the normal."""
    axis = n.abs().argmax(-1)
    u = torch.where(axis == 0, p[:, 1], p[:, 0])
    v = torch.where(axis == 2, p[:, 1], p[:, 2])
    return u, v


def _pattern_one(code: int, su: Tensor, sv: Tensor, v: Tensor, seed: int) -> Tensor:
    """Mix weight of one texture kind at scaled coordinates (su, sv) = (u, v) / scale."""
    if code == 1:  # checker
        return (torch.floor(su) + torch.floor(sv)).remainder(2)
    if code == 2:  # stripes
        return torch.floor(su * 2).remainder(2)
    if code == 3:  # brick: running bond with mortar lines
        row = torch.floor(sv * 2)
        brick_u = su + 0.5 * row.remainder(2)
        mortar = ((sv * 2 - row) < 0.08) | ((brick_u - torch.floor(brick_u)) < 0.04)
        return mortar.float() * 0.9 + 0.1 * value_noise(su * 8, sv * 8, seed)
    if code == 4:  # two-octave noise
        return 0.65 * value_noise(su, sv, seed) + 0.35 * value_noise(su * 3, sv * 3, seed)
    if code == 5:  # wood grain
        grain = 0.5 + 0.5 * torch.sin(su * 12 + 3 * value_noise(su * 0.5, sv * 4, seed))
        return grain * 0.8 + 0.2 * value_noise(su * 3, sv * 3, seed)
    if code == 6:  # tiles with grout
        return (((su - torch.floor(su)) < 0.04) | ((sv - torch.floor(sv)) < 0.04)).float()
    if code == 7:  # windows on a facade
        fu, fv = su - torch.floor(su), sv - torch.floor(sv)
        return ((fu > 0.2) & (fu < 0.8) & (fv > 0.25) & (fv < 0.75)).float()
    if code == 8:  # dashed lane line along y = 0
        return ((torch.abs(v) < 0.08) & ((su - torch.floor(su)) < 0.5)).float() + 0.15 * value_noise(su * 3, sv * 3, seed)
    return torch.zeros_like(su)


def pattern(code: Tensor, u: Tensor, v: Tensor, scale: Tensor, seed: int) -> Tensor:
    """Mix weight in [0, 1] between a material's colour (0) and its second colour (1).

    Each texture kind is evaluated only on the hits that use it.
    """
    su, sv = u / scale, v / scale
    w = torch.zeros_like(u)
    for c in torch.unique(code).tolist():
        idx = (code == c).nonzero().squeeze(1)
        w[idx] = _pattern_one(c, su[idx], sv[idx], v[idx], seed)
    return w.clamp(0, 1)


class MaterialTable:
    """A description's materials as tensors for per-hit lookup."""

    def __init__(self, desc: SceneDescription, device="cpu"):
        mats = [desc.materials[p.material] for p in desc.primitives]
        self.color = torch.tensor([m.color for m in mats], device=device).reshape(-1, 3)
        self.color2 = torch.tensor([m.color2 for m in mats], device=device).reshape(-1, 3)
        self.code = torch.tensor([TEXTURE_CODES[m.texture] for m in mats], device=device, dtype=torch.long)
        self.scale = torch.tensor([m.scale for m in mats], device=device)
        self.seed = desc.seed % 100003


def albedo(materials: MaterialTable, prim: Tensor, p: Tensor, n: Tensor) -> Tensor:
    """[R, 3] albedo at hits (``prim >= 0``)."""
    k = prim.clamp(min=0)
    u, v = planar_uv(p, n)
    w = pattern(materials.code[k], u, v, materials.scale[k], materials.seed)[:, None]
    return materials.color[k] * (1 - w) + materials.color2[k] * w


def sky(desc: SceneDescription, dirs: Tensor) -> Tensor:
    """[R, 3] colour of rays that hit nothing."""
    light = desc.lighting
    zen, hor = torch.tensor(light.sky_zenith, device=dirs.device), torch.tensor(light.sky_horizon, device=dirs.device)
    up = dirs[:, 2:3].clamp(0, 1) ** 0.6
    col = hor * (1 - up) + zen * up
    return col * 0.35 if light.indoor else col


def shade(desc: SceneDescription, base: Tensor, n: Tensor, in_shadow: Tensor | None) -> Tensor:
    """Lambertian radiance: albedo * (sky ambient + sun), the sun blocked where ``in_shadow``."""
    light = desc.lighting
    sun = torch.nn.functional.normalize(torch.tensor(light.sun_direction, device=n.device), dim=0)
    lambert = (n @ sun).clamp(min=0)
    if in_shadow is not None:
        lambert = lambert * (~in_shadow).float()
    ambient = light.ambient * (0.65 + 0.35 * n[:, 2])
    return (base * (ambient + light.sun_intensity * lambert)[:, None]).clamp(0, 1)
