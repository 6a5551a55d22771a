#!/usr/bin/env python
"""Train a policy with RSL-RL PPO on a lyra-sim Isaac Lab task (Isaac Lab's rsl_rl train.py, kit-less).

    .venv-isaaclab/bin/python scripts/train.py --task LyraSim-Humanoid-Stand-v0 --num_envs 8 --max_iterations 50

Writes logs/rsl_rl/<experiment>/<time>[_<run_name>]/: TensorBoard events, model_<it>.pt
checkpoints (every save_interval iterations and at the end), params/env.yaml and agent.yaml.
``--resume`` continues the latest run's latest checkpoint (or ``--load_run``/``--checkpoint``).
The policy starts as the PD hold (``--init_policy hold``: a zero mean action) unless ``--init_policy random``.
Bad input (unknown task, a world without spawn points, Isaac Lab not installed): one line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rl_cli  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    rl_cli.add_common_args(parser)
    parser.add_argument("--max_iterations", type=int, default=None, help="PPO iterations (default: the task's)")
    parser.add_argument("--run_name", default="", help="appended to the run folder's time stamp")
    parser.add_argument("--log_root", type=Path, default=rl_cli.LOG_ROOT, help="default: logs/rsl_rl in the repo")
    parser.add_argument("--resume", action="store_true", help="continue from a checkpoint of an earlier run")
    parser.add_argument("--load_run", default=None, help="with --resume: run folder name (regex; default latest)")
    parser.add_argument("--checkpoint", default=None, help="with --resume: checkpoint file (regex; default latest)")
    parser.add_argument("--init_policy", default="hold", choices=("hold", "random"),
                        help="hold (default): the policy starts with a zero mean action (the PD hold of the standing "
                             "pose); random: RSL-RL's random output layer")
    args = parser.parse_args(argv)

    tasks = rl_cli.import_tasks()
    env_cfg, agent_cfg, env = rl_cli.make_env(args, tasks)
    from isaaclab.utils.io import dump_yaml
    from isaaclab_rl.rsl_rl.utils import create_rsl_rl_runner

    log_root = (args.log_root / agent_cfg.experiment_name).resolve()
    name = datetime.now().strftime("%Y-%m-%d_%H-%M-%S") + (f"_{args.run_name}" if args.run_name else "")
    log_dir = log_root / name
    print(f"[lyra-sim] task {args.task}, {env.num_envs} envs on {args.device}, worlds: {', '.join(env_cfg.worlds)}")
    print(f"[lyra-sim] logging to {log_dir}", flush=True)
    runner = create_rsl_rl_runner(env, agent_cfg, log_dir=str(log_dir))
    runner.add_git_repo_to_log(__file__)
    if args.init_policy == "hold":
        rl_cli.zero_action_output(runner.alg.actor)
    if args.resume:
        resume = rl_cli.latest_checkpoint(log_root, args.load_run or ".*", args.checkpoint or r"model_\d+\.pt")
        if resume is None:
            rl_cli.fail(f"--resume: no checkpoint under {log_root}; train without --resume first")
        print(f"[lyra-sim] resuming from {resume}")
        runner.load(str(resume))
    dump_yaml(str(log_dir / "params" / "env.yaml"), env_cfg)
    dump_yaml(str(log_dir / "params" / "agent.yaml"), agent_cfg)
    start = time.time()
    runner.learn(num_learning_iterations=agent_cfg.max_iterations, init_at_random_ep_len=agent_cfg.init_at_random_ep_len)
    print(f"[lyra-sim] {agent_cfg.max_iterations} iterations in {time.time() - start:.1f} s; checkpoints in {log_dir}")
    env.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
