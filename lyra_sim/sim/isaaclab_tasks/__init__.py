"""Isaac Lab 3 tasks over generated worlds, registered as gymnasium ids on import.

- ``LyraSim-Humanoid-Stand-v0``: stand where spawned (zero velocity command).
- ``LyraSim-Humanoid-Walk-v0``: track a velocity command drawn per episode.

Each environment group holds one world of a pool (``worlds`` in the env config,
``$LYRA_SIM_WORLDS`` or the repository's gallery; :mod:`.worlds`), the robot starts at a drawn
spawn point on every reset, physics is Newton on CPU (or PhysX with Kit). Train with
``scripts/train.py`` in the environment ``scripts/install_isaaclab.sh`` makes. Importing this
package needs Isaac Lab 3 and gymnasium; ``import lyra_sim.sim`` does not import it.
"""

from lyra_sim.errors import InvalidInputError
from lyra_sim.sim.isaaclab import ISAACLAB_HINT, IsaacLabMissingError

STAND_TASK = "LyraSim-Humanoid-Stand-v0"
WALK_TASK = "LyraSim-Humanoid-Walk-v0"
TASKS = (STAND_TASK, WALK_TASK)

try:
    import gymnasium as gym
    import isaaclab  # noqa: F401
    import isaaclab_rl  # noqa: F401
except ImportError as err:
    raise IsaacLabMissingError(f"Isaac Lab 3 is not importable here ({err}); run scripts/install_isaaclab.sh and use "
                               f".venv-isaaclab/bin/python, or {ISAACLAB_HINT}") from None

for _task, _cfg, _agent in ((STAND_TASK, "HumanoidStandEnvCfg", "HumanoidStandPPORunnerCfg"),
                            (WALK_TASK, "HumanoidWalkEnvCfg", "HumanoidWalkPPORunnerCfg")):
    if _task not in gym.registry:
        gym.register(
            id=_task,
            entry_point=f"{__name__}.humanoid_env:HumanoidWorldsEnv",
            disable_env_checker=True,
            kwargs={
                "env_cfg_entry_point": f"{__name__}.humanoid_env_cfg:{_cfg}",
                "rsl_rl_cfg_entry_point": f"{__name__}.agents:{_agent}",
            },
        )



def task_cfg(task: str, entry: str = "env_cfg_entry_point"):
    """A fresh config of a registered task: ``entry`` is ``env_cfg_entry_point`` (the env config)
    or ``rsl_rl_cfg_entry_point`` (the PPO runner config). (Isaac Lab's own
    ``isaaclab_tasks.utils.load_cfg_from_registry`` imports every stock task, hydra included.)

    Raises:
        InvalidInputError: ``task`` is not one of :data:`TASKS`.
    """
    import importlib

    if task not in TASKS:
        raise InvalidInputError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    module, name = gym.spec(task).kwargs[entry].split(":")
    return getattr(importlib.import_module(module), name)()


__all__ = ["STAND_TASK", "TASKS", "WALK_TASK", "task_cfg"]
