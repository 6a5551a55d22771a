"""The decoder that ships inside lyra-sim: weights in ``lyra_sim/assets/embedded_decoder/``.

It was distilled on a CPU from the procedural teacher with the DCT codec
(``configs/train/embedded_cpu.yaml``); ``lyra_sim/assets/MODEL_CARD.md`` states its data,
steps, time and held-out scores, which ``lyra-sim eval --decoder embedded`` reproduces. It
needs no downloaded weights: the codec is weight-free and the teacher procedural.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lyra_sim.errors import MissingWeightsError

EMBEDDED_NAME = "embedded"
"""What ``--decoder`` accepts for the shipped decoder."""

EMBEDDED_DECODER_DIR = Path(__file__).resolve().parents[1] / "assets" / "embedded_decoder"
EMBEDDED_DYNAMIC_DECODER_DIR = EMBEDDED_DECODER_DIR.parent / "embedded_dynamic_decoder"
MODEL_CARD = EMBEDDED_DECODER_DIR.parent / "MODEL_CARD.md"


def embedded_decoder_dir() -> Path:
    """The shipped decoder's folder (config.yaml + model.safetensors); an error if it is missing."""
    if not (EMBEDDED_DECODER_DIR / "config.yaml").is_file() or not (EMBEDDED_DECODER_DIR / "model.safetensors").is_file():
        raise MissingWeightsError(
            f"{EMBEDDED_DECODER_DIR}: the embedded decoder is not in this installation; reinstall lyra-sim "
            "(pip install -e . from the repository) or pass --decoder with a folder written by `lyra-sim train`"
        )
    return EMBEDDED_DECODER_DIR


def embedded_dynamic_decoder_dir() -> Path:
    """The shipped time-conditioned decoder's folder (video -> 4D); an error if it is missing."""
    if not (EMBEDDED_DYNAMIC_DECODER_DIR / "config.yaml").is_file() or not (EMBEDDED_DYNAMIC_DECODER_DIR / "model.safetensors").is_file():
        raise MissingWeightsError(
            f"{EMBEDDED_DYNAMIC_DECODER_DIR}: no embedded dynamic decoder in this installation; train one with "
            "`lyra-sim train --config configs/train/embedded_dynamic_cpu.yaml` and pass decoder.weights=<run>/decoder"
        )
    return EMBEDDED_DYNAMIC_DECODER_DIR


def load_embedded_decoder(device: str | torch.device = "cpu"):
    """The shipped :class:`~lyra_sim.models.LatentGaussianDecoder`, in eval mode."""
    from lyra_sim.models.checkpoint import load_decoder

    return load_decoder(embedded_decoder_dir(), device=device).eval()
