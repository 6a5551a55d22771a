"""Pictures of renders: PNG frames, MP4 fly-throughs, depth colouring and contact sheets.

Everything here takes images as float tensors ``[H, W, 3]`` in [0, 1] (what
:func:`lyra_sim.render.render` returns per view) and writes files atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from lyra_sim.io import atomic_output

# 16 samples of the "turbo" colormap (Google, Apache-2.0 data), linearly interpolated below.
_TURBO = np.array(
    [
        [0.190, 0.072, 0.232], [0.260, 0.310, 0.780], [0.275, 0.510, 0.970], [0.195, 0.690, 0.950],
        [0.100, 0.840, 0.790], [0.140, 0.940, 0.600], [0.340, 0.990, 0.380], [0.560, 0.990, 0.220],
        [0.730, 0.940, 0.210], [0.870, 0.840, 0.220], [0.970, 0.700, 0.210], [0.990, 0.540, 0.150],
        [0.950, 0.380, 0.080], [0.860, 0.240, 0.030], [0.720, 0.120, 0.010], [0.480, 0.016, 0.011],
    ]
)


def to_uint8(image: Tensor | np.ndarray) -> np.ndarray:
    """[H, W, C] float in [0, 1] (clipped) -> uint8 numpy array."""
    if isinstance(image, Tensor):
        image = image.detach().float().cpu().numpy()
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def colorize_depth(depth: Tensor, alpha: Tensor | None = None, near: float | None = None, far: float | None = None) -> Tensor:
    """Turbo-coloured inverse depth (near = warm), black where nothing was rendered.

    Args:
        depth: [H, W] or [H, W, 1] expected depth.
        alpha: same shape, accumulated opacity; pixels with alpha < 0.5 are shown black.
        near, far: depth range; the 2nd/98th percentiles of the valid depth when None.

    Returns:
        [H, W, 3] float image in [0, 1].
    """
    d = depth.detach().float().cpu().reshape(depth.shape[0], depth.shape[1])
    valid = d > 0 if alpha is None else alpha.detach().float().cpu().reshape(d.shape) > 0.5
    if not valid.any():
        return torch.zeros(*d.shape, 3)
    vals = d[valid]
    lo = float(torch.quantile(vals, 0.02)) if near is None else near
    hi = float(torch.quantile(vals, 0.98)) if far is None else far
    lo, hi = max(lo, 1e-6), max(hi, lo * (1 + 1e-6) + 1e-9)
    inv = (1.0 / d.clamp(min=1e-6) - 1.0 / hi) / (1.0 / lo - 1.0 / hi)  # 1 at near, 0 at far
    t = inv.clamp(0, 1).numpy() * (len(_TURBO) - 1)
    i0 = np.floor(t).astype(int).clip(0, len(_TURBO) - 2)
    frac = (t - i0)[..., None]
    rgb = _TURBO[i0] * (1 - frac) + _TURBO[i0 + 1] * frac
    rgb[~valid.numpy()] = 0.0
    return torch.from_numpy(rgb).float()


def contact_sheet(images: Sequence[Tensor], columns: int, pad: int = 4, background: float = 1.0) -> Tensor:
    """Tile equally sized [H, W, 3] images into a grid, row-major, with ``pad`` pixels between."""
    if not images:
        raise ValueError("contact_sheet needs at least one image")
    h, w = images[0].shape[:2]
    rows = (len(images) + columns - 1) // columns
    sheet = torch.full((rows * h + (rows + 1) * pad, columns * w + (columns + 1) * pad, 3), background)
    for k, img in enumerate(images):
        r, c = divmod(k, columns)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        sheet[y : y + h, x : x + w] = img.detach().float().cpu()[..., :3]
    return sheet


def write_png(image: Tensor | np.ndarray, path: str | Path, overwrite: bool = False) -> Path:
    """Write an [H, W, 3] float image in [0, 1] as an 8-bit PNG (atomically)."""
    import imageio.v3 as iio

    with atomic_output(path, overwrite) as tmp:
        iio.imwrite(tmp, to_uint8(image), extension=".png")
    return Path(path)


def write_mp4(frames: Iterable[Tensor | np.ndarray], path: str | Path, fps: int = 24, overwrite: bool = False) -> Path:
    """Encode [H, W, 3] float frames as an H.264 MP4 (yuv420p, plays everywhere), atomically.

    Odd image sizes are padded by one pixel, since yuv420p needs even width and height.
    """
    import imageio.v2 as iio2

    with atomic_output(path, overwrite) as tmp:
        writer = iio2.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", quality=8, macro_block_size=1, pixelformat="yuv420p")
        try:
            for frame in frames:
                img = to_uint8(frame)
                pad_h, pad_w = img.shape[0] % 2, img.shape[1] % 2
                if pad_h or pad_w:
                    img = np.pad(img, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
                writer.append_data(img)
        finally:
            writer.close()
    return Path(path)
