"""``lyra-sim train``: self-distil the latent Gaussian decoder from teacher scenes
(settings :class:`lyra_sim.distill.TrainCfg`; progressive stages, checkpoints, DDP under torchrun)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lyra_sim.cli.shared import add_config_argument, add_overrides_argument, load_command_cfg


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim train`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    tr = sub.add_parser("train", help="self-distil the latent Gaussian decoder from teacher scenes (progressive stages)")
    # Required: a run needs its data roots and stages; there is no default training config.
    add_config_argument(tr, help="training config YAML, e.g. configs/train/embedded.yaml", required=True)
    add_overrides_argument(tr, help="key=value overrides, e.g. data.roots=[/data/sdg] optim.lr=3e-4 stages.0.steps=50")
    tr.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in out_dir (bit for bit on CPU)")
    tr.add_argument("--max-steps", type=int, default=None, help="stop at this global step (resume later with --resume)")
    tr.add_argument("--overwrite", action="store_true", help="start afresh in an out_dir that holds a run (deletes its checkpoints)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    tr.set_defaults(func=run)
    return tr


def cfg_from_args(args: argparse.Namespace):
    """The :class:`~lyra_sim.distill.TrainCfg` of ``args``: ``--config`` and the ``key=value`` overrides."""
    from lyra_sim.distill import load_train_cfg

    return load_command_cfg(load_train_cfg, args)


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim train`` with the parsed ``args``; returns the exit code."""
    cfg = cfg_from_args(args)  # first: a bad setting is refused before torch loads

    from lyra_sim.distill import train

    result = train(cfg, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet, max_steps=args.max_steps)
    if not args.quiet and result.rank == 0:
        print(f"step {result.step}/{cfg.total_steps} ({result.steps_per_second:.2f} steps/s); "
              f"checkpoint: {result.checkpoint}; log: {Path(cfg.out_dir) / 'train_log.jsonl'}")
        if result.decoder_dir is not None:
            print(f"decoder: {result.decoder_dir}")
    return 0
