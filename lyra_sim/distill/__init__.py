"""Self-distillation of the latent Gaussian decoder from teacher videos (``lyra-sim train``).

Trainer, losses, deferred backpropagation, the progressive-stage configuration, resumable
checkpoints and data-parallel launch (torchrun / accelerate, DDP).
"""

import lazy_loader

# Submodules load on first use of a name (SPEC 1, lazy_loader), so `lyra-sim --help` and the
# commands that need no tensors never import torch.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "checkpoint": ["latest_checkpoint", "list_checkpoints", "load_checkpoint", "save_checkpoint"],
        "config": ["LossCfg", "DataCfg", "OptimCfg", "RenderCfg", "StageCfg", "TrainCfg", "load_train_cfg"],
        "deferred": ["render_views"],
        "logs": ["read_log"],
        "losses": ["DistillationLoss", "depth_loss_per_view", "mse_per_view", "normalize_depth", "ssim_loss_per_view"],
        "trainer": ["SampleStream", "Trainer", "TrainResult", "train"],
    },
)

__all__ = [
    "DataCfg",
    "DistillationLoss",
    "LossCfg",
    "OptimCfg",
    "RenderCfg",
    "SampleStream",
    "StageCfg",
    "TrainCfg",
    "TrainResult",
    "Trainer",
    "depth_loss_per_view",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "load_train_cfg",
    "mse_per_view",
    "normalize_depth",
    "read_log",
    "render_views",
    "save_checkpoint",
    "ssim_loss_per_view",
    "train",
]
