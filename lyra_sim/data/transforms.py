"""Centre-crop to the target aspect, resize, and keep the intrinsics consistent (Lyra's ``ImageTransform``).

Lyra (``src/models/utils/data.py: ImageTransform`` with ``max_crop=True``) crops the largest
centred window with the target aspect ratio, then resizes it to the target size (bilinear with
antialiasing for RGB, nearest for depth), and moves the intrinsics the same way:
``fx' = fx * sx``, ``cx' = (cx - left) * sx`` (likewise y), with ``sx = W_out / W_crop``.

Two deliberate differences, both sub-pixel: the intrinsics use the crop's actual integer offset
(Lyra uses ``(W - W_crop) / 2`` unrounded, half a pixel off when the difference is odd), and
depth/masks are resized with ``nearest-exact`` (the source pixel under each target pixel's
centre, consistent with pixel centres at +0.5) instead of torch's floor-based ``nearest``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from lyra_sim.errors import InvalidInputError


@dataclass(frozen=True)
class CropResize:
    """One centre crop followed by one resize; ``top/left/crop_*`` in source pixels.

    Attributes:
        top, left: offset of the crop window in the source image.
        crop_height, crop_width: size of the crop window.
        height, width: output size.
    """

    top: int
    left: int
    crop_height: int
    crop_width: int
    height: int
    width: int

    @classmethod
    def plan(cls, source_size: tuple[int, int], target_size: tuple[int, int]) -> CropResize:
        """The largest centred crop of ``source_size (H, W)`` with the aspect of ``target_size (H, W)``."""
        src_h, src_w = (int(v) for v in source_size)
        dst_h, dst_w = (int(v) for v in target_size)
        if min(src_h, src_w, dst_h, dst_w) <= 0:
            raise InvalidInputError(f"image sizes must be positive, got {source_size} -> {target_size}")
        ratio = min(src_h / dst_h, src_w / dst_w)
        crop_h, crop_w = max(1, int(dst_h * ratio)), max(1, int(dst_w * ratio))
        # torchvision CenterCrop's offsets (Python round: half to even).
        top, left = round((src_h - crop_h) / 2.0), round((src_w - crop_w) / 2.0)
        return cls(top, left, crop_h, crop_w, dst_h, dst_w)

    @property
    def is_identity(self) -> bool:
        return (self.top, self.left, self.crop_height, self.crop_width) == (0, 0, self.height, self.width)

    @property
    def scale(self) -> tuple[float, float]:
        """(sx, sy): output pixels per source pixel."""
        return self.width / self.crop_width, self.height / self.crop_height

    def images(self, images: Tensor) -> Tensor:
        """``[..., C, H, W]`` float images -> ``[..., C, height, width]`` (bilinear, antialiased)."""
        cropped = self._crop(images)
        if cropped.shape[-2:] == (self.height, self.width):
            return cropped.contiguous()
        lead = cropped.shape[:-3]
        flat = cropped.reshape(-1, *cropped.shape[-3:])
        out = F.interpolate(flat, size=(self.height, self.width), mode="bilinear", align_corners=False, antialias=True)
        return out.reshape(*lead, *out.shape[-3:])

    def maps(self, maps: Tensor) -> Tensor:
        """``[..., H, W]`` per-pixel maps (depth, masks) -> ``[..., height, width]`` (nearest-exact)."""
        cropped = self._crop(maps)
        if cropped.shape[-2:] == (self.height, self.width):
            return cropped.contiguous()
        lead = cropped.shape[:-2]
        flat = cropped.reshape(-1, 1, *cropped.shape[-2:])
        dtype = flat.dtype
        out = F.interpolate(flat.float() if dtype == torch.bool else flat, size=(self.height, self.width), mode="nearest-exact")
        return out.to(dtype).reshape(*lead, self.height, self.width)

    def intrinsics(self, fxfycxcy: Tensor) -> Tensor:
        """``[..., 4]`` (fx, fy, cx, cy) in source pixels -> the same in output pixels."""
        sx, sy = self.scale
        fx, fy, cx, cy = fxfycxcy.unbind(-1)
        return torch.stack([fx * sx, fy * sy, (cx - self.left) * sx, (cy - self.top) * sy], dim=-1)

    def _crop(self, x: Tensor) -> Tensor:
        return x[..., self.top : self.top + self.crop_height, self.left : self.left + self.crop_width]


def intrinsics_to_matrix(fxfycxcy: Tensor) -> Tensor:
    """``[..., 4]`` (fx, fy, cx, cy) -> ``[..., 3, 3]`` pinhole K."""
    fx, fy, cx, cy = fxfycxcy.unbind(-1)
    K = torch.zeros(*fxfycxcy.shape[:-1], 3, 3, dtype=fxfycxcy.dtype, device=fxfycxcy.device)
    K[..., 0, 0], K[..., 1, 1], K[..., 0, 2], K[..., 1, 2], K[..., 2, 2] = fx, fy, cx, cy, 1.0
    return K


def matrix_to_intrinsics(K: Tensor) -> Tensor:
    """``[..., 3, 3]`` pinhole K -> ``[..., 4]`` (fx, fy, cx, cy), Lyra's ``intrinsics/*.npz`` rows."""
    return torch.stack([K[..., 0, 0], K[..., 1, 1], K[..., 0, 2], K[..., 1, 2]], dim=-1)


def relative_to(c2w: Tensor, reference: Tensor) -> Tensor:
    """Re-express ``c2w [..., 4, 4]`` in the frame of the camera ``reference [4, 4]``: ``ref^-1 @ c2w``.

    This is Lyra's ``relative_translation_scale`` step (``provider.py: _preprocess``), with the
    reference being the first input camera of the sample. A general inverse (computed in float64)
    as in Lyra, so poses with scale still work.
    """
    inv = torch.linalg.inv(reference.to(torch.float64)).to(c2w.dtype)
    return inv @ c2w
