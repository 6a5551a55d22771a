"""Evaluation of a decoder against its teacher: image, depth and geometry metrics (``lyra-sim eval``)."""

from lyra_sim.eval.depth import align_scale_shift, decoded_depth_metrics, depth_at_gaussian_rays, depth_metrics
from lyra_sim.eval.geometry import chamfer_fscore, nearest_distances, sample_mesh_points, visible_points
from lyra_sim.eval.image import load_lpips, lpips_available, lpips_distance, psnr, ssim

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
