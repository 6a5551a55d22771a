"""Lyra's SDG dataset layout: scene reader and writer, view sampling, the training Dataset."""

from lyra_sim.data.dataset import LyraDataset, LyraDatasetCfg
from lyra_sim.data.exr import decode_exr, encode_exr, read_exr_channel
from lyra_sim.data.latents import LatentStatistics
from lyra_sim.data.layout import (
    FIELD_EXTENSIONS,
    LyraScene,
    field_path,
    find_scenes,
    scene_keys,
    trajectory_ids,
)
from lyra_sim.data.safe_pickle import load_array_pickle
from lyra_sim.data.sampling import ViewSample, ViewSamplingCfg, sample_views
from lyra_sim.data.transforms import (
    CropResize,
    intrinsics_to_matrix,
    matrix_to_intrinsics,
    relative_to,
)
from lyra_sim.data.video import count_video_frames, read_video_frames, write_video
from lyra_sim.data.writer import write_scene

__all__ = [
    "FIELD_EXTENSIONS",
    "CropResize",
    "LatentStatistics",
    "LyraDataset",
    "LyraDatasetCfg",
    "LyraScene",
    "ViewSample",
    "ViewSamplingCfg",
    "count_video_frames",
    "decode_exr",
    "encode_exr",
    "field_path",
    "find_scenes",
    "intrinsics_to_matrix",
    "load_array_pickle",
    "matrix_to_intrinsics",
    "read_exr_channel",
    "read_video_frames",
    "relative_to",
    "sample_views",
    "scene_keys",
    "trajectory_ids",
    "write_scene",
    "write_video",
]
