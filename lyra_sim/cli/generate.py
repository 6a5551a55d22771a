"""``lyra-sim generate``: a prompt / image / video -> a simulation-ready world (settings
:class:`lyra_sim.pipeline.GenerateCfg`: teacher, decoder, refinement, export, previews);
``--prompts FILE`` makes one world per line, on worker processes here or on Ray (``--executor``)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lyra_sim.cli.shared import (add_config_argument, add_executor_arguments, add_overrides_argument, batch_progress,
                                 executor_cfg_from_args, load_command_cfg, progress_display, warn_unchecked)
from lyra_sim.errors import InvalidInputError


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim generate`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    gen = sub.add_parser("generate", help="a prompt / image / video -> a simulation-ready world (USD, collider, spawn points, previews)")
    add_overrides_argument(gen, metavar="key=value", help="dotted overrides of the config (e.g. teacher.width=320)")
    gen.add_argument("--prompt", default=None, help="text description of the scene")
    gen.add_argument("--image", type=Path, default=None, help="input image (image teachers, e.g. --teacher gen3c)")
    gen.add_argument("--video", type=Path, default=None, help="input video -> 4D scene (needs a video teacher)")
    gen.add_argument("--prompts", type=Path, default=None, help="batch: a text file, one prompt per line; one world each")
    gen.add_argument("--shard", default=None, help="batch: i/N, make only worlds k with k %% N == i")
    add_executor_arguments(gen, "world")
    gen.add_argument("--out", type=Path, required=True, help="output folder (batch: one sub-folder per world)")
    gen.add_argument("--seed", type=int, default=None, help="seed (default: the config's, 0)")
    gen.add_argument("--teacher", default=None, help="procedural (embedded, default) | gen3c (needs --weights)")
    gen.add_argument("--weights", type=Path, default=None, help="the teacher's local weights folder")
    gen.add_argument("--decoder", default=None, help="decoder folder from `lyra-sim train`, or embedded (default)")
    gen.add_argument("--dynamic", action="store_true", help="a moving scene, decoded at --times by the time-conditioned decoder")
    gen.add_argument("--times", default=None, help="dynamic: comma-separated times in [0, 1], e.g. 0,0.5,1")
    gen.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    add_config_argument(gen, help="generate config YAML (default: configs/generate/default.yaml)")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing output folder (once the new one is complete)")
    gen.add_argument("--quiet", action="store_true", help="no progress or report")
    gen.set_defaults(func=run)
    return gen


def parse_times(text: str | None) -> list[float] | None:
    """``--times 0,0.5,1`` -> [0.0, 0.5, 1.0] (times in [0, 1]); None when not given."""
    if text is None:
        return None
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise InvalidInputError(f"--times must be comma-separated numbers in [0, 1], e.g. 0,0.5,1; got {text!r}") from None


def cfg_from_args(args: argparse.Namespace):
    """The :class:`~lyra_sim.pipeline.GenerateCfg` of ``args``: ``--config`` (else the repository's
    ``configs/generate/default.yaml`` when there is one), the overrides, then the flags given."""
    from lyra_sim.pipeline import load_generate_cfg
    from lyra_sim.pipeline.config import REPO_CONFIGS

    default = REPO_CONFIGS / "default.yaml"
    return load_command_cfg(load_generate_cfg, args, {
        "teacher.name": args.teacher, "teacher.weights": None if args.weights is None else str(args.weights),
        "decoder.weights": None if args.decoder is None else str(args.decoder), "device": args.device,
        "seed": args.seed, "times": parse_times(args.times),
        "dynamic": True if args.dynamic or args.video is not None else None,
    }, default_config=default if default.is_file() else None)


def run_batch(args: argparse.Namespace, cfg) -> int:
    """``generate --prompts FILE``: one world per prompt on the chosen executor; exit code 1 when
    a world failed (each is in ``index.json`` with its error), else 0."""
    from lyra_sim.io.prompts import read_prompts
    from lyra_sim.io.shards import Shard
    from lyra_sim.pipeline import LyraPipeline
    from lyra_sim.pipeline.batch import generate_batch

    prompts = read_prompts(args.prompts)
    shard = Shard.parse(args.shard)
    executor = executor_cfg_from_args(args)
    LyraPipeline(cfg).teacher()  # missing weights fail here, once, not in every world
    t0 = time.perf_counter()
    mine = sum(1 for k in range(len(prompts)) if shard.owns(k))
    with batch_progress(f"worlds {shard} ({executor.kind})", mine, quiet=args.quiet) as on_event:
        result = generate_batch(prompts, args.out, cfg, shard, executor=executor, on_event=on_event)
    if not args.quiet:
        print(f"{len(result.made)} made, {len(result.skipped)} already there, {len(result.failed)} failed in "
              f"{time.perf_counter() - t0:.1f} s; index: {result.index} (lyra-sim batch-report {args.out})")
    return 1 if result.failed else 0


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim generate`` with the parsed ``args``; returns the exit code."""
    from rich.console import Console

    given = [x for x in (args.prompt, args.image, args.video, args.prompts) if x is not None]
    if not given:
        raise InvalidInputError("nothing to generate from: give --prompt TEXT, --image PATH, --video PATH or --prompts FILE")
    if args.prompts is not None and len(given) > 1:
        raise InvalidInputError("--prompts FILE makes one world per line; do not combine it with --prompt/--image/--video")
    if args.prompts is None:
        for flag, value, default in (("--shard", args.shard, None), ("--executor", args.executor, "local"),
                                     ("--address", args.address, None), ("--workers", args.workers, None),
                                     ("--cpus-per-world", args.cpus_per_world, 1)):
            if value != default:
                raise InvalidInputError(f"{flag} is for batches of worlds; it needs --prompts FILE")
    cfg = cfg_from_args(args)  # a bad setting is refused before torch loads
    if args.prompts is not None:
        return run_batch(args, cfg)
    from lyra_sim.pipeline import STAGES, LyraPipeline

    console = Console(stderr=True, quiet=args.quiet)
    pipe = LyraPipeline(cfg)
    t0 = time.perf_counter()

    def on_stage(name: str, seconds: float | None) -> None:
        step = STAGES.index(name) + 1
        if seconds is None:
            console.print(f"[bold][{step}/{len(STAGES)}] {name}[/bold] ...")
        else:
            console.print(f"      {name} done in {seconds:.1f} s")

    with progress_display(quiet=args.quiet) as progress:
        result = pipe(args.out, prompt=args.prompt, image=args.image, video=args.video, overwrite=args.overwrite,
                      on_stage=on_stage, progress=progress)
    if not args.quiet:
        from lyra_sim.export import format_report

        gen = result.report["generate"]
        print(format_report(result.report))
        quality = gen["self_consistency"][0]
        refine = result.report.get("refine") or {}
        if "after" in refine:  # the refined Gaussians are what the world holds
            quality = refine["after"]
        print(f"{sum(gen['gaussians']):,} Gaussians; renders vs teacher frames: {quality['psnr_db']:.2f} dB PSNR, SSIM "
              f"{quality['ssim']:.3f}; physics check: {result.report['physics_check'].get('status')}")
        acc = result.report.get("collider_accuracy")
        if isinstance(acc, dict):
            print(f"collider vs the teacher's ground truth: Chamfer {100 * acc['chamfer_m']:.1f} cm, "
                  f"F-score@5cm {acc['fscore']:.2f}")
        print(f"wrote {len(result.files)} files to {result.out_dir} in {time.perf_counter() - t0:.1f} s")
    warn_unchecked("generate", result.report["physics_check"])
    return 0 if result.report["physics_check"].get("status") != "failed" else 1
