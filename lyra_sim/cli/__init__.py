"""The ``lyra-sim`` command line.

Subcommands, one module each (its parser in ``add_parser``, its handler in ``run``):
    generate a prompt / image / video -> a simulation-ready world (teacher, decoder, export, previews)
    render   fly-through PNG frames, an MP4 and a contact sheet of a 3DGS PLY
    sdg      synthetic training data: a teacher renders prompts into Lyra-layout scenes
    info     what a 3DGS file holds: format, count, SH degree, bounds, opacity and scale statistics
    convert  a 3DGS file between PLY, SuperSplat compressed PLY, antimatter15 .splat and Niantic .spz
    train    self-distil the latent Gaussian decoder from teacher scenes (stages, checkpoints, DDP)
    eval     score a decoder on held-out scenes: PSNR/SSIM/LPIPS, depth AbsRel, Chamfer/F-score
    export   a 3DGS PLY -> a simulation-ready USD scene (Gaussians, collider, gravity, scale, spawn points)
    check    validate a scene USD and drop bodies on its collider with PhysX (ovphysx, CPU)
    world    compose exported scenes and robots into one world USD with N randomized environments
    view     a world or a splat file in the browser (viser): Gaussians, collider, spawn points, robot
    batch-report  what a batch folder (generate --prompts, sdg) holds: status, seconds, errors (index.json)
    model-info, convert-gen3c, convert-lyra: decoder configs and released checkpoints

Every subcommand refuses to overwrite outputs unless ``--overwrite`` is given, and reports
errors a user can fix as one line (exit code 2) instead of a traceback (:mod:`.shared`). The
commands with settings (generate, export, train, eval, world) take ``--config FILE`` and
``key=value`` overrides the same way. Modules import torch, pxr and the pipeline inside their
handlers, so ``lyra-sim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from lyra_sim.cli.shared import PROG, run_command

COMMAND_MODULES = (
    "render",
    "sdg",
    "model_info",
    "export",
    "check",
    "world",
    "train",
    "eval",
    "convert_gen3c",
    "generate",
    "convert_lyra",
    "info",
    "convert",
    "view",
    "batch_report",
)
"""Modules of :mod:`lyra_sim.cli`, one per subcommand, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The ``lyra-sim`` parser with every subcommand; ``args.func`` is the chosen handler and
    ``args.command`` its name."""
    parser = argparse.ArgumentParser(prog=PROG, description="Generated 3D Gaussian worlds for robot simulation.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__import__('lyra_sim').__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"lyra_sim.cli.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``lyra-sim`` with ``argv`` (None: ``sys.argv[1:]``); returns the exit code."""
    from lyra_sim.runtime import tune_cpu_allocator, tune_openmp_wait

    tune_cpu_allocator()
    tune_openmp_wait()
    parser = build_parser()
    # argparse cannot take a positional list (the key=value overrides) after options that follow
    # other positionals (`render scene.ply --out o frames=10`); every command takes its overrides
    # anywhere on the line, so the leftovers that are overrides join them.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if hasattr(args, "overrides") and all("=" in x and not x.startswith("-") for x in extra):
            args.overrides = [*(args.overrides or []), *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return run_command(args.command, args.func, args)


__all__ = ["COMMAND_MODULES", "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
