"""Image metrics: PSNR, SSIM (11-tap Gaussian window) and LPIPS where its weights are local.

All functions take images ``[..., 3, H, W]`` in [0, 1] and return one value per image
(``[...]``). SSIM is differentiable and is also the trainer's weight-free perceptual loss.

SSIM follows ``skimage.metrics.structural_similarity(win_size=11, gaussian_weights=True,
sigma=1.5, data_range=1)``, which Lyra's evaluation calls: the local statistics are Gaussian
averages (radius 5, truncated at 3.5 sigma), the map is averaged over the pixels whose window
lies inside the image (skimage filters with reflection and then crops the same border), and
``sample_covariance=True`` applies skimage's default N / (N - 1) correction with N = 121.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from lyra_sim.errors import InvalidInputError, MissingWeightsError

SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2
VGG16_FILE = "vgg16-397923af.pth"  # torchvision's ImageNet VGG16, the LPIPS-VGG backbone


def psnr(pred: Tensor, target: Tensor, max_db: float | None = None) -> Tensor:
    """Per-image PSNR in dB of [0, 1]-clipped images ``[..., C, H, W]`` (Lyra's definition).

    Identical images give ``inf``, or ``max_db`` when it is given.
    """
    _check_pair(pred, target)
    mse = (pred.clamp(0, 1) - target.clamp(0, 1)).pow(2).flatten(-3).mean(-1)
    out = -10.0 * torch.log10(mse)
    return out if max_db is None else out.clamp(max=max_db)


@lru_cache(maxsize=8)
def _gaussian_taps(size: int, sigma: float) -> Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(
    pred: Tensor,
    target: Tensor,
    window: int = 11,
    sigma: float = 1.5,
    data_range: float = 1.0,
    sample_covariance: bool = True,
    reduce: bool = True,
) -> Tensor:
    """Structural similarity of ``[..., C, H, W]`` images, differentiable in both.

    Args:
        window: Gaussian window size (odd); H and W must be at least this.
        sigma: Gaussian standard deviation in pixels.
        sample_covariance: multiply (co)variances by N / (N - 1), N = window**2 (skimage default).
        reduce: mean over channels and valid pixels -> ``[...]``; False returns the SSIM map
            ``[..., C, H - window + 1, W - window + 1]``.
    """
    _check_pair(pred, target)
    if window % 2 == 0 or pred.shape[-1] < window or pred.shape[-2] < window:
        raise InvalidInputError(f"SSIM needs an odd window no larger than the image; got {window} for {list(pred.shape[-2:])}")
    lead, (C, H, W) = pred.shape[:-3], pred.shape[-3:]
    x = pred.reshape(-1, 1, H, W)
    y = target.reshape(-1, 1, H, W).to(x.dtype)
    taps = _gaussian_taps(window, float(sigma)).to(device=x.device, dtype=x.dtype)
    stats = _blur(torch.cat([x, y, x * x, y * y, x * y], dim=1), taps)  # 'valid' = skimage's cropped border
    mx, my, mxx, myy, mxy = stats.unbind(1)
    norm = window * window / (window * window - 1) if sample_covariance else 1.0
    vx = norm * (mxx - mx * mx)
    vy = norm * (myy - my * my)
    cxy = norm * (mxy - mx * my)
    c1, c2 = SSIM_C1 * data_range**2, SSIM_C2 * data_range**2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    s = s.reshape(*lead, C, *s.shape[-2:])
    return s.flatten(-3).mean(-1) if reduce else s


def _blur(x: Tensor, taps: Tensor) -> Tensor:
    """Separable 'valid' Gaussian filter of every channel of ``[B, K, H, W]``."""
    K, n = x.shape[1], taps.numel()
    x = F.conv2d(x, taps.view(1, 1, 1, n).expand(K, 1, 1, n), groups=K)
    return F.conv2d(x, taps.view(1, 1, n, 1).expand(K, 1, n, 1), groups=K)


def _check_pair(pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape or pred.ndim < 3:
        raise InvalidInputError(f"images must be [..., C, H, W] of one shape, got {list(pred.shape)} and {list(target.shape)}")


# ---------------------------------------------------------------------------------- LPIPS
def vgg16_weights_path() -> Path:
    """Where torchvision keeps the VGG16 weights LPIPS-VGG needs (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE


def lpips_available() -> bool:
    """True when the ``lpips`` package imports and the VGG16 backbone is already on disk."""
    try:
        import lpips  # noqa: F401
    except Exception:  # noqa: BLE001 - ImportError, or torchvision failing to load its ops
        return False
    return vgg16_weights_path().is_file()


def load_lpips(device: torch.device | str = "cpu") -> torch.nn.Module:
    """LPIPS-VGG (Lyra's perceptual loss and metric), frozen, from local weights only.

    Never downloads: the VGG16 backbone must already be at :func:`vgg16_weights_path` and the
    linear heads come with the ``lpips`` package.

    Raises:
        MissingWeightsError: ``lpips`` is not installed (it needs torchvision, a GPU-env
            dependency) or the VGG16 weights are not on disk.
    """
    try:
        import lpips
    except Exception as err:  # noqa: BLE001
        raise MissingWeightsError(
            f"LPIPS needs the `lpips` package with a working torchvision ({err}); install the gpu extra "
            "(pip install 'lyra-sim[gpu]') in a CUDA environment, or use the SSIM perceptual loss (loss.perceptual=ssim)"
        ) from None
    if not vgg16_weights_path().is_file():
        raise MissingWeightsError(
            f"LPIPS-VGG needs torchvision's ImageNet VGG16 weights at {vgg16_weights_path()} "
            f"(file {VGG16_FILE}; lyra-sim downloads nothing); copy them there or set TORCH_HOME"
        )
    model = lpips.LPIPS(net="vgg", verbose=False).to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def lpips_distance(model: torch.nn.Module, pred: Tensor, target: Tensor, chunk: int = 32) -> Tensor:
    """Per-image LPIPS of ``[N, 3, H, W]`` images in [0, 1] (``normalize=True``, as Lyra's eval)."""
    _check_pair(pred, target)
    out = [model(pred[i : i + chunk], target[i : i + chunk], normalize=True).flatten() for i in range(0, len(pred), chunk)]
    return torch.cat(out)
