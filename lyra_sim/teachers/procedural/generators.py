"""From a prompt and a seed to a :class:`SceneDescription`.

The prompt picks the kind of place (keywords below) and nudges colours, materials, size and
clutter; the seed draws everything else. The same prompt and seed give the same scene on any
machine (the draw is seeded from a SHA-256 of both, never Python's salted ``hash``).

Kinds and their keywords:

- ``warehouse``: warehouse, storage, depot, factory, logistics, shelves, pallets
- ``office``: office, desk, workspace, cubicle, meeting
- ``corridor``: corridor, hallway, hall, tunnel, passage
- ``street``: street, road, city, town, sidewalk, urban, alley
- ``outdoor``: outdoor, terrain, hill, slope, rocks, park, field, forest, mountain, garden
- ``room``: everything else (living room, bedroom, kitchen, ...)

All sizes are metres in a Z-up world; the ground is z = 0. The input camera stands at eye
height (1.5-1.7 m) near one end, looking into the scene slightly downwards.
"""

from __future__ import annotations

import hashlib
import math
import random

from lyra_sim.teachers.procedural.scene import CameraSpec, Lighting, Material, Motion, Primitive, SceneDescription

KIND_KEYWORDS = {
    "warehouse": ("warehouse", "storage", "depot", "factory", "logistics", "shelves", "shelf", "pallet", "pallets"),
    "office": ("office", "desk", "desks", "workspace", "cubicle", "meeting"),
    "corridor": ("corridor", "hallway", "hall", "tunnel", "passage"),
    "street": ("street", "road", "city", "town", "sidewalk", "urban", "alley"),
    "outdoor": ("outdoor", "outdoors", "terrain", "hill", "hills", "slope", "rocks", "rock", "park", "field", "forest", "mountain", "garden"),
}
COLORS = {
    "red": (0.75, 0.2, 0.18), "blue": (0.2, 0.35, 0.75), "green": (0.25, 0.6, 0.3), "yellow": (0.9, 0.8, 0.25),
    "white": (0.9, 0.9, 0.88), "black": (0.12, 0.12, 0.13), "gray": (0.5, 0.5, 0.52), "grey": (0.5, 0.5, 0.52),
    "orange": (0.9, 0.5, 0.15), "purple": (0.5, 0.3, 0.65), "brown": (0.5, 0.33, 0.2), "beige": (0.85, 0.78, 0.62),
    "pink": (0.9, 0.6, 0.7), "teal": (0.2, 0.6, 0.6),
}


def classify(prompt: str) -> str:
    """The scene kind a prompt asks for (see module docstring)."""
    words = set(prompt.lower().replace(",", " ").replace(".", " ").split())
    for kind, keys in KIND_KEYWORDS.items():
        if words & set(keys):
            return kind
    return "room"


def rng_for(prompt: str, seed: int) -> random.Random:
    digest = hashlib.sha256(f"{prompt}\x00{seed}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


class _Builder:
    """Accumulates primitives and de-duplicated materials."""

    def __init__(self, rng: random.Random, prompt: str):
        self.rng, self.prompt = rng, prompt.lower()
        self.prims: list[Primitive] = []
        self.mats: list[Material] = []

    def mat(self, color, texture="plain", color2=None, scale=0.5) -> int:
        jitter = lambda c: tuple(min(1.0, max(0.0, x * self.rng.uniform(0.9, 1.1))) for x in c)
        c = jitter(color)
        c2 = jitter(color2) if color2 is not None else tuple(x * 0.6 for x in c)
        self.mats.append(Material(c, texture, c2, scale))
        return len(self.mats) - 1

    def word_color(self, default):
        for word, col in COLORS.items():
            if word in self.prompt.split():
                return col
        return default

    def box(self, center, half, mat, yaw=0.0, label="", motion=None):
        self.prims.append(Primitive("box", tuple(center), tuple(half), yaw, mat, label=label, motion=motion))

    def cyl(self, base, radius, height, mat, label="", motion=None):
        self.prims.append(Primitive("cylinder", tuple(base), (radius, radius, height), 0.0, mat, label=label, motion=motion))

    def sphere(self, center, radius, mat, label="", motion=None):
        self.prims.append(Primitive("sphere", tuple(center), (radius, radius, radius), 0.0, mat, label=label, motion=motion))

    def ground(self, mat, label="floor"):
        self.prims.append(Primitive("plane", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.0, mat, label=label))

    def walls(self, width, depth, height, mat, thickness=0.1):
        """Four walls around [-width/2, width/2] x [0, depth]."""
        t = thickness
        self.box((0, depth + t, height / 2), (width / 2 + 2 * t, t, height / 2), mat, label="wall")
        self.box((0, -t, height / 2), (width / 2 + 2 * t, t, height / 2), mat, label="wall")
        self.box((-width / 2 - t, depth / 2, height / 2), (t, depth / 2 + 2 * t, height / 2), mat, label="wall")
        self.box((width / 2 + t, depth / 2, height / 2), (t, depth / 2 + 2 * t, height / 2), mat, label="wall")

    def table(self, x, y, mat, yaw=0.0, w=0.6, d=0.4, h=0.75):
        self.box((x, y, h - 0.025), (w, d, 0.025), mat, yaw, label="table")
        c, s = math.cos(yaw), math.sin(yaw)
        for sx, sy in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            lx, ly = sx * (w - 0.06), sy * (d - 0.06)
            self.cyl((x + c * lx - s * ly, y + s * lx + c * ly, 0.0), 0.03, h - 0.05, mat, label="table leg")

    def free_spot(self, xr, yr, radius, taken, tries=30):
        """A random (x, y) in the ranges at least ``radius`` from every taken spot."""
        for _ in range(tries):
            x, y = self.rng.uniform(*xr), self.rng.uniform(*yr)
            if all(math.hypot(x - tx, y - ty) > radius + tr for tx, ty, tr in taken):
                taken.append((x, y, radius))
                return x, y
        return None

    def clutter(self, default: int) -> int:
        if any(w in self.prompt for w in ("cluttered", "crowded", "busy", "full", "many")):
            return int(default * 1.6) + 1
        if any(w in self.prompt for w in ("empty", "sparse", "minimal", "bare")):
            return max(1, default // 3)
        return default


def _eye_camera(b: _Builder, eye_xy, target_xy, height=None, target_z=0.9) -> CameraSpec:
    h = height if height is not None else b.rng.uniform(1.5, 1.7)
    return CameraSpec(eye=(eye_xy[0], eye_xy[1], h), target=(target_xy[0], target_xy[1], target_z), fov_y_degrees=b.rng.uniform(55, 70))


def _room(b: _Builder):
    big = "large" in b.prompt or "big" in b.prompt
    width, depth = b.rng.uniform(4.5, 6.5) * (1.5 if big else 1.0), b.rng.uniform(5.5, 8.0) * (1.4 if big else 1.0)
    height = b.rng.uniform(2.5, 3.0)
    floor = b.mat((0.55, 0.4, 0.28), "wood", (0.42, 0.3, 0.2), 0.25) if b.rng.random() < 0.6 else b.mat((0.8, 0.78, 0.74), "tiles", (0.55, 0.55, 0.55), 0.5)
    b.ground(floor)
    b.walls(width, depth, height, b.mat(b.word_color((0.82, 0.8, 0.74)), "noise", None, 2.0))
    taken = [(0.0, 0.6, 0.8)]  # keep the camera's spot free
    for _ in range(b.clutter(4)):
        spot = b.free_spot((-width / 2 + 0.8, width / 2 - 0.8), (1.8, depth - 0.8), 0.8, taken)
        if spot is None:
            break
        kind = b.rng.choice(["table", "cabinet", "sofa", "ball", "lamp", "box"])
        col = b.rng.choice(list(COLORS.values()))
        yaw = b.rng.uniform(-0.6, 0.6)
        if kind == "table":
            b.table(*spot, b.mat((0.5, 0.34, 0.2), "wood", (0.38, 0.25, 0.15), 0.2), yaw)
        elif kind == "cabinet":
            h = b.rng.uniform(0.8, 1.9)
            b.box((*spot, h / 2), (b.rng.uniform(0.3, 0.6), 0.25, h / 2), b.mat(col, "plain"), yaw, "cabinet")
        elif kind == "sofa":
            m = b.mat(col, "noise", None, 0.3)
            b.box((*spot, 0.22), (0.9, 0.4, 0.22), m, yaw, "sofa")
            c, s = math.cos(yaw), math.sin(yaw)
            b.box((spot[0] - s * 0.32, spot[1] + c * 0.32, 0.55), (0.9, 0.08, 0.3), m, yaw, "sofa back")
        elif kind == "ball":
            r = b.rng.uniform(0.15, 0.35)
            b.sphere((*spot, r), r, b.mat(col), "ball")
        elif kind == "lamp":
            m = b.mat((0.2, 0.2, 0.2))
            b.cyl((*spot, 0.0), 0.04, 1.4, m, "lamp stand")
            b.sphere((*spot, 1.55), 0.18, b.mat((0.95, 0.92, 0.8)), "lamp shade")
        else:
            s = b.rng.uniform(0.2, 0.45)
            b.box((*spot, s), (s, s, s), b.mat(col, "stripes", None, 0.2), yaw, "box")
    return _eye_camera(b, (b.rng.uniform(-0.4, 0.4), 1.2), (b.rng.uniform(-0.5, 0.5), depth * 0.75)), Lighting(indoor=True, ambient=0.55, sun_intensity=0.55)


def _warehouse(b: _Builder):
    width, depth, height = b.rng.uniform(10, 16), b.rng.uniform(14, 22), b.rng.uniform(5, 8)
    b.ground(b.mat((0.6, 0.6, 0.58), "noise", (0.45, 0.45, 0.44), 1.5))
    b.walls(width, depth, height, b.mat(b.word_color((0.7, 0.72, 0.74)), "stripes", None, 1.0))
    rack = b.mat((0.2, 0.35, 0.7))
    beam = b.mat((0.9, 0.5, 0.1))
    cartons = [b.mat((0.65, 0.5, 0.32), "noise", None, 0.3), b.mat((0.75, 0.6, 0.4), "noise", None, 0.3)]
    n_rows = b.clutter(3)
    xs = [(-width / 2 + 2.0) + i * (width - 4.0) / max(n_rows - 1, 1) for i in range(n_rows)] if n_rows > 1 else [0.0]
    for x in xs:
        if abs(x) < 1.2:
            x += 1.6  # leave an aisle in front of the camera
        y0, y1 = b.rng.uniform(4, 6), depth - b.rng.uniform(1.5, 3)
        levels = b.rng.randint(2, 4)
        for y in (y0, y1):
            for dx in (-0.5, 0.5):
                b.box((x + dx, y, levels * 0.75), (0.04, 0.04, levels * 0.75), rack, label="rack post")
        for lv in range(1, levels + 1):
            z = lv * 1.5 - 0.05
            b.box((x, (y0 + y1) / 2, z), (0.55, (y1 - y0) / 2, 0.04), beam, label="shelf")
            n_cartons = b.rng.randint(2, 6)
            for _ in range(n_cartons):
                s = b.rng.uniform(0.2, 0.35)
                b.box((x + b.rng.uniform(-0.2, 0.2), b.rng.uniform(y0 + 0.4, y1 - 0.4), z + 0.04 + s), (s, s, s),
                      b.rng.choice(cartons), b.rng.uniform(-0.2, 0.2), "carton")
    taken = [(0.0, 1.0, 1.5)]
    for _ in range(b.clutter(4)):
        spot = b.free_spot((-width / 2 + 1, width / 2 - 1), (3, depth - 1), 0.9, taken)
        if spot is None:
            break
        if b.rng.random() < 0.5:
            b.box((*spot, 0.07), (0.6, 0.5, 0.07), b.mat((0.6, 0.45, 0.3), "wood", None, 0.15), b.rng.uniform(-0.3, 0.3), "pallet")
            b.box((*spot, 0.14 + 0.4), (0.5, 0.45, 0.4), b.rng.choice(cartons), b.rng.uniform(-0.3, 0.3), "carton stack")
        else:
            b.cyl((*spot, 0.0), 0.3, 0.9, b.mat(b.rng.choice([(0.2, 0.4, 0.7), (0.7, 0.2, 0.15), (0.3, 0.6, 0.3)])), "barrel")
    return _eye_camera(b, (0.0, 1.0), (b.rng.uniform(-1, 1), depth * 0.6), target_z=1.2), Lighting(indoor=True, ambient=0.6, sun_intensity=0.45)


def _office(b: _Builder):
    width, depth, height = b.rng.uniform(7, 10), b.rng.uniform(8, 12), 2.8
    b.ground(b.mat((0.35, 0.38, 0.45), "noise", (0.3, 0.32, 0.38), 0.8))
    b.walls(width, depth, height, b.mat(b.word_color((0.88, 0.88, 0.85)), "plain"))
    desk = b.mat((0.8, 0.78, 0.72), "wood", (0.7, 0.66, 0.6), 0.3)
    chair = b.mat((0.15, 0.15, 0.18))
    taken = [(0.0, 0.8, 1.0)]
    for _ in range(b.clutter(5)):
        spot = b.free_spot((-width / 2 + 1.2, width / 2 - 1.2), (2.5, depth - 1.2), 1.1, taken)
        if spot is None:
            break
        yaw = b.rng.choice([0.0, math.pi / 2]) + b.rng.uniform(-0.1, 0.1)
        b.table(*spot, desk, yaw, w=0.7, d=0.38, h=0.74)
        c, s = math.cos(yaw), math.sin(yaw)
        cx, cy = spot[0] + s * 0.6, spot[1] - c * 0.6
        b.box((cx, cy, 0.23), (0.23, 0.23, 0.04), chair, yaw, "chair seat")
        b.cyl((cx, cy, 0.0), 0.03, 0.2, chair, "chair post")
        b.box((*spot, 0.74 + 0.2), (0.25, 0.02, 0.16), b.mat((0.05, 0.05, 0.06)), yaw, "monitor")
        if b.rng.random() < 0.5:
            b.box((spot[0] - s * 0.5, spot[1] + c * 0.5, 0.6), (0.9, 0.03, 0.6), b.mat((0.45, 0.5, 0.6), "noise", None, 0.2), yaw, "partition")
    return _eye_camera(b, (0.0, 0.8), (b.rng.uniform(-1, 1), depth * 0.6)), Lighting(indoor=True, ambient=0.65, sun_intensity=0.4)


def _corridor(b: _Builder):
    width, depth, height = b.rng.uniform(2.2, 3.2), b.rng.uniform(14, 24), b.rng.uniform(2.6, 3.2)
    b.ground(b.mat((0.7, 0.7, 0.68), "tiles", (0.5, 0.5, 0.5), 0.6))
    wall = b.mat(b.word_color((0.78, 0.82, 0.8)), "brick" if "brick" in b.prompt else "plain", (0.6, 0.62, 0.6), 0.6)
    b.walls(width, depth, height, wall)
    door = b.mat((0.45, 0.3, 0.2), "wood", None, 0.3)
    y = 2.5
    while y < depth - 1.5:
        side = b.rng.choice([-1, 1])
        b.box((side * (width / 2 - 0.02), y, 1.05), (0.04, 0.5, 1.05), door, label="door")
        if b.rng.random() < 0.3:
            b.box((-side * (width / 2 - 0.25), y + 1.0, 0.23), (0.2, 0.6, 0.23), b.mat((0.3, 0.3, 0.35)), label="bench")
        y += b.rng.uniform(2.0, 4.0)
    return _eye_camera(b, (0.0, 0.6), (0.0, depth * 0.8), target_z=1.3), Lighting(indoor=True, ambient=0.6, sun_intensity=0.45)


def _outdoor(b: _Builder):
    size, n = b.rng.uniform(30, 45), 33
    xmin, ymin = -size / 2, -4.0
    slope_x, slope_y = b.rng.uniform(-0.12, 0.12), b.rng.uniform(0.0, 0.2 if "slope" in b.prompt or "hill" in b.prompt else 0.1)
    bumps = [(b.rng.uniform(xmin, -xmin), b.rng.uniform(ymin + 6, ymin + size), b.rng.uniform(0.3, 2.5), b.rng.uniform(2.5, 7)) for _ in range(6)]
    heights = []
    for j in range(n):
        y = ymin + size * j / (n - 1)
        row = []
        for i in range(n):
            x = xmin + size * i / (n - 1)
            h = slope_x * x + slope_y * max(y - 3.0, 0.0)
            h += sum(a * math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s)) for cx, cy, a, s in bumps)
            row.append(h)
        heights.append(row)
    base = min(min(r) for r in heights)
    heights = [[h - base for h in r] for r in heights]
    grass = b.mat(b.word_color((0.32, 0.55, 0.25)), "noise", (0.45, 0.5, 0.28), 1.2)
    b.prims.append(Primitive("terrain", (0, 0, 0), (0, 0, 0), 0.0, grass, heights=heights, extent=(xmin, ymin, xmin + size, ymin + size), label="terrain"))

    def ground_at(x, y):
        gx, gy = (x - xmin) / size * (n - 1), (y - ymin) / size * (n - 1)
        i, j = min(int(gx), n - 2), min(int(gy), n - 2)
        fx, fy = gx - i, gy - j
        return (heights[j][i] * (1 - fx) + heights[j][i + 1] * fx) * (1 - fy) + (heights[j + 1][i] * (1 - fx) + heights[j + 1][i + 1] * fx) * fy

    rock = b.mat((0.5, 0.48, 0.45), "noise", (0.35, 0.34, 0.33), 0.4)
    bark, leaves = b.mat((0.35, 0.24, 0.15)), b.mat((0.2, 0.45, 0.18), "noise", (0.15, 0.35, 0.12), 0.5)
    taken = [(0.0, 0.0, 2.0)]
    for _ in range(b.clutter(10)):
        spot = b.free_spot((xmin + 2, -xmin - 2), (4, ymin + size - 2), 1.2, taken)
        if spot is None:
            break
        z = ground_at(*spot)
        if b.rng.random() < 0.55:
            r = b.rng.uniform(0.3, 1.2)
            b.sphere((*spot, z + 0.4 * r), r, rock, "rock")
        else:
            h = b.rng.uniform(2.5, 5)
            b.cyl((*spot, z - 0.2), 0.15, h, bark, "tree trunk")
            b.sphere((*spot, z + h), b.rng.uniform(1.0, 1.8), leaves, "tree crown")
    eye_z = ground_at(0.0, 0.0) + b.rng.uniform(1.5, 1.7)
    target = (b.rng.uniform(-2, 2), 14.0)
    cam = CameraSpec((0.0, 0.0, eye_z), (target[0], target[1], ground_at(*target) + 1.0), b.rng.uniform(55, 70))
    return cam, Lighting(sun_direction=(b.rng.uniform(-0.6, 0.6), b.rng.uniform(-0.2, 0.6), 0.8), ambient=0.4, sun_intensity=0.8)


def _street(b: _Builder):
    length, road_w = b.rng.uniform(40, 60), b.rng.uniform(6, 9)
    b.ground(b.mat((0.25, 0.25, 0.27), "lanes", (0.9, 0.9, 0.85), 3.0), label="road")
    walk = b.mat((0.62, 0.6, 0.58), "tiles", (0.5, 0.5, 0.48), 0.8)
    for side in (-1, 1):
        b.box((side * (road_w / 2 + 1.5), length / 2, 0.075), (1.5, length / 2 + 2, 0.075), walk, label="sidewalk")
        y = b.rng.uniform(-1, 3)
        while y < length:
            w = b.rng.uniform(4, 9)
            h = b.rng.uniform(6, 18)
            col = b.word_color(b.rng.choice([(0.7, 0.6, 0.5), (0.6, 0.62, 0.65), (0.75, 0.7, 0.6), (0.55, 0.45, 0.4)]))
            b.box((side * (road_w / 2 + 3 + 3), y + w / 2, h / 2), (3, w / 2, h / 2), b.mat(col, "windows", (0.25, 0.32, 0.4), 2.0), label="building")
            y += w + b.rng.uniform(0.0, 1.5)
        for yy in range(4, int(length), 10):
            b.cyl((side * (road_w / 2 + 0.5), yy + b.rng.uniform(-1, 1), 0.15), 0.06, 4.0, b.mat((0.3, 0.3, 0.3)), "pole")
    for _ in range(b.clutter(4)):
        lane = b.rng.choice([-1, 1]) * road_w / 4
        y = b.rng.uniform(6, length - 5)
        col = b.rng.choice(list(COLORS.values()))
        b.box((lane, y, 0.55), (0.9, 2.1, 0.45), b.mat(col), b.rng.uniform(-0.05, 0.05), "car body")
        b.box((lane, y - 0.2, 1.2), (0.8, 1.1, 0.25), b.mat((0.2, 0.25, 0.3)), 0.0, "car cabin")
    cam = _eye_camera(b, (b.rng.uniform(-1, 1), 0.0), (b.rng.uniform(-1, 1), 20.0), target_z=1.8)
    return cam, Lighting(sun_direction=(0.5, -0.3, 0.8), ambient=0.4, sun_intensity=0.8)


_GENERATORS = {"room": _room, "warehouse": _warehouse, "office": _office, "corridor": _corridor, "outdoor": _outdoor, "street": _street}


def _add_motion(b: _Builder) -> None:
    """Make 1-3 objects move: the ball-like ones swing or roll, boxes slide or spin."""
    movable = [p for p in b.prims if p.kind in ("box", "sphere", "cylinder") and p.label not in ("wall", "sidewalk", "building", "shelf", "rack post", "road")]
    b.rng.shuffle(movable)
    count = min(len(movable), b.rng.randint(1, 3))
    for p in movable[:count]:
        dx, dy = b.rng.uniform(-1.2, 1.2), b.rng.uniform(-1.2, 1.2)
        if p.kind == "sphere" and b.rng.random() < 0.5:
            p.motion = Motion("swing", offset=(dx, dy, 0.0), angle=b.rng.uniform(0.4, 0.8), pivot=(p.center[0], p.center[1], p.center[2] + 1.5))
        elif p.kind == "box" and b.rng.random() < 0.4:
            p.motion = Motion("spin", angle=b.rng.uniform(1.0, 3.0))
        else:
            p.motion = Motion("translate", offset=(dx, dy, 0.0), cycles=b.rng.choice([0.5, 1.0]))
    if count == 0:  # nothing to move: add a rolling ball in front of the camera
        r = 0.25
        mat = b.mat((0.9, 0.3, 0.2))
        b.sphere((0.0, 3.0, r), r, mat, "ball", Motion("translate", offset=(1.5, 0.5, 0.0)))


def generate_description(prompt: str, seed: int = 0, dynamic: bool = False) -> SceneDescription:
    """The scene for ``prompt`` and ``seed`` (deterministic)."""
    rng = rng_for(prompt, seed)
    kind = classify(prompt)
    b = _Builder(rng, prompt)
    camera, lighting = _GENERATORS[kind](b)
    if dynamic:
        _add_motion(b)
    return SceneDescription(kind, prompt, seed, b.prims, b.mats, camera, lighting, dynamic)
