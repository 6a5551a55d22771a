"""Rendering of Gaussian scenes: gsplat on CUDA, a pure-torch twin everywhere."""

import lazy_loader

# Submodules load on first use of a name (SPEC 1, lazy_loader), so `lyra-sim --help` and the
# commands that need no tensors never import torch.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "projection": ["ProjectedGaussians", "project_gaussians"],
        "rasterize": ["RenderOutput", "render", "resolve_backend"],
    },
)

__all__ = ["ProjectedGaussians", "RenderOutput", "project_gaussians", "render", "resolve_backend"]
