"""Image pre-processing for ViT depth estimators, in plain torch (no torchvision).

transformers' image processors for DPT / Depth Anything / ZoeDepth now run on torchvision,
which cannot be installed beside a CPU torch (see the dependency notes). This module reads the
same ``preprocessor_config.json`` and does the same steps on tensors: optional reflect padding
(ZoeDepth), resize to the model's input size (a multiple of the patch size, aspect ratio kept the
way transformers keeps it), normalisation.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from lyra_sim.errors import InvalidInputError

ResizeMode = Literal["bilinear", "bicubic", "nearest"]
# PIL resampling codes as stored in preprocessor_config.json.
_PIL_RESAMPLE = {0: "nearest", 2: "bilinear", 3: "bicubic"}


@dataclass
class ImagePrepCfg:
    """How an image becomes a model input; the fields of a ``preprocessor_config.json``."""

    height: int = 518
    """Target input height in pixels before the multiple-of rounding. Defaults to 518 (Depth Anything)."""

    width: int = 518
    """Target input width in pixels before the multiple-of rounding. Defaults to 518."""

    keep_aspect_ratio: bool = True
    """Scale both sides by the one factor closer to 1 (transformers' rule) instead of squashing
    to ``height x width``. Defaults to True."""

    ensure_multiple_of: int = 14
    """Round each side to a multiple of this (the ViT patch size: 14 for DINOv2). Defaults to 14."""

    resample: ResizeMode = "bicubic"
    """Interpolation of the resize. Defaults to "bicubic"."""

    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    """Per-channel mean subtracted after scaling to [0, 1]. Defaults to ImageNet's."""

    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    """Per-channel standard deviation divided by. Defaults to ImageNet's."""

    reflect_pad: bool = False
    """Pad ``int(sqrt(side / 2) * 3)`` pixels by reflection on each side before resizing (ZoeDepth's
    ``do_pad``; the padding is cropped from the prediction). Defaults to False."""

    align_corners: bool = False
    """``align_corners`` of the resize (ZoeDepth's processor resizes with True). Defaults to False."""

    extra: dict = field(default_factory=dict)
    """Keys of the JSON file this dataclass does not use, kept for reference. Defaults to {}."""

    @classmethod
    def from_json(cls, path: str | Path, **defaults) -> ImagePrepCfg:
        """Read a transformers ``preprocessor_config.json``; ``defaults`` fill keys it lacks."""
        data = json.loads(Path(path).read_text())
        cfg = cls(**defaults)
        size = data.get("size") or {}
        if isinstance(size, int):
            size = {"height": size, "width": size}
        if "shortest_edge" in size:
            size = {"height": size["shortest_edge"], "width": size["shortest_edge"]}
        cfg.height = int(size.get("height", cfg.height))
        cfg.width = int(size.get("width", cfg.width))
        cfg.keep_aspect_ratio = bool(data.get("keep_aspect_ratio", cfg.keep_aspect_ratio))
        multiple = data.get("ensure_multiple_of", cfg.ensure_multiple_of)
        # ZoeDepth's class default is 1/32 while its checkpoints store 32; a fraction means "none".
        cfg.ensure_multiple_of = int(multiple) if multiple and multiple >= 1 else 1
        if "resample" in data:
            cfg.resample = _PIL_RESAMPLE.get(int(data["resample"]), "bicubic")
        if data.get("do_normalize", True):
            cfg.mean = tuple(float(m) for m in data.get("image_mean", cfg.mean))
            cfg.std = tuple(float(s) for s in data.get("image_std", cfg.std))
        else:
            cfg.mean, cfg.std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
        cfg.reflect_pad = bool(data.get("do_pad", cfg.reflect_pad))
        used = {"size", "keep_aspect_ratio", "ensure_multiple_of", "resample", "image_mean", "image_std", "do_pad", "do_normalize"}
        cfg.extra = {k: v for k, v in data.items() if k not in used}
        return cfg


def model_input_size(height: int, width: int, cfg: ImagePrepCfg) -> tuple[int, int]:
    """(h, w) the model sees for an image of ``height x width`` (transformers' DPT/Zoe rule).

    With ``keep_aspect_ratio`` both sides scale by whichever of ``cfg.height / height`` and
    ``cfg.width / width`` is closer to 1; each side is then rounded to the nearest multiple of
    ``ensure_multiple_of`` (never below one multiple).
    """
    sh, sw = cfg.height / height, cfg.width / width
    if cfg.keep_aspect_ratio:
        if abs(1 - sw) < abs(1 - sh):
            sh = sw
        else:
            sw = sh
    m = cfg.ensure_multiple_of

    def snap(v: float) -> int:
        x = round(v / m) * m
        return x if x >= m else math.ceil(v / m) * m

    return snap(sh * height), snap(sw * width)


def zoe_padding(height: int, width: int) -> tuple[int, int]:
    """(pad_h, pad_w) ZoeDepth's processor adds on each side: ``int(sqrt(side / 2) * 3)``."""
    return int(math.sqrt(height / 2) * 3), int(math.sqrt(width / 2) * 3)


def prepare_image(image: Tensor, cfg: ImagePrepCfg) -> Tensor:
    """An image in [0, 1] as the model's ``pixel_values``.

    Args:
        image: [3, H, W] or [B, 3, H, W], RGB in [0, 1], any float dtype.

    Returns:
        [B, 3, h, w] float32 on the image's device, padded (if ``reflect_pad``), resized to
        :func:`model_input_size` of the (padded) image, and normalised.
    """
    x = image[None] if image.ndim == 3 else image
    if x.ndim != 4 or x.shape[1] != 3:
        raise InvalidInputError(f"expected an RGB image [3, H, W] or [B, 3, H, W]; got {tuple(image.shape)}")
    x = x.float()
    if cfg.reflect_pad:
        ph, pw = zoe_padding(x.shape[-2], x.shape[-1])
        x = F.pad(x, (pw, pw, ph, ph), mode="reflect")
    h, w = model_input_size(x.shape[-2], x.shape[-1], cfg)
    x = resize(x, (h, w), cfg.resample, align_corners=cfg.align_corners)
    mean = torch.tensor(cfg.mean, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(cfg.std, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def resize(x: Tensor, size: tuple[int, int], mode: ResizeMode = "bilinear", *, align_corners: bool = False) -> Tensor:
    """Resize ``x [B, C, H, W]`` to ``size = (h, w)``; antialiased when shrinking (as PIL does)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest")
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x, size=size, mode=mode, align_corners=align_corners, antialias=shrink and not align_corners)
