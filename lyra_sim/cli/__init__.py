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

from lyra_sim.cli.shared import PROG, pull_overrides, run_command

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
    parser.subcommands = sub.choices  # name -> its parser (parse_args looks up a command's options)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``lyra-sim`` with ``argv`` (None: ``sys.argv[1:]``); returns the exit code."""
    from lyra_sim.runtime import tune_cpu_allocator, tune_openmp_wait

    tune_cpu_allocator()
    tune_openmp_wait()
    parser = build_parser()
    args = parse_args(parser, sys.argv[1:] if argv is None else list(argv))
    return run_command(args.command, args.func, args)


def parse_args(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """``argv`` parsed by ``parser`` (from :func:`build_parser`), with the ``key=value``
    overrides of a command that takes them accepted anywhere on the line, the same for every
    such command: argparse alone would take an override before the scene as the scene
    (``export a=1 scene.ply``) and refuse one after an option (``world w --out o a=1``). They
    are pulled out first (:func:`~lyra_sim.cli.shared.pull_overrides`) and become
    ``args.overrides``."""
    command = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
    sub = parser.subcommands.get(argv[command]) if command is not None else None
    overrides: list[str] = []
    if sub is not None and any(a.dest == "overrides" for a in sub._actions):  # noqa: SLF001
        rest, overrides = pull_overrides(sub, argv[command + 1:])
        argv = [*argv[: command + 1], *rest]
    args = parser.parse_args(argv)
    if overrides:
        args.overrides = [*(args.overrides or []), *overrides]
    return args


__all__ = ["COMMAND_MODULES", "build_parser", "main", "parse_args"]

if __name__ == "__main__":
    sys.exit(main())
