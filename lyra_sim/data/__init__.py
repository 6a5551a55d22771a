"""Lyra's SDG dataset layout: scene reader and writer, view sampling, the training Dataset."""

import lazy_loader

# Submodules load on first use of a name (SPEC 1, lazy_loader), so `lyra-sim --help` and the
# commands that need no tensors never import torch.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "dataset": ["LyraDataset", "LyraDatasetCfg"],
        "exr": ["decode_exr", "encode_exr", "read_exr_channel"],
        "latents": ["LatentStatistics"],
        "layout": ["FIELD_EXTENSIONS", "LyraScene", "field_path", "find_scenes", "scene_keys", "trajectory_ids"],
        "safe_pickle": ["load_array_pickle"],
        "sampling": ["ViewSample", "ViewSamplingCfg", "sample_views"],
        "transforms": ["CropResize", "intrinsics_to_matrix", "matrix_to_intrinsics", "relative_to"],
        "video": ["count_video_frames", "read_video_frames", "write_video"],
        "writer": ["write_scene"],
    },
)

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
