"""The decoder that ships inside lyra-sim: weights in ``lyra_sim/assets/embedded_decoder/``.

It was distilled on a CPU from the procedural teacher with the DCT codec
(``configs/train/embedded_cpu.yaml``); ``lyra_sim/assets/MODEL_CARD.md`` states its data,
steps, time and held-out scores, which ``lyra-sim eval --decoder embedded`` reproduces. It
needs no downloaded weights: the codec is weight-free and the teacher procedural.

This module only knows where the shipped decoders live and what the name "embedded" means
(:func:`embedded_or_path`, the one place that resolves it); loading is
:mod:`lyra_sim.models.checkpoint`'s job.
"""

from __future__ import annotations

from pathlib import Path


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


def is_embedded_name(name: str | Path) -> bool:
    """True when ``name`` is "embedded" and no file or folder of that name exists here (a real
    path always wins over the name)."""
    return str(name) == EMBEDDED_NAME and not Path(name).exists()


def embedded_or_path(weights: str | Path, dynamic: bool = False) -> Path:
    """The decoder folder ``weights`` stands for: the shipped decoder for "embedded" (its
    time-conditioned twin when ``dynamic``), else ``weights`` itself as a path.

    Raises:
        MissingWeightsError: "embedded" was asked for and that decoder is not installed.
    """
    if is_embedded_name(weights):
        return embedded_dynamic_decoder_dir() if dynamic else embedded_decoder_dir()
    return Path(weights)
