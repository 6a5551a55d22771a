"""Procedural scene descriptions: analytic primitives with materials, lights and motions.

A :class:`SceneDescription` is plain data (JSON-serialisable through :meth:`to_dict`) in a
Z-up, metric world frame: the ground is z = 0 and gravity points along -z. Primitives:

- ``box``: centre, half extents, yaw about +z (rad)
- ``cylinder``: vertical; base centre (x, y, z0), radius, height
- ``sphere``: centre, radius
- ``plane``: the infinite ground z = height
- ``terrain``: a heightfield ``z = h(x, y)`` on a regular grid (bilinear), for outdoor slopes

Dynamic scenes give some primitives a :class:`Motion` (translate back and forth, spin about
+z, or swing as a pendulum); :meth:`SceneDescription.at` evaluates the scene at a time in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

PrimitiveKind = Literal["box", "cylinder", "sphere", "plane", "terrain"]
TextureKind = Literal["plain", "checker", "stripes", "brick", "noise", "wood", "tiles", "windows", "lanes"]


@dataclass
class Material:
    """Lambertian surface with a procedural texture.

    Attributes:
        color: base albedo, RGB in [0, 1].
        texture: pattern mixing ``color`` and ``color2``.
        color2: second albedo of the pattern.
        scale: pattern period in metres.
    """

    color: tuple[float, float, float]
    texture: TextureKind = "plain"
    color2: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: float = 0.5


@dataclass
class Motion:
    """How a primitive moves over normalised time t in [0, 1].

    Attributes:
        kind: "translate" (to ``center + offset`` and back, smoothly), "spin" (yaw grows by
            ``angle`` radians over the clip) or "swing" (pendulum about ``pivot``: the centre
            keeps its distance to the pivot and swings by up to ``angle`` radians in the plane
            spanned by +z and ``offset``).
    """

    kind: Literal["translate", "spin", "swing"]
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    angle: float = 0.0
    pivot: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cycles: float = 1.0


@dataclass
class Primitive:
    """One analytic shape. Parameters unused by a kind are left at their defaults.

    Attributes:
        kind: see module docstring.
        center: box/sphere centre, cylinder base centre; metres.
        size: box half extents; (radius, radius, height) for cylinders; (r, r, r) spheres.
        yaw: rotation about +z, radians (boxes).
        material: index into :attr:`SceneDescription.materials`.
        heights: terrain heights, row-major ``[ny][nx]`` over ``extent``.
        extent: terrain (xmin, ymin, xmax, ymax).
        motion: optional motion for dynamic scenes.
        label: what it is ("table", "shelf", ...), for descriptions and debugging.
    """

    kind: PrimitiveKind
    center: tuple[float, float, float] = (0.0, 0.0, 0.0)
    size: tuple[float, float, float] = (0.5, 0.5, 0.5)
    yaw: float = 0.0
    material: int = 0
    heights: list[list[float]] | None = None
    extent: tuple[float, float, float, float] | None = None
    motion: Motion | None = None
    label: str = ""


@dataclass
class CameraSpec:
    """The input camera: eye position, look-at target (world, metres) and vertical FOV (deg)."""

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    fov_y_degrees: float = 60.0


@dataclass
class Lighting:
    """Sun (directional) plus sky ambient; ``indoor`` dims the sky seen through misses."""

    sun_direction: tuple[float, float, float] = (0.4, 0.3, 0.85)
    sun_intensity: float = 0.75
    ambient: float = 0.45
    sky_zenith: tuple[float, float, float] = (0.35, 0.55, 0.85)
    sky_horizon: tuple[float, float, float] = (0.85, 0.9, 0.95)
    indoor: bool = False


@dataclass
class SceneDescription:
    """A complete procedural scene: what the prompt and seed produced."""

    kind: str
    prompt: str
    seed: int
    primitives: list[Primitive]
    materials: list[Material]
    camera: CameraSpec
    lighting: Lighting = field(default_factory=Lighting)
    dynamic: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SceneDescription":
        prims = [
            Primitive(
                **{
                    **p,
                    "motion": Motion(**{k: tuple(v) if isinstance(v, list) else v for k, v in p["motion"].items()}) if p.get("motion") else None,
                    "center": tuple(p["center"]),
                    "size": tuple(p["size"]),
                    "extent": tuple(p["extent"]) if p.get("extent") is not None else None,
                }
            )
            for p in data["primitives"]
        ]
        return cls(
            kind=data["kind"],
            prompt=data["prompt"],
            seed=data["seed"],
            primitives=prims,
            materials=[Material(**{**m, "color": tuple(m["color"]), "color2": tuple(m["color2"])}) for m in data["materials"]],
            camera=CameraSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in data["camera"].items()}),
            lighting=Lighting(**{k: tuple(v) if isinstance(v, list) else v for k, v in data["lighting"].items()}),
            dynamic=data.get("dynamic", False),
        )

    def at(self, time: float) -> "SceneDescription":
        """The scene at normalised time ``time`` in [0, 1] (moving primitives moved)."""
        if not any(p.motion for p in self.primitives):
            return self
        return replace(self, primitives=[_move(p, time) for p in self.primitives])


def _move(prim: Primitive, time: float) -> Primitive:
    m = prim.motion
    if m is None:
        return prim
    phase = 2 * math.pi * m.cycles * time
    if m.kind == "translate":
        w = 0.5 - 0.5 * math.cos(phase)  # 0 -> 1 -> 0 per cycle, smooth at the ends
        return replace(prim, center=tuple(c + w * o for c, o in zip(prim.center, m.offset)))
    if m.kind == "spin":
        return replace(prim, yaw=prim.yaw + m.angle * time)
    # swing: rotate the centre about the pivot in the vertical plane containing `offset`.
    theta = m.angle * math.sin(phase)
    px, py, pz = m.pivot
    rx, ry, rz = (c - p for c, p in zip(prim.center, m.pivot))
    horiz = math.hypot(m.offset[0], m.offset[1]) or 1.0
    ux, uy = m.offset[0] / horiz, m.offset[1] / horiz
    along = rx * ux + ry * uy
    new_along = along * math.cos(theta) - rz * math.sin(theta)
    new_z = along * math.sin(theta) + rz * math.cos(theta)
    cx, cy = px + rx + (new_along - along) * ux, py + ry + (new_along - along) * uy
    return replace(prim, center=(cx, cy, pz + new_z))
