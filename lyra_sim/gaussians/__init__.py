"""3D Gaussians: the scene container, SH colour, quaternions and file I/O (PLY, compressed PLY, .splat, .spz)."""

import lazy_loader

# Submodules load on first use of a name (SPEC 1, lazy_loader), so `lyra-sim --help` and the
# commands that need no tensors never import torch.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "arrays": ["GaussianArrays"],
        "formats": ["detect_format", "read_gaussian_arrays", "read_gaussians", "write_gaussians"],
        "ply": ["read_ply", "write_ply"],
        "ply_header": ["PlyHeader", "read_ply_header"],
        "scene": ["DynamicGaussianScene", "GaussianScene"],
        "sh": ["eval_sh", "rgb_to_sh_dc", "sh_dc_to_rgb"],
    },
)

__all__ = [
    "GaussianArrays",
    "read_gaussian_arrays",
    "DynamicGaussianScene",
    "detect_format",
    "read_gaussians",
    "write_gaussians",
    "GaussianScene",
    "eval_sh",
    "PlyHeader",
    "read_ply",
    "read_ply_header",
    "rgb_to_sh_dc",
    "sh_dc_to_rgb",
    "write_ply",
]
