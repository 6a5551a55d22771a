"""gsplat backend: the CUDA rasterizer Lyra trains with (classic EWA, or 3DGUT)."""

from __future__ import annotations

from functools import lru_cache

from torch import Tensor


@lru_cache(maxsize=1)
def gsplat_available() -> bool:
    """True when gsplat imports and CUDA is usable (its kernels JIT-compile on first use)."""
    import torch

    if not torch.cuda.is_available():
        return False
    try:
        import gsplat  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return False
    return True


def rasterize_gsplat(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    sh: Tensor,
    viewmats: Tensor,
    Ks: Tensor,
    width: int,
    height: int,
    render_mode: str,
    backgrounds: Tensor | None,
    near: float,
    far: float,
    eps2d: float,
    use_3dgut: bool,
) -> tuple[Tensor, Tensor]:
    """Call ``gsplat.rasterization`` with the settings Lyra uses (packed=False, classic mode).

    Returns:
        colors [V, H, W, 3 or 4] (expected depth last in "RGB+ED") and alphas [V, H, W, 1].
    """
    from gsplat import rasterization

    degree = {1: 0, 4: 1, 9: 2, 16: 3}[sh.shape[1]]
    extra = {"with_ut": True, "with_eval3d": True} if use_3dgut else {}
    colors, alphas, _ = rasterization(
        means=means,
        quats=quats,
        scales=scales,
        opacities=opacities,
        colors=sh,
        viewmats=viewmats,
        Ks=Ks,
        width=width,
        height=height,
        near_plane=near,
        far_plane=far,
        eps2d=eps2d,
        sh_degree=degree,
        packed=False,
        backgrounds=backgrounds,
        render_mode=render_mode,
        rasterize_mode="classic",
        **extra,
    )
    return colors, alphas
