#!/usr/bin/env python
"""Run a trained policy on a lyra-sim Isaac Lab task and report its episodes (Isaac Lab's rsl_rl play.py, kit-less).

    .venv-isaaclab/bin/python scripts/play.py --task LyraSim-Humanoid-Stand-v0 --num_envs 8 --steps 1000

Loads ``--checkpoint`` (a model_<it>.pt file), else the latest checkpoint of the latest run
under logs/rsl_rl/<experiment>/, steps the policy deterministically (the action mean) and
prints the mean episode length (steps and seconds) and return of the episodes that ended,
and how many ended by falling; ``--json FILE`` writes the same numbers. The baselines, under
the same seed and disturbances: ``--policy untrained`` (a freshly initialised policy, the
agent's seed) and ``--policy zero`` (a zero action: the robot's PD hold of its standing pose).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rl_cli  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    rl_cli.add_common_args(parser)
    parser.add_argument("--checkpoint", type=Path, default=None, help="model_<it>.pt (default: latest under logs/)")
    parser.add_argument("--log_root", type=Path, default=rl_cli.LOG_ROOT, help="default: logs/rsl_rl in the repo")
    parser.add_argument("--steps", type=int, default=1000, help="policy steps per environment (default 1000: 20 s)")
    parser.add_argument("--json", type=Path, default=None, help="also write the summary here")
    parser.add_argument("--policy", default="checkpoint", choices=("checkpoint", "untrained", "zero"),
                        help="checkpoint (default), untrained (fresh weights) or zero (zero action: the PD hold)")
    args = parser.parse_args(argv)

    tasks = rl_cli.import_tasks()
    if args.checkpoint is not None and not args.checkpoint.is_file():
        rl_cli.fail(f"--checkpoint {args.checkpoint}: no such file; give a model_<it>.pt written by scripts/train.py")
    if args.steps < 1:
        rl_cli.fail(f"--steps must be at least 1, got {args.steps}")
    env_cfg, agent_cfg, env = rl_cli.make_env(args, tasks)
    checkpoint = None
    if args.policy == "checkpoint":
        checkpoint = args.checkpoint or rl_cli.latest_checkpoint(args.log_root / agent_cfg.experiment_name)
        if checkpoint is None:
            env.close()
            rl_cli.fail(f"no checkpoint under {args.log_root / agent_cfg.experiment_name}; train first "
                        "(scripts/train.py), pass --checkpoint, or play --policy untrained|zero")

    import torch
    from isaaclab_rl.rsl_rl.utils import create_rsl_rl_runner

    if args.policy == "zero":
        joints = env.num_actions
        policy = lambda obs: torch.zeros(env.num_envs, joints, device=env.unwrapped.device)  # noqa: E731
    else:
        torch.manual_seed(agent_cfg.seed)  # the untrained weights are the agent seed's
        runner = create_rsl_rl_runner(env, agent_cfg, log_dir=None)
        if checkpoint is not None:
            runner.load(str(checkpoint))
        policy = runner.get_inference_policy(device=env.unwrapped.device)
    what = checkpoint if checkpoint is not None else f"the {args.policy} policy"
    print(f"[lyra-sim] playing {what} on {args.task}, {env.num_envs} envs, {args.steps} steps", flush=True)

    n = env.num_envs
    ret, length = torch.zeros(n), torch.zeros(n, dtype=torch.long)
    returns, lengths, falls = [], [], 0
    obs = env.get_observations()
    with torch.inference_mode():
        for _ in range(args.steps):
            obs, rew, dones, extras = env.step(policy(obs))
            ret += rew.cpu()
            length += 1
            done = dones.cpu().bool()
            if done.any():
                time_outs = extras.get("time_outs", torch.zeros(n, dtype=torch.bool)).cpu().bool()
                falls += int((done & ~time_outs).sum())
                returns += ret[done].tolist()
                lengths += length[done].tolist()
                ret[done], length[done] = 0.0, 0
    step_dt = env.unwrapped.step_dt
    ended = len(lengths)
    # No episode ended: report the running ones (they all lasted the whole run).
    lengths_used = lengths if ended else length.tolist()
    returns_used = returns if ended else ret.tolist()
    summary = {
        "task": args.task, "policy": args.policy, "checkpoint": None if checkpoint is None else str(checkpoint),
        "seed": agent_cfg.seed, "num_envs": n, "steps": args.steps,
        "episodes_ended": ended, "falls": falls,
        "mean_episode_length_steps": sum(lengths_used) / len(lengths_used),
        "mean_episode_length_s": step_dt * sum(lengths_used) / len(lengths_used),
        "mean_episode_return": sum(returns_used) / len(returns_used),
        "max_episode_length_steps": int(env.unwrapped.max_episode_length),
    }
    print(f"[lyra-sim] {ended} episodes ended ({falls} by falling); mean episode length "
          f"{summary['mean_episode_length_steps']:.1f} steps ({summary['mean_episode_length_s']:.2f} s of "
          f"{summary['max_episode_length_steps'] * step_dt:.0f} s); mean return {summary['mean_episode_return']:.3f}")
    if args.json:
        from lyra_sim.io.atomic import atomic_output

        with atomic_output(args.json, overwrite=True) as tmp:
            Path(tmp).write_text(json.dumps(summary, indent=2) + "\n")
    env.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
