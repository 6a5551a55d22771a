"""Evaluation of a decoder against its teacher: image, depth and geometry metrics (``lyra-sim eval``)."""

import lazy_loader

# Submodules load on first use of a name (SPEC 1, lazy_loader), so `lyra-sim --help` and the
# commands that need no tensors never import torch.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "depth": ["align_scale_shift", "decoded_depth_metrics", "depth_at_gaussian_rays", "depth_metrics"],
        "geometry": ["chamfer_fscore", "nearest_distances", "sample_mesh_points", "visible_points"],
        "image": ["load_lpips", "lpips_available", "lpips_distance", "psnr", "ssim"],
    },
)

__all__ = [
    "align_scale_shift",
    "chamfer_fscore",
    "decoded_depth_metrics",
    "depth_at_gaussian_rays",
    "depth_metrics",
    "load_lpips",
    "lpips_available",
    "lpips_distance",
    "nearest_distances",
    "psnr",
    "sample_mesh_points",
    "ssim",
    "visible_points",
]
