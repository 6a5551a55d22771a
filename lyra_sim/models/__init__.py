"""The latent 3DGS decoder: configuration, layers, Mamba-2 (two backends), checkpoints."""

from lyra_sim.models.checkpoint import (
    CheckpointError,
    init_from_decoder,
    load_decoder,
    load_lyra_checkpoint,
    lyra_state_dict_to_ours,
    parameter_count,
    save_decoder,
)
from lyra_sim.models.config import DecoderCfg, load_decoder_cfg
from lyra_sim.models.decoder import DecoderOutput, LatentGaussianDecoder, prune

__all__ = [
    "CheckpointError",
    "DecoderCfg",
    "DecoderOutput",
    "LatentGaussianDecoder",
    "init_from_decoder",
    "load_decoder",
    "load_decoder_cfg",
    "load_lyra_checkpoint",
    "lyra_state_dict_to_ours",
    "parameter_count",
    "prune",
    "save_decoder",
]
