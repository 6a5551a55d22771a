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


def _importable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # its parent package is missing
        return False


def check_runnable(robot: str, physics: str = "newton") -> None:
    """Refuse, before any simulation starts, what this Python cannot run: an unknown robot or a
    missing robot file; Isaac Lab's Unitree configs (h1, g1), which load from NVIDIA's asset server
    through Isaac Sim's ``omni.client``; PhysX, which needs Isaac Sim (Kit).

    Raises:
        InvalidInputError: unknown robot, missing file, or physics not "newton"/"physx".
        IsaacLabMissingError: h1/g1 without ``omni.client``, PhysX without Isaac Sim.
    """
    from lyra_sim.sim.robots import ROBOTS, resolve_robot

    if physics not in ("newton", "physx"):
        raise InvalidInputError(f"unknown physics {physics!r}; choose newton or physx")
    spec = ROBOTS.get(robot.lower())
    if spec is None:
        resolve_robot(robot)  # a robot USD: it must exist
    elif spec.isaac_asset and not _importable("omni.client"):
        raise IsaacLabMissingError(
            f"robot {robot!r} is Isaac Lab's Unitree asset, loaded from NVIDIA's asset server through Isaac Sim's "
            "omni.client, which this Python lacks; run inside Isaac Sim (./isaaclab.sh -p scripts/train.py ...) "
            "or use robot 'builtin'")
    if physics == "physx" and not _importable("isaacsim"):
        raise IsaacLabMissingError("physics 'physx' needs Isaac Sim (Kit), which this Python lacks; run inside Isaac "
                                   "Sim (./isaaclab.sh -p scripts/train.py ... --physics physx) or use physics 'newton'")


__all__ = ["STAND_TASK", "TASKS", "WALK_TASK", "check_runnable", "task_cfg"]
