"""``lyra-sim eval``: score a decoder on held-out teacher scenes (settings
:class:`lyra_sim.eval.runner.EvalCfg`): PSNR/SSIM/LPIPS, depth AbsRel, Chamfer/F-score."""

from __future__ import annotations

import argparse
from pathlib import Path

from lyra_sim.cli.shared import add_config_argument, add_overrides_argument, load_command_cfg, progress_bar, split_overrides


def parse_size(text: str) -> tuple[int, int]:
    """``HxW`` (e.g. ``176x320``) -> (H, W) in pixels."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be HxW, e.g. 176x320, got {text!r}") from None
    return (h, w)


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim eval`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    ev = sub.add_parser("eval", help="score a decoder on held-out teacher scenes (PSNR, SSIM, LPIPS, depth, Chamfer/F-score)")
    ev.add_argument("--decoder", type=Path, required=True, help="decoder folder, training checkpoint, training run folder, or `embedded` (the shipped decoder)")
    ev.add_argument("--data", type=Path, nargs="+", required=True, help="dataset root(s) written by `lyra-sim sdg`")
    ev.add_argument("--out", type=Path, required=True, help="output directory for metrics.json and metrics.md")
    ev.add_argument("--holdout", type=int, default=None, help="score the last K scenes (the training config's data.holdout_scenes)")
    ev.add_argument("--max-scenes", type=int, default=None, help="score at most this many scenes")
    ev.add_argument("--image-size", type=parse_size, default=None, help="evaluate at HxW (default: the stored size)")
    ev.add_argument("--trajectories", type=int, default=None, help="input trajectories per scene (default: all)")
    ev.add_argument("--inputs", choices=["auto", "latents", "frames"], default=None, help="stored latents or encoded frames (default: auto)")
    ev.add_argument("--lpips", choices=["auto", "on", "off"], default=None, help="LPIPS-VGG from local weights (default: auto)")
    ev.add_argument("--no-geometry", action="store_true", help="skip Chamfer / F-score against ground-truth meshes")
    ev.add_argument("--times", type=int, default=None, help="dynamic scenes: score this many evenly spaced times (default: 5)")
    ev.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    ev.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    ev.add_argument("--quiet", action="store_true", help="no progress bar or table")
    add_config_argument(ev, help="eval config YAML (fields of lyra_sim.eval.runner.EvalCfg, e.g. fscore_threshold: 0.1)")
    add_overrides_argument(ev, help="key=value overrides, e.g. mesh_samples=200000 fscore_threshold=0.1")
    ev.set_defaults(func=run)
    return ev


def cfg_from_args(args: argparse.Namespace):
    """The :class:`~lyra_sim.eval.runner.EvalCfg` of ``args``: ``--config``, the ``key=value``
    overrides, then the flags given (``--decoder`` and ``--data`` always are)."""
    from lyra_sim.config import load_structured
    from lyra_sim.eval.runner import EvalCfg

    # `--data a b key=value` hands the overrides to --data: take them back.
    data, extra = split_overrides([str(d) for d in args.data])
    decoder = str(args.decoder)

    def load(path, overrides) -> EvalCfg:
        # The required --decoder and --data are the base the file and the overrides start from.
        return load_structured(EvalCfg(decoder=decoder, data=data), path, overrides, what="eval config")

    return load_command_cfg(load, args, {
        "decoder": decoder, "data": data, "holdout": args.holdout, "max_scenes": args.max_scenes,
        "image_size": args.image_size, "num_input_trajectories": args.trajectories, "inputs": args.inputs,
        "lpips": args.lpips, "geometry": False if args.no_geometry else None, "device": args.device,
        "dynamic_times": args.times}, overrides=[*args.overrides, *extra])


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim eval`` with the parsed ``args``; returns the exit code."""
    from lyra_sim.eval.runner import evaluate, markdown_table, select_scenes, write_report

    cfg = cfg_from_args(args)
    total = len(select_scenes(cfg.data, cfg.holdout, cfg.max_scenes))
    with progress_bar("eval", total, quiet=args.quiet) as advance:
        report = evaluate(cfg, on_scene=lambda i, scene: advance())
    json_path, md_path = write_report(report, args.out, overwrite=args.overwrite)
    if not args.quiet:
        print(markdown_table(report))
        print(f"wrote {json_path} and {md_path}")
    return 0
