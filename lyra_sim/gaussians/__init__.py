"""3D Gaussians: the scene container, SH colour, quaternions and file I/O (PLY, compressed PLY, .splat, .spz)."""

from lyra_sim.gaussians.formats import detect_format, read_gaussians, write_gaussians
from lyra_sim.gaussians.ply import read_ply, write_ply
from lyra_sim.gaussians.ply_header import PlyHeader, read_ply_header
from lyra_sim.gaussians.scene import DynamicGaussianScene, GaussianScene
from lyra_sim.gaussians.sh import eval_sh, rgb_to_sh_dc, sh_dc_to_rgb

__all__ = [
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
