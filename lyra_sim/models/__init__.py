"""The latent 3DGS decoder: configuration, layers, Mamba-2 (two backends), checkpoints."""

import lazy_loader

# Submodules load on first use of a name (SPEC 1, lazy_loader), so `lyra-sim --help` and the
# commands that need no tensors never import torch.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "checkpoint": [
            "CheckpointError",
            "init_from_decoder",
            "load_decoder",
            "load_lyra_checkpoint",
            "lyra_state_dict_to_ours",
            "parameter_count",
            "save_decoder",
        ],
        "config": ["DecoderCfg", "load_decoder_cfg"],
        "decoder": ["DecoderOutput", "LatentGaussianDecoder", "prune"],
    },
)

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
