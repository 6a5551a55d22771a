"""Raw refinement parameters (log-scales, logit opacities) and the helpers both the optimiser
(:mod:`lyra_sim.refine.optimize`) and densification (:mod:`lyra_sim.refine.densify`) use.

They live here, below both, so that neither imports the other's module back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lyra_sim.cameras import Cameras
from lyra_sim.gaussians import GaussianScene


def footprint(means: Tensor, cameras: Cameras, max_cameras: int = 64) -> Tensor:
    """[N] size of one pixel at each point: distance to the nearest camera / its focal length."""
    idx = torch.linspace(0, len(cameras) - 1, min(max_cameras, len(cameras))).round().long()
    centres = cameras.centers[idx].to(means)
    focal = cameras.K[idx, 0, 0].to(means)
    dist, nearest = torch.cdist(means, centres).min(dim=1)
    return dist / focal[nearest]


def init_params(scene: GaussianScene, cameras: Cameras, max_pixels: float) -> dict[str, Tensor]:
    """Raw, trainable parameters of ``scene``, scales capped at ``max_pixels`` pixel footprints."""
    cap = (max_pixels * footprint(scene.means, cameras))[:, None]
    scales = torch.minimum(scene.scales, cap).clamp(min=1e-7)
    return {
        "means": scene.means.clone().requires_grad_(True),
        "scales": scales.log().requires_grad_(True),
        "quats": F.normalize(scene.quats, dim=-1).clone().requires_grad_(True),
        "opacities": torch.logit(scene.opacities.clamp(1e-4, 1 - 1e-4)).requires_grad_(True),
        "sh0": scene.sh[:, :1].clone().requires_grad_(True),
        "shN": scene.sh[:, 1:].clone().requires_grad_(True),
    }


def scene_from_params(params: dict[str, Tensor]) -> GaussianScene:
    """The activated scene of raw parameters (log-scales, logit opacities)."""
    return GaussianScene(params["means"], params["quats"], params["scales"].exp(), torch.sigmoid(params["opacities"]),
                         torch.cat([params["sh0"], params["shN"]], dim=1))
