"""``lyra-sim convert-gen3c``: GEN3C's released model.pt + Cosmos tokenizer -> diffusers folders."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim convert-gen3c`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    cg = sub.add_parser("convert-gen3c", help="convert GEN3C's released model.pt + Cosmos tokenizer to diffusers folders")
    cg.add_argument("ckpt_dir", type=Path, help="folder with Gen3C-Cosmos-7B/model.pt and Cosmos-Tokenize1-CV8x8x8-720p/")
    cg.add_argument("out_dir", type=Path, help="weights folder to create (transformer/, vae/)")
    cg.add_argument("--overwrite", action="store_true", help="replace an existing OUT_DIR")
    cg.add_argument("--trust-torchscript", action="store_true",
                    help="load the tokenizer's autoencoder.jit, which runs code stored in the file (only for files you trust)")
    cg.set_defaults(func=run)
    return cg


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim convert-gen3c`` with the parsed ``args``; returns the exit code."""
    from lyra_sim.teachers.gen3c_convert import convert_gen3c_checkpoint

    start = time.time()
    out = convert_gen3c_checkpoint(args.ckpt_dir, args.out_dir, overwrite=args.overwrite, trust_torchscript=args.trust_torchscript)
    print(f"wrote {out}/transformer and {out}/vae in {time.time() - start:.0f} s; "
          f"add a depth model in {out}/depth and use it with --teacher gen3c --weights {out}")
    return 0
