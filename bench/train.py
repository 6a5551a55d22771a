"""Training throughput per stage of a training config: steps/s, s/step, Gaussians, views.

    python bench/train.py --config configs/train/tiny.yaml --data /tmp/sdg_tiny
    python bench/train.py --config configs/train/embedded.yaml --data /tmp/sdg_emb --steps 3

For each stage: build the trainer once, enter the stage, run one warm-up step, then time
``--steps`` optimiser steps (data loading included, num_workers from the config). Writes
bench/results/train_<config>.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lyra_sim.distill import Trainer, load_train_cfg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True, help="dataset root matching the config's stage sizes")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per stage")
    ap.add_argument("--stages", default=None, help="comma-separated stage indices (default: all)")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()

    wanted = None if args.stages is None else [int(s) for s in args.stages.split(",")]
    cfg, wanted, rows = time_stages(args.config, args.data, args.steps, wanted, args.overrides)
    hours = sum(cfg.stages[r_i].steps / r["steps_per_s"] for r_i, r in zip(wanted, rows)) / 3600
    out = {"config": str(args.config), "device": "cuda" if torch.cuda.is_available() else "cpu", "threads": torch.get_num_threads(),
           "machine": platform.machine(), "torch": torch.__version__, "stages": rows, "estimated_hours_for_listed_stages": round(hours, 1)}
    path = Path(__file__).parent / "results" / f"train_{Path(args.config).stem}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print("\n| stage | image | inputs | targets | batch | Gaussians | s/step | steps/s | peak GB |\n|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['stage']} | {r['image']} | {r['inputs']} | {r['targets_last']} | {r['batch']} | {r['gaussians']:,} | {r['s_per_step']} | "
              f"{r['steps_per_s']} | {r['peak_gb']} |")
    print(f"\nestimated time for the listed stages at these rates: {hours:.1f} h; wrote {path}")


def time_stages(config: Path, data: Path, steps: int, wanted: list[int] | None = None, overrides=()) -> tuple:
    """Time ``steps`` optimiser steps (after one warm-up) of each wanted stage of ``config`` on the
    dataset at ``data``; returns (cfg, stage indices, one row per stage)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_train_cfg(config, [f"data.roots=[{data}]", f"out_dir={tmp}", "data.holdout_scenes=0", *overrides])
        trainer = Trainer(cfg, overwrite=True, quiet=True)
        wanted = list(range(len(cfg.stages))) if wanted is None else wanted
        rows = []
        for i in wanted:
            stage = cfg.stages[i]
            trainer._enter_stage(i)
            items = [next(trainer.stream) for _ in range(stage.batch_size)]
            logs, _ = trainer.train_step(stage, items)  # warm-up
            t0 = time.perf_counter()
            for _ in range(steps):
                items = [next(trainer.stream) for _ in range(stage.batch_size)]
                logs, views = trainer.train_step(stage, items)
            dt = (time.perf_counter() - t0) / steps
            rows.append({"stage": stage.name, "image": f"{stage.image_size[0]}x{stage.image_size[1]}",
                         "inputs": f"{stage.num_input_trajectories}x{stage.num_input_frames}", "targets_last": int(views[0].shape[0]),
                         "batch": stage.batch_size, "gaussians": int(logs["gaussians"]), "s_per_step": round(dt, 3),
                         "steps_per_s": round(1 / dt, 3), "loss": round(logs["loss"], 4), "peak_gb": _peak_gb()})
            print(json.dumps(rows[-1]), flush=True)
        trainer.close()
    return cfg, wanted, rows


def _peak_gb() -> float:
    """Peak memory so far: CUDA allocations on a GPU, else the process's peak RSS (Linux: KiB)."""
    if torch.cuda.is_available():
        return round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)


if __name__ == "__main__":
    main()
