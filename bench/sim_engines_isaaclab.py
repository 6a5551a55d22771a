"""Isaac Lab 3 on CPU over generated worlds: start-up times, env-steps/s, and a training curve.

Run with the Isaac Lab environment (``scripts/install_isaaclab.sh``):

    .venv-isaaclab/bin/python bench/sim_engines_isaaclab.py                 # start-up + steps/s, 1/4/16 envs
    .venv-isaaclab/bin/python bench/sim_engines_isaaclab.py --curve logs/rsl_rl/lyra_humanoid_stand/<run>
    .venv-isaaclab/bin/python bench/sim_engines_isaaclab.py --play logs/rsl_rl/lyra_humanoid_stand/<run>/model_<it>.pt

The first mode builds ``LyraSim-Humanoid-Stand-v0`` (Newton, MuJoCo-Warp with Newton's contacts)
over the gallery's living room and corridor in a fresh process per measurement: once with an
empty Warp kernel cache (cold: every CPU kernel compiled) and then warm, and steps each size
with zero actions (the task as shipped, its pushes and joint-offset resets included). ``--curve`` reads a ``scripts/train.py``
run's TensorBoard log and draws mean episode length and reward per PPO iteration
(``bench/results/isaaclab_stand_curve.png``); ``--play`` runs ``scripts/play.py`` on a checkpoint,
on an untrained policy and on a zero action under the same seed and disturbances. All merge into
``bench/results/sim_engines_isaaclab.json`` with the machine and its load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
OUT = RESULTS / "sim_engines_isaaclab.json"
WORLDS = [REPO / "scenes" / "gallery" / "living_room", REPO / "scenes" / "gallery" / "corridor"]


def machine() -> dict:
    import importlib.metadata as md

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    versions = {}
    for name in ("isaaclab", "newton", "warp-lang", "mujoco-warp", "rsl-rl-lib", "torch"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "versions": versions}


def worker(num_envs: int, steps: int) -> dict:
    """Build the stand task in this process and step it; times from the process start."""
    t0 = time.perf_counter()
    import gymnasium as gym
    import torch

    import lyra_sim.sim.isaaclab_tasks as tasks

    t_import = time.perf_counter() - t0
    cfg = tasks.task_cfg(tasks.STAND_TASK)
    cfg.scene.num_envs, cfg.worlds, cfg.seed = num_envs, [str(w) for w in WORLDS], 0
    env = gym.make(tasks.STAND_TASK, cfg=cfg)
    env.reset()
    t_ready = time.perf_counter() - t0
    zero = torch.zeros(num_envs, env.unwrapped.robot.num_joints)
    for _ in range(10):  # the first steps compile the remaining kernels when cold
        env.step(zero)
    t_first = time.perf_counter() - t0
    start = time.perf_counter()
    for _ in range(steps):
        env.step(zero)
    elapsed = time.perf_counter() - start
    height = env.unwrapped._root_height_above_floor()
    env.close()
    return {"num_envs": num_envs, "steps": steps, "import_s": t_import, "ready_s": t_ready, "first_10_steps_done_s": t_first,
            "env_steps_per_s": num_envs * steps / elapsed, "policy_steps_per_s": steps / elapsed,
            "physics_env_steps_per_s": 4 * num_envs * steps / elapsed,  # decimation 4
            "pelvis_height_after_m": [round(float(h), 3) for h in height]}


def run_worker(num_envs: int, steps: int, warp_cache: str) -> dict:
    env = dict(os.environ, WARP_CACHE_PATH=warp_cache)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--worker", str(num_envs), "--steps", str(steps)], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"worker for {num_envs} envs failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - start
    result["load_avg_1min_before"] = load
    return result


def speed(envs: list[int], steps: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="warp_cold_") as cold_cache:
        cold = run_worker(4, 20, cold_cache)
        print(f"cold start (empty Warp cache), 4 envs: ready in {cold['ready_s']:.1f} s", flush=True)
        warm = run_worker(4, 20, cold_cache)
        print(f"warm start, 4 envs: ready in {warm['ready_s']:.1f} s", flush=True)
        rows = []
        for n in envs:
            rows.append(run_worker(n, steps, cold_cache))
            print(f"{n:3d} envs: {rows[-1]['env_steps_per_s']:8.1f} env-steps/s "
                  f"(load {rows[-1]['load_avg_1min_before']:.1f})", flush=True)
    return {"startup": {"cold": cold, "warm": warm}, "steps": rows}


def curve(run_dir: Path, png: Path) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    want = {"episode_length": "Train/mean_episode_length", "reward": "Train/mean_reward",
            "action_std": "Policy/mean_std"}
    series = {k: [(e.step, e.value) for e in acc.Scalars(t)] for k, t in want.items() if t in tags}
    if "episode_length" not in series:
        raise SystemExit(f"{run_dir}: no Train/mean_episode_length in its TensorBoard log (tags: {tags})")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, label in ((axes[0], "episode_length", "mean episode length (policy steps, 50 Hz)"),
                           (axes[1], "reward", "mean episode return")):
        xs, ys = zip(*series[key])
        ax.plot(xs, ys)
        ax.set_xlabel("PPO iteration")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.suptitle(f"LyraSim-Humanoid-Stand-v0, Newton on CPU ({run_dir.name})")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)
    # Iterations 0-1 are left out of "early": their episodes were cut short by the random initial
    # episode lengths (init_at_random_ep_len), not ended by the policy.
    early, late = slice(2, 12), slice(-10, None)
    first, last = series["episode_length"][early], series["episode_length"][late]
    mean = lambda pts: sum(v for _, v in pts) / len(pts)
    return {"run": str(run_dir.relative_to(REPO) if run_dir.is_relative_to(REPO) else run_dir), "png": str(png.relative_to(REPO)),
            "iterations": len(series["episode_length"]),
            "episode_length_iters_2_11_mean": mean(first), "episode_length_last10_mean": mean(last),
            "reward_iters_2_11_mean": mean(series["reward"][early]) if "reward" in series else None,
            "reward_last10_mean": mean(series["reward"][late]) if "reward" in series else None,
            "series": {k: [[int(s), round(float(v), 4)] for s, v in pts] for k, pts in series.items()}}


def play(checkpoint: Path, num_envs: int, steps: int, seed: int) -> dict:
    """``scripts/play.py`` with the trained ``checkpoint``, a freshly initialised policy and a zero
    action (the PD hold), each deterministic, same task, seed and disturbances; their summaries."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="lyra_play_") as tmp:
        for policy in ("checkpoint", "untrained", "zero"):
            summary = Path(tmp) / f"{policy}.json"
            cmd = [sys.executable, str(REPO / "scripts" / "play.py"), "--policy", policy, "--num_envs", str(num_envs),
                   "--steps", str(steps), "--seed", str(seed), "--json", str(summary),
                   "--worlds", *[str(w) for w in WORLDS]]
            if policy == "checkpoint":
                cmd += ["--checkpoint", str(checkpoint)]
            load = os.getloadavg()[0]
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"play.py --policy {policy} failed:\n{proc.stderr[-3000:]}")
            out[policy] = json.loads(summary.read_text()) | {"wall_s": time.perf_counter() - start,
                                                               "load_avg_1min_before": load}
            r = out[policy]
            print(f"{policy:10s}: {r['episodes_ended']} episodes ended ({r['falls']} falls), mean length "
                  f"{r['mean_episode_length_s']:.2f} s, mean return {r['mean_episode_return']:.3f}", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--steps", type=int, default=200, help="timed policy steps per size (x4 physics steps)")
    parser.add_argument("--curve", type=Path, default=None, help="a scripts/train.py run folder: draw its learning curve")
    parser.add_argument("--play", type=Path, default=None, metavar="MODEL_PT",
                        help="play this checkpoint, an untrained policy and a zero action (scripts/play.py)")
    parser.add_argument("--play_envs", type=int, default=16, help="with --play: environments (default 16)")
    parser.add_argument("--play_steps", type=int, default=1000, help="with --play: policy steps (default 1000: 20 s)")
    parser.add_argument("--seed", type=int, default=7, help="with --play: the env/agent seed (default 7)")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.steps)))
        return 0
    payload = json.loads(OUT.read_text()) if OUT.is_file() else {}
    payload["machine"] = machine()
    if args.curve is not None:
        payload["training"] = curve(args.curve.resolve(), RESULTS / "isaaclab_stand_curve.png")
        payload["training"]["load_avg_1min_at_plot"] = os.getloadavg()[0]
        t = payload["training"]
        print(f"{t['iterations']} iterations: mean episode length {t['episode_length_iters_2_11_mean']:.1f} -> "
              f"{t['episode_length_last10_mean']:.1f} steps, return {t['reward_iters_2_11_mean']:.2f} -> "
              f"{t['reward_last10_mean']:.2f}; curve in {t['png']}")
    elif args.play is not None:
        model = args.play.resolve()
        payload.setdefault("play", {})[f"seed_{args.seed}"] = {
            "checkpoint": str(model.relative_to(REPO) if model.is_relative_to(REPO) else model), "seed": args.seed,
            "policies": play(model, args.play_envs, args.play_steps, args.seed)}
    else:
        payload["speed"] = speed(args.envs, args.steps)
    payload["load_avg_after"] = list(os.getloadavg())
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(OUT)  # benchmarks overwrite their own previous results on purpose
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
