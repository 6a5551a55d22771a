"""``lyra-sim model-info``: a decoder config's architecture and parameter count (no weights read).

Its positional ``config`` is the decoder architecture to describe (``configs/model/*.yaml``),
with ``key=value`` overrides of that architecture; the command itself has no settings.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim model-info`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    mi = sub.add_parser("model-info", help="print a decoder config's architecture and parameter count")
    mi.add_argument("config", type=Path, help="model config YAML, e.g. configs/model/lyra_full.yaml")
    mi.add_argument("overrides", nargs="*", help="key=value overrides")
    mi.set_defaults(func=run)
    return mi


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim model-info`` with the parsed ``args``; returns the exit code."""
    from lyra_sim.models.config import load_decoder_cfg

    cfg = load_decoder_cfg(args.config, args.overrides)  # first: a bad config is refused before torch loads

    from lyra_sim.models import LatentGaussianDecoder, parameter_count

    model = LatentGaussianDecoder(cfg, codec=False)
    counts = parameter_count(model)
    kinds = cfg.block_types
    print(f"config:      {args.config}")
    print(f"backbone:    {len(kinds)} blocks of width {cfg.width}: " + "".join("T" if k == "attention" else "M" for k in kinds))
    print(f"latents:     {cfg.latent_channels} ch, {cfg.temporal_compression}x temporal, {cfg.spatial_compression}x spatial; "
          f"rays via {cfg.ray_embedding}; time embedding {'on' if cfg.time_embedding else 'off'}")
    print(f"gaussians:   one per {cfg.gaussian_stride}x{cfg.gaussian_stride} pixels per frame, distance in [{cfg.near}, {cfg.far}]")
    print("parameters:")
    for name, n in counts.items():
        print(f"  {name:<22} {n:>12,}")
    return 0
