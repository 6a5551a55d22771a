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
    rgb = _turbo(inv.clamp(0, 1).numpy() * (len(_TURBO) - 1))
    rgb[~valid.numpy()] = 0.0
    return torch.from_numpy(rgb).float()


def _turbo(t: np.ndarray) -> np.ndarray:
    """Turbo colours [..., 3] at positions ``t`` in [0, 15] along :data:`_TURBO`."""
    i0 = np.floor(t).astype(int).clip(0, len(_TURBO) - 2)
    frac = (t - i0)[..., None]
    return _TURBO[i0] * (1 - frac) + _TURBO[i0 + 1] * frac


def depth_range(depths: Sequence[Tensor], alphas: Sequence[Tensor] | None = None) -> tuple[float, float] | None:
    """One (near, far) range, metres, for several depth images: the 2nd and 98th percentiles of
    their rendered pixels (alpha > 0.5, or depth > 0 without alphas), so a colour means the same
    distance in every image of a sheet. None when nothing was rendered."""
    valid = []
    for k, d in enumerate(depths):
        d = d.detach().float().cpu().reshape(-1)
        keep = d > 0 if alphas is None else alphas[k].detach().float().cpu().reshape(-1) > 0.5
        valid.append(d[keep])
    values = torch.cat(valid) if valid else torch.zeros(0)
    if not values.numel():
        return None
    if values.numel() > 4_000_000:  # torch.quantile refuses very large inputs
        values = values[torch.randperm(values.numel(), generator=torch.Generator().manual_seed(0))[:4_000_000]]
    return float(torch.quantile(values, 0.02)), float(torch.quantile(values, 0.98))


def contact_sheet(images: Sequence[Tensor], columns: int, pad: int = 4, background: float = 1.0,
                  row_labels: Sequence[str] | None = None, depth_range: tuple[float, float] | None = None) -> Tensor:
    """Tile equally sized [H, W, 3] images into a grid, row-major, with ``pad`` pixels between.

    Args:
        row_labels: one name per row, written in a gutter on the left (e.g. "teacher", "depth").
        depth_range: (near, far) metres of the depth rows (coloured by :func:`colorize_depth`
            with this range); adds a turbo colour bar with its distances under the grid.

    Returns:
        [H', W', 3] float image in [0, 1].
    """
    if not images:
        raise ValueError("contact_sheet needs at least one image")
    h, w = images[0].shape[:2]
    rows = (len(images) + columns - 1) // columns
    if row_labels is not None and len(row_labels) != rows:
        raise ValueError(f"{len(row_labels)} row labels for {rows} rows")
    sheet = torch.full((rows * h + (rows + 1) * pad, columns * w + (columns + 1) * pad, 3), background)
    for k, img in enumerate(images):
        r, c = divmod(k, columns)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        sheet[y : y + h, x : x + w] = img.detach().float().cpu()[..., :3]
    if row_labels is None and depth_range is None:
        return sheet
    return _annotate(sheet, h, pad, row_labels, depth_range, background)


def _annotate(sheet: Tensor, h: int, pad: int, row_labels, depth_range, background: float) -> Tensor:
    """Add the row-label gutter and the depth colour bar to a tiled sheet (PIL text)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=max(10, min(16, h // 6)))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_w = lambda t: int(probe.textlength(t, font=font))  # noqa: E731
    gutter = (max(text_w(t) for t in row_labels) + 2 * pad + 4) if row_labels else 0
    bar_h = 34 + pad if depth_range is not None else 0
    base = to_uint8(sheet)
    fill = int(round(background * 255))
    canvas = Image.new("RGB", (base.shape[1] + gutter, base.shape[0] + bar_h), (fill, fill, fill))
    canvas.paste(Image.fromarray(base), (gutter, 0))
    draw = ImageDraw.Draw(canvas)
    ink = (0, 0, 0) if background > 0.5 else (255, 255, 255)
    for r, label in enumerate(row_labels or []):
        y = pad + r * (h + pad) + h // 2
        draw.text((pad, y), label, fill=ink, font=font, anchor="lm")
    if depth_range is not None:
        near, far = depth_range
        width = min(base.shape[1] - 2 * pad, 320)
        x0, y0 = gutter + pad, base.shape[0] + 2
        ramp = np.linspace(1.0, 0.0, width) * (len(_TURBO) - 1)  # left = near (warm), as in colorize_depth
        colours = _turbo(ramp)
        strip = np.repeat(to_uint8(colours)[None], 10, axis=0)
        canvas.paste(Image.fromarray(strip), (x0, y0))
        for frac in (0.0, 0.5, 1.0):  # ticks evenly spaced in inverse depth, like the colouring
            inv = 1.0 / max(near, 1e-6) * (1 - frac) + 1.0 / max(far, 1e-6) * frac
            x = x0 + int(round(frac * (width - 1)))
            draw.line([(x, y0 + 10), (x, y0 + 14)], fill=ink)
            draw.text((x, y0 + 15), f"{1.0 / inv:.2g} m", fill=ink, font=font, anchor="ma" if 0 < frac < 1 else ("la" if frac == 0 else "ra"))
        draw.text((x0 + width + 2 * pad, y0 + 5), "depth", fill=ink, font=font, anchor="lm")
    return torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255.0)


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
