"""Self-distillation of the latent Gaussian decoder from teacher videos (``lyra-sim train``).

Trainer, losses, deferred backpropagation, the progressive-stage configuration, resumable
checkpoints and data-parallel launch (torchrun / accelerate, DDP).
"""

from lyra_sim.distill.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from lyra_sim.distill.config import DataCfg, OptimCfg, RenderCfg, StageCfg, TrainCfg, load_train_cfg
from lyra_sim.distill.deferred import render_views
from lyra_sim.distill.logs import read_log
from lyra_sim.distill.losses import (
    DistillationLoss,
    LossCfg,
    depth_loss_per_view,
    mse_per_view,
    normalize_depth,
    ssim_loss_per_view,
)
from lyra_sim.distill.trainer import SampleStream, Trainer, TrainResult, train

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
