"""Teachers: camera-controlled video generators that make Lyra's training data."""

import lazy_loader

# Submodules load on first use of a name (SPEC 1, lazy_loader), so `lyra-sim --help` and the
# commands that need no tensors never import torch.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "base": ["Teacher", "TeacherOutput", "TeacherRequest", "TrajectoryVideo", "TriangleMesh"],
        "procedural": ["ProceduralTeacher"],
        "cache3d": ["Cache3D", "Cache3DCfg", "WarpedFrames", "forward_warp"],
        "depth": ["DepthEstimate", "DepthEstimator", "DepthEstimatorCfg", "load_depth_estimator"],
        "text2image": ["TextToImage", "TextToImageCfg"],
        "gen3c": ["Gen3CTeacher", "Gen3CTeacherCfg"],
        "gen3c_convert": ["convert_gen3c_checkpoint"],
        "gen3c_sampler": ["Gen3CSamplerCfg"],
    },
)


__all__ = [
    "Cache3D",
    "Cache3DCfg",
    "DepthEstimate",
    "DepthEstimator",
    "DepthEstimatorCfg",
    "Gen3CSamplerCfg",
    "Gen3CTeacher",
    "Gen3CTeacherCfg",
    "ProceduralTeacher",
    "Teacher",
    "TeacherOutput",
    "TeacherRequest",
    "TextToImage",
    "TextToImageCfg",
    "TrajectoryVideo",
    "TriangleMesh",
    "WarpedFrames",
    "convert_gen3c_checkpoint",
    "forward_warp",
    "load_depth_estimator",
]
