"""Sim: exported scenes composed into robot worlds in plain USD, randomized per environment.

``compose_world`` builds the world stage (scenes as payloads on a grid, one physics scene,
lights, robots at spawn points); ``randomize`` draws and records the per-environment
variation; ``robots`` names the robots (Isaac's Unitree H1/G1, lyra-sim's own humanoid, any
USD); ``physics`` checks robots on the collider with PhysX on CPU; ``isaaclab`` builds Isaac
Lab configurations and ``isaaclab_tasks`` (imported only on its own: it needs Isaac Lab 3)
registers RL tasks over generated worlds. The Kit extension in ``extension/`` only wires UI to
these functions.
"""

from lyra_sim.sim.compose import (
    WorldCfg,
    add_robot,
    add_scene,
    compose_world,
    read_world_record,
    set_collider_visibility,
    write_world,
)
from lyra_sim.sim.humanoid import HumanoidCfg, author_humanoid
from lyra_sim.sim.open_stage import OpenStageWorld
from lyra_sim.sim.randomize import (
    ColliderMaterialCfg,
    EnvDraw,
    GaussianColorCfg,
    LightingCfg,
    RandomizationCfg,
    RobotDraw,
    RobotPoseCfg,
    SceneLayoutCfg,
    WorldDraws,
    draw_world,
)
from lyra_sim.sim.robots import ROBOTS, RobotSpec, resolve_robot
from lyra_sim.sim.scenes import ExportedScene, open_scene

__all__ = [
    "ROBOTS",
    "ColliderMaterialCfg",
    "EnvDraw",
    "ExportedScene",
    "GaussianColorCfg",
    "HumanoidCfg",
    "LightingCfg",
    "OpenStageWorld",
    "RandomizationCfg",
    "RobotDraw",
    "RobotPoseCfg",
    "RobotSpec",
    "SceneLayoutCfg",
    "WorldCfg",
    "WorldDraws",
    "add_robot",
    "add_scene",
    "author_humanoid",
    "compose_world",
    "draw_world",
    "open_scene",
    "read_world_record",
    "resolve_robot",
    "set_collider_visibility",
    "write_world",
]
