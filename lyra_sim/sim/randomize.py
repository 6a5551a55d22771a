"""Seeded, reproducible per-environment variation of a composed world, recorded for replay.

Environment ``i`` draws from its own generator, ``numpy.random.default_rng([seed, i])``, so its
draws depend only on the seed and its index: adding environments never changes the earlier
ones, and one environment can be rebuilt alone. Every draw is kept in an :class:`EnvDraw`;
:class:`WorldDraws` round-trips through JSON (the composed stage stores it), so an episode
can be replayed exactly by composing again with the recorded draws.

Angles are degrees (USD's convention), lengths metres, light intensity in USD's ``inputs:intensity``
units, colour temperature kelvin.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from lyra_sim.errors import InvalidInputError


@dataclass
class SceneLayoutCfg:
    """Which generated scene an environment holds, and how it is turned and shifted."""

    choice: Literal["cycle", "random"] = "cycle"
    """"cycle": environment i holds scene i mod len(scenes) (every scene used); "random": a
    uniform draw per environment. Defaults to "cycle"."""

    yaw_range: tuple[float, float] = (-180.0, 180.0)
    """Scene turn about +Z around its footprint centre, degrees. Defaults to (-180, 180)."""

    offset_range: float = 0.25
    """Scene shift in x and y, each uniform in [-offset_range, offset_range], metres. Defaults to 0.25."""


@dataclass
class RobotPoseCfg:
    """Where and how each robot starts."""

    spawn_choice: Literal["random", "cycle"] = "random"
    """"random": distinct spawn points drawn per environment; "cycle": environment i's robots
    take spawn points i*R, i*R+1, ... mod the scene's count (every point used). Defaults to "random"."""

    yaw_range: tuple[float, float] = (-180.0, 180.0)
    """Robot heading about +Z, degrees. Defaults to (-180, 180)."""

    position_jitter: float = 0.1
    """Largest shift from the spawn point, metres, uniform in a disc; never more than half the
    spawn point's clearance, so the robot stays on free floor. Defaults to 0.1."""

    drop_height: float = 0.02
    """The robot starts this far above its standing height, metres. Defaults to 0.02."""


@dataclass
class ColliderMaterialCfg:
    """Friction and bounciness of the scene collider's physics material."""

    static_friction_range: tuple[float, float] = (0.7, 1.0)
    """Static friction coefficient. Defaults to (0.7, 1.0)."""

    dynamic_friction_range: tuple[float, float] = (0.5, 0.9)
    """Dynamic friction coefficient, clipped to at most the static one. Defaults to (0.5, 0.9)."""

    restitution_range: tuple[float, float] = (0.0, 0.05)
    """Restitution (0: no bounce). Defaults to (0.0, 0.05)."""


@dataclass
class LightingCfg:
    """The light above each environment."""

    intensity_range: tuple[float, float] = (2.0e4, 6.0e4)
    """SphereLight ``inputs:intensity``. Defaults to (2e4, 6e4)."""

    color_temperature_range: tuple[float, float] = (3500.0, 6500.0)
    """Colour temperature, kelvin (3500 warm indoor, 6500 daylight). Defaults to (3500, 6500)."""


@dataclass
class GaussianColorCfg:
    """Colour jitter of the scene's Gaussians: a per-channel gain on their colour."""

    enabled: bool = False
    """Jitter the Gaussians' colours. It writes one override of the SH coefficient array per
    environment into the world layer (N x (degree+1)^2 x 3 floats each), so it is off by default.
    Defaults to False."""

    gain_range: tuple[float, float] = (0.85, 1.15)
    """Per-channel multiplier of the rendered colour. Defaults to (0.85, 1.15)."""


@dataclass
class RandomizationCfg:
    """Everything drawn per environment."""

    seed: int = 0
    """Base seed; environment i draws from ``default_rng([seed, i])``. Defaults to 0."""

    scene: SceneLayoutCfg = field(default_factory=SceneLayoutCfg)
    """Scene choice, yaw and offset. Defaults to SceneLayoutCfg()."""

    robot: RobotPoseCfg = field(default_factory=RobotPoseCfg)
    """Spawn point choice and initial pose. Defaults to RobotPoseCfg()."""

    material: ColliderMaterialCfg = field(default_factory=ColliderMaterialCfg)
    """Collider friction/restitution. Defaults to ColliderMaterialCfg()."""

    lighting: LightingCfg = field(default_factory=LightingCfg)
    """Light intensity/colour. Defaults to LightingCfg()."""

    gaussian_color: GaussianColorCfg = field(default_factory=GaussianColorCfg)
    """Gaussian colour jitter. Defaults to GaussianColorCfg()."""


@dataclass
class RobotDraw:
    """One robot's start: ``spawn`` indexes the scene's spawn points; ``yaw`` degrees;
    ``offset`` [2] metres from the spawn point (scene frame); ``drop_height`` metres."""

    spawn: int
    yaw: float
    offset: tuple[float, float]
    drop_height: float


@dataclass
class EnvDraw:
    """Everything drawn for one environment."""

    env: int
    scene: int
    """Index into the world's scene list."""
    scene_yaw: float
    scene_offset: tuple[float, float]
    robots: list[RobotDraw]
    static_friction: float
    dynamic_friction: float
    restitution: float
    light_intensity: float
    light_color_temperature: float
    gaussian_gain: tuple[float, float, float]


@dataclass
class WorldDraws:
    """The draws of every environment of one world, with the seed they came from."""

    seed: int
    envs: list[EnvDraw]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> WorldDraws:
        """Parse :meth:`to_json` output.

        Raises:
            InvalidInputError: not a draws record.
        """
        try:
            data = json.loads(text)
            envs = []
            for e in data["envs"]:
                robots = [RobotDraw(int(r["spawn"]), float(r["yaw"]), tuple(r["offset"]), float(r["drop_height"]))
                          for r in e.pop("robots")]
                e["scene_offset"] = tuple(e["scene_offset"])
                e["gaussian_gain"] = tuple(e["gaussian_gain"])
                envs.append(EnvDraw(robots=robots, **e))
            return cls(int(data["seed"]), envs)
        except (ValueError, KeyError, TypeError) as err:
            raise InvalidInputError(f"not a lyra-sim draws record ({err}); give a world written by `lyra-sim world`") from None


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    lo, hi = (float(b) for b in bounds)
    if hi < lo:
        raise InvalidInputError(f"range {bounds} has its upper bound below its lower bound; give (low, high)")
    return float(rng.uniform(lo, hi)) if hi > lo else lo


def draw_env(env: int, spawn_clearances: list[list[float]], robots_per_env: int, cfg: RandomizationCfg) -> EnvDraw:
    """Draw environment ``env``.

    Args:
        spawn_clearances: per scene of the pool, the clearance (metres) of each of its spawn points.
        robots_per_env: robots standing in each environment.

    Raises:
        InvalidInputError: the chosen scene has fewer spawn points than robots.
    """
    rng = np.random.default_rng([int(cfg.seed), int(env)])
    n_scenes = len(spawn_clearances)
    # Fixed draw order below: changing it changes every recorded world, so append, never insert.
    drawn_scene = int(rng.integers(n_scenes))  # drawn in both modes: later draws must not depend on the mode
    scene = env % n_scenes if cfg.scene.choice == "cycle" else drawn_scene
    scene_yaw = _uniform(rng, cfg.scene.yaw_range)
    scene_offset = tuple(float(v) for v in rng.uniform(-cfg.scene.offset_range, cfg.scene.offset_range, 2))
    clearances = spawn_clearances[scene]
    if robots_per_env > len(clearances):
        raise InvalidInputError(f"scene {scene} has {len(clearances)} spawn point(s) but {robots_per_env} robot(s) "
                                "must stand in it; use fewer robots or re-export with more spawn points")
    drawn_spawns = [int(s) for s in rng.permutation(len(clearances))[:robots_per_env]]
    if cfg.robot.spawn_choice == "cycle":
        spawns = [(env * robots_per_env + k) % len(clearances) for k in range(robots_per_env)]
    else:
        spawns = drawn_spawns
    robots = []
    for s in spawns:
        yaw = _uniform(rng, cfg.robot.yaw_range)
        radius = min(cfg.robot.position_jitter, 0.5 * clearances[s]) * np.sqrt(rng.uniform())
        angle = rng.uniform(0.0, 2.0 * np.pi)
        robots.append(RobotDraw(s, yaw, (float(radius * np.cos(angle)), float(radius * np.sin(angle))),
                                float(cfg.robot.drop_height)))
    static = _uniform(rng, cfg.material.static_friction_range)
    dynamic = min(_uniform(rng, cfg.material.dynamic_friction_range), static)
    restitution = _uniform(rng, cfg.material.restitution_range)
    intensity = _uniform(rng, cfg.lighting.intensity_range)
    temperature = _uniform(rng, cfg.lighting.color_temperature_range)
    gain = tuple(_uniform(rng, cfg.gaussian_color.gain_range) for _ in range(3))
    if not cfg.gaussian_color.enabled:
        gain = (1.0, 1.0, 1.0)
    return EnvDraw(env, scene, scene_yaw, scene_offset, robots, static, dynamic, restitution, intensity, temperature, gain)


def draw_world(num_envs: int, spawn_clearances: list[list[float]], robots_per_env: int,
               cfg: RandomizationCfg | None = None) -> WorldDraws:
    """Draw ``num_envs`` environments over a pool of scenes (see :func:`draw_env`)."""
    cfg = cfg or RandomizationCfg()
    if num_envs < 1:
        raise InvalidInputError(f"num_envs must be at least 1, got {num_envs}")
    if not spawn_clearances:
        raise InvalidInputError("no scenes to draw from; give at least one exported scene folder")
    return WorldDraws(int(cfg.seed), [draw_env(i, spawn_clearances, robots_per_env, cfg) for i in range(num_envs)])
