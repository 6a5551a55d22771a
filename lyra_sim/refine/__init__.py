"""Test-time refinement of decoded Gaussians against the teacher's views (between decode and export)."""

import lazy_loader

# Submodules load on first use of a name (SPEC 1, lazy_loader), so `lyra-sim --help` and the
# commands that need no tensors never import torch.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "config": ["RefineCfg"],
        "optimize": ["RefineResult", "RefineTargets", "refine_gaussians", "view_metrics"],
    },
)

__all__ = ["RefineCfg", "RefineResult", "RefineTargets", "refine_gaussians", "view_metrics"]
