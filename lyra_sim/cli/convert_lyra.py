"""``lyra-sim convert-lyra``: Lyra's released decoder checkpoint (.pt) -> a lyra-sim decoder folder."""

from __future__ import annotations

import argparse
from pathlib import Path

LYRA_FULL_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "model" / "lyra_full.yaml"
"""The architecture of Lyra's released decoders (the repository's ``configs/model/lyra_full.yaml``)."""


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim convert-lyra`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    cl = sub.add_parser("convert-lyra", help="Lyra's released decoder checkpoint (.pt) -> a lyra-sim decoder folder")
    cl.add_argument("checkpoint", type=Path, help="lyra_static.pt / lyra_dynamic.pt (weights-only torch checkpoint)")
    cl.add_argument("out", type=Path, help="output decoder folder (config.yaml + model.safetensors)")
    cl.add_argument("--config", type=Path, default=LYRA_FULL_CONFIG,
                    help="decoder config the checkpoint was trained with (default: configs/model/lyra_full.yaml)")
    cl.add_argument("--codec", default=None, help="the codec the decoder reads rays/latents with, e.g. the Cosmos VAE folder "
                    "weights/gen3c/vae (default: the config's)")
    cl.add_argument("--overwrite", action="store_true")
    cl.add_argument("--quiet", action="store_true")
    cl.set_defaults(func=run)
    return cl


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim convert-lyra`` with the parsed ``args``; returns the exit code."""
    from lyra_sim.models import load_lyra_checkpoint, parameter_count, save_decoder

    model = load_lyra_checkpoint(args.checkpoint, args.config, codec=False)
    if args.codec:
        model.cfg.codec = str(Path(args.codec).resolve()) if Path(args.codec).exists() else args.codec
    save_decoder(model, args.out, overwrite=args.overwrite)
    if not args.quiet:
        print(f"{parameter_count(model)['total']:,} parameters from {args.checkpoint} -> {args.out} "
              f"(use it with: lyra-sim generate --decoder {args.out} ...)")
    return 0
