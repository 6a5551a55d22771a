"""What scripts/train.py and scripts/play.py share (Isaac Lab's ``cli_args.py`` in its rsl_rl scripts).

Arguments, the one-line errors (exit code 2), where the worlds come from, and building the
wrapped environment. Isaac Lab is imported only after the arguments are read, so ``--help`` and
the "Isaac Lab is not installed" message work in any Python.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOG_ROOT = REPO / "logs" / "rsl_rl"
GENERATED_WORLDS = REPO / "logs" / "worlds"
FALLBACK_PROMPTS = (("living_room", "a living room with a sofa", 0), ("corridor", "a long corridor", 2))
INSTALL_HINT = "run scripts/install_isaaclab.sh and use its Python (.venv-isaaclab/bin/python scripts/...)"


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", default="LyraSim-Humanoid-Stand-v0",
                        help="LyraSim-Humanoid-Stand-v0 (default) or LyraSim-Humanoid-Walk-v0")
    parser.add_argument("--num_envs", type=int, default=None, help="environments (default: the task's, 8)")
    parser.add_argument("--device", default="cpu", help="simulation and policy device: cpu (default) or cuda:0")
    parser.add_argument("--worlds", nargs="+", default=None, metavar="DIR",
                        help="world folders from `lyra-sim generate` (default: $LYRA_SIM_WORLDS, else scenes/gallery/, "
                             "else two small worlds generated into logs/worlds/)")
    parser.add_argument("--robot", default="builtin", help="builtin (default, offline), h1 or g1 (NVIDIA's asset server)")
    parser.add_argument("--physics", default="newton", choices=("newton", "physx"),
                        help="newton (default; CPU or GPU, no Kit) or physx (Isaac Sim with Kit only)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the environments and the agent (default 42)")


def fail(message: str) -> None:
    """One line on stderr and exit code 2: bad input the user can fix."""
    print(f"{Path(sys.argv[0]).name}: {message}", file=sys.stderr)
    raise SystemExit(2)


def import_tasks():
    """``lyra_sim.sim.isaaclab_tasks`` (registers the gymnasium ids), or exit 2 when Isaac Lab is missing."""
    try:
        import lyra_sim.sim.isaaclab_tasks as tasks
    except ImportError:  # lyra_sim's IsaacLabMissingError is an ImportError
        fail(f"Isaac Lab 3 is not installed in this Python ({sys.executable}); {INSTALL_HINT}")
    return tasks


def resolve_worlds(worlds: list[str] | None) -> list[str]:
    """The worlds to train in (checked: collider and spawn points), generating two small ones with
    the embedded default into logs/worlds/ when none is given or found (about 2 minutes each on CPU)."""
    from lyra_sim.sim.isaaclab_tasks.worlds import WORLDS_ENV, gallery_worlds, open_worlds

    if not worlds and not os.environ.get(WORLDS_ENV) and not gallery_worlds():
        from lyra_sim.pipeline import generate

        for name, prompt, seed in FALLBACK_PROMPTS:
            out = GENERATED_WORLDS / name
            if not (out / "report.json").is_file():
                print(f"[lyra-sim] no worlds given or found: generating {out} ({prompt!r}, embedded default)", flush=True)
                generate(out, prompt=prompt, seed=seed,
                         overrides=["decoder.keep_fraction=0.25", "export.collider.max_triangles=20000"])
        worlds = [str(GENERATED_WORLDS / name) for name, _, _ in FALLBACK_PROMPTS]
    return [str(s.directory) for s in open_worlds(worlds)]


def make_env(args, tasks, render_mode=None):
    """(env config, agent config, RSL-RL-wrapped env) for ``args``; exit 2 on bad input."""
    import gymnasium as gym
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper, handle_deprecated_rsl_rl_cfg
    from isaaclab_rl.rsl_rl.utils import check_rsl_rl_version

    from lyra_sim.errors import LyraSimError

    try:
        env_cfg = tasks.task_cfg(args.task)
        agent_cfg = tasks.task_cfg(args.task, "rsl_rl_cfg_entry_point")
        tasks.check_runnable(args.robot, args.physics)  # before Isaac Lab starts Warp (which prints its own lines)
        env_cfg.worlds = resolve_worlds(args.worlds)
    except LyraSimError as err:
        fail(str(err))
    if args.num_envs is not None:
        if args.num_envs < 1:
            fail(f"--num_envs must be at least 1, got {args.num_envs}")
        env_cfg.scene.num_envs = args.num_envs
    if args.seed is not None:
        agent_cfg.seed = args.seed
    env_cfg.seed = agent_cfg.seed
    env_cfg.sim.device = agent_cfg.device = args.device
    env_cfg.robot, env_cfg.physics = args.robot, args.physics
    if getattr(args, "max_iterations", None) is not None:
        agent_cfg.max_iterations = args.max_iterations
    agent_cfg = handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())
    try:
        env = gym.make(args.task, cfg=env_cfg, render_mode=render_mode)
    except LyraSimError as err:
        fail(str(err))
    return env_cfg, agent_cfg, RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions)


def latest_checkpoint(log_root: Path, run: str = ".*", checkpoint: str = r"model_\d+\.pt") -> Path | None:
    """The checkpoint of highest iteration in the latest run folder under ``log_root`` whose name
    matches ``run`` (Isaac Lab's ``get_checkpoint_path``, which lives in a module that imports every
    stock task); None when there is none. Either may be a regex."""
    import re

    runs = sorted(p for p in log_root.glob("*") if p.is_dir() and re.fullmatch(run, p.name)) if log_root.is_dir() else []
    for folder in reversed(runs):
        found = [p for p in folder.glob("*.pt") if re.fullmatch(checkpoint, p.name)]
        if found:
            return max(found, key=lambda p: int(re.sub(r"\D", "", p.stem) or -1))
    return None


def zero_action_output(actor) -> None:
    """Zero the last linear layer of ``actor`` (an RSL-RL actor model), so the policy's mean action
    is 0 for every observation: it starts as the robot's PD hold of its standing pose, the
    zero-action baseline, and PPO learns offsets from there (a random output layer makes the
    untrained policy command random offsets, which topple this humanoid)."""
    import torch

    last = [m for m in actor.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
