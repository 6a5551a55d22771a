"""Sim: exported scenes composed into robot worlds in plain USD, randomized per environment.

``compose_world`` builds the world stage (scenes as payloads on a grid, one physics scene,
lights, robots at spawn points); ``randomize`` draws and records the per-environment
variation; ``robots`` names the robots (Isaac's Unitree H1/G1, lyra-sim's own humanoid, any
USD); ``physics`` checks robots on the collider with PhysX on CPU; ``isaaclab`` builds Isaac
Lab configurations and ``isaaclab_tasks`` (imported only on its own: it needs Isaac Lab 3)
registers RL tasks over generated worlds. The Kit extension in ``extension/`` only wires UI to
these functions.
"""

import lazy_loader

# Submodules load on first use of a name (SPEC 1, lazy_loader), so `lyra-sim --help` and the
# commands that need no tensors never import torch.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "compose": [
            "WorldCfg",
            "add_robot",
            "add_scene",
            "compose_world",
            "read_world_record",
            "set_collider_visibility",
            "write_world",
        ],
        "humanoid": ["HumanoidCfg", "author_humanoid"],
        "open_stage": ["OpenStageWorld"],
        "randomize": [
            "ColliderMaterialCfg",
            "EnvDraw",
            "GaussianColorCfg",
            "LightingCfg",
            "RandomizationCfg",
            "RobotDraw",
            "RobotPoseCfg",
            "SceneLayoutCfg",
            "WorldDraws",
            "draw_world",
        ],
        "robots": ["ROBOTS", "RobotSpec", "resolve_robot"],
        "scenes": ["ExportedScene", "open_scene"],
    },
)

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
