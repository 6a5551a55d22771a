"""Reading and checking what a user gives ``generate``: prompt, image, video.

Every problem is an :class:`~lyra_sim.errors.InvalidInputError` that says what to do, raised
before any work starts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from lyra_sim.errors import InvalidInputError
from lyra_sim.teachers.registry import TeacherInfo


def check_prompt(prompt: str | None) -> str | None:
    """``prompt`` stripped; an error for an empty or blank one."""
    if prompt is None:
        return None
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidInputError("the prompt is empty; describe the scene, e.g. --prompt \"a warehouse with shelves\"")
    return prompt.strip()


def read_image(path: str | Path) -> Tensor:
    """An image file as [3, H, W] float in [0, 1] (RGB; alpha dropped, grey expanded)."""
    import imageio.v3 as iio

    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such image file")
    try:
        img = np.asarray(iio.imread(path))
    except Exception as err:  # noqa: BLE001 - imageio raises many types for undecodable files
        raise InvalidInputError(f"{path}: cannot read it as an image ({type(err).__name__}); give a PNG or JPEG") from None
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] not in (1, 3, 4) or min(img.shape[:2]) < 8:
        raise InvalidInputError(f"{path}: expected an RGB image of at least 8x8 pixels, got an array of shape {img.shape}")
    img = np.repeat(img, 3, axis=-1) if img.shape[-1] == 1 else img[..., :3]
    scale = 65535.0 if img.dtype == np.uint16 else 255.0
    return torch.from_numpy(img.astype(np.float32) / scale).permute(2, 0, 1).clamp(0, 1).contiguous()


def read_video(path: str | Path, max_frames: int = 1000) -> Tensor:
    """A video file as [T, 3, H, W] float in [0, 1]; at least 2 frames."""
    import imageio.v3 as iio

    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such video file")
    try:
        frames = []
        for i, frame in enumerate(iio.imiter(path)):
            if i >= max_frames:
                break
            frames.append(np.asarray(frame)[..., :3])
    except Exception as err:  # noqa: BLE001 - as for images
        raise InvalidInputError(f"{path}: cannot read it as a video ({type(err).__name__}); give an MP4") from None
    if len(frames) < 2:
        raise InvalidInputError(f"{path}: the video has {len(frames)} frame(s); a video teacher needs at least 2 "
                                "(use --image for a single picture)")
    video = torch.from_numpy(np.stack(frames).astype(np.float32) / 255.0)
    return video.permute(0, 3, 1, 2).contiguous()


def check_request(info: TeacherInfo, prompt: str | None, image: Tensor | None, video: Tensor | None, dynamic: bool) -> None:
    """The teacher ``info`` can serve this combination of inputs; an error naming one that can otherwise."""
    if prompt is None and image is None and video is None:
        raise InvalidInputError("nothing to generate from: give --prompt TEXT, --image PATH or --video PATH")
    if video is not None and not info.video:
        raise InvalidInputError(
            f"the {info.name} teacher cannot turn a video into a 4D scene: that needs a video-to-video camera-controlled "
            "model, and none is configured in this installation. With the embedded default, make a moving scene from a "
            "prompt instead: --prompt TEXT --dynamic --times 0,0.5,1")
    if image is not None and not info.image:
        raise InvalidInputError(f"the {info.name} teacher makes scenes from a prompt only; drop --image, or use an image "
                                "teacher: --teacher gen3c --weights DIR (see README, 'Real teachers')")
    if image is None and video is None and not info.prompt:
        raise InvalidInputError(f"the {info.name} teacher needs an --image")
    if dynamic and not info.dynamic and video is None:
        raise InvalidInputError(f"the {info.name} teacher cannot make moving scenes; use --teacher procedural for --dynamic")
