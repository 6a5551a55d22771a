"""Teachers: camera-controlled video generators that make Lyra's training data."""

from lyra_sim.teachers.base import Teacher, TeacherOutput, TeacherRequest, TrajectoryVideo, TriangleMesh
from lyra_sim.teachers.procedural import ProceduralTeacher

# Real teachers' building blocks (issue 9): monocular depth, GEN3C's 3D cache, text to image.
from lyra_sim.teachers.cache3d import Cache3D, Cache3DCfg, WarpedFrames, forward_warp
from lyra_sim.teachers.depth import (
    DepthEstimate,
    DepthEstimator,
    DepthEstimatorCfg,
    load_depth_estimator,
)
from lyra_sim.teachers.text2image import TextToImage, TextToImageCfg

# GEN3C-style video teacher from local weights (issue 9 item 3).
from lyra_sim.teachers.gen3c import Gen3CTeacher, Gen3CTeacherCfg
from lyra_sim.teachers.gen3c_convert import convert_gen3c_checkpoint
from lyra_sim.teachers.gen3c_sampler import Gen3CSamplerCfg

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
