"""Render views in horizontal bands so the torch compositor's memory stays bounded on any scene.

The torch compositor (:mod:`lyra_sim.render.torch_backend`) holds every (Gaussian, pixel) pair
of a call at once. A capture seen whole, or splats at a scale cap, can make hundreds of millions
of pairs: measured on a 2-core CPU at 512x384, the example room with its splats scaled up 8x
made 526 M bounding-box pairs and peaked at 21 GB. Pixels are independent, so rendering an
image's rows in bands (and, where one row alone is over budget, its columns in slices) and
stacking them gives the same image, with memory set by the band.

Band heights come from an estimate of each row's pairs (the width of every Gaussian's pixel
bounding box added to each row it spans; the compositor keeps fewer, so the estimate is an upper
bound). Measured without autograd: about 100 bytes per estimated pair of a band plus a fixed
0.3 GB, so the default :data:`MAX_PAIRS_PER_BAND` keeps a frame near 0.7 GB. Bands are windows of rows of the whole
image's projection (``render(..., rows=...)``), so they are exact, not re-projected crops (whose
off-screen Jacobian clamp would differ). gsplat tiles its own work on a GPU: with that backend
views are rendered whole.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lyra_sim.cameras import Cameras
from lyra_sim.errors import InvalidInputError
from lyra_sim.gaussians import GaussianScene
from lyra_sim.render.projection import project_gaussians
from lyra_sim.render.rasterize import RenderOutput, render, resolve_backend

MAX_PAIRS_PER_BAND = 4_000_000
"""Estimated (Gaussian, pixel) pairs per band by default: measured 0.7 GB above the process's
baseline for one 512x384 frame of the 8x-splat room (8 M pairs: 1.1 GB), which leaves the rest of
the 2 GB budget to the interpreter, torch, the scene and the video encoder."""
MAX_PIXELS = 64_000_000
"""Largest image (width x height) a view may have: its float buffers alone would take over 2 GB."""


def _boxes(scene: GaussianScene, camera: Cameras, near: float, far: float, eps2d: float) -> tuple[Tensor, ...]:
    """Pixel bounding boxes of the Gaussians one camera sees: (index [M] into the scene, x0, x1,
    y0, y1 [M], half-open, clamped to the image). A superset of the pixels the compositor gives
    each Gaussian (it keeps pixel centres inside the box)."""
    W, H = camera.width, camera.height
    with torch.no_grad():
        p = project_gaussians(scene.means, scene.quats, scene.scales, scene.opacities, camera.w2c.to(scene.dtype),
                              camera.K.to(scene.dtype), W, H, near, far, eps2d)
    radii = p.radii[0].to(torch.int64)
    index = torch.nonzero((radii > 0).any(-1)).squeeze(1)  # what the compositor calls visible
    centre = p.means2d[0][index].detach()
    rx, ry = radii[index, 0], radii[index, 1]
    x0 = (centre[:, 0] - rx).floor().clamp(0, W).to(torch.int64)
    x1 = (centre[:, 0] + rx).ceil().clamp(0, W).to(torch.int64)
    y0 = (centre[:, 1] - ry).floor().clamp(0, H).to(torch.int64)
    y1 = (centre[:, 1] + ry).ceil().clamp(0, H).to(torch.int64)
    return index, x0, x1, y0, y1


def _pairs_per_row(x0: Tensor, x1: Tensor, y0: Tensor, y1: Tensor, height: int) -> Tensor:
    width = (x1 - x0).to(torch.float64)
    diff = torch.zeros(height + 1, dtype=torch.float64, device=width.device)
    diff.index_add_(0, y0, width)
    diff.index_add_(0, y1, -width)
    return diff.cumsum(0)[:height].cpu()


def row_pairs(scene: GaussianScene, camera: Cameras, near: float = 0.01, far: float = 1e10, eps2d: float = 0.3) -> Tensor:
    """Estimated (Gaussian, pixel) pairs in each image row of one camera.

    Returns:
        [H] float64: for each row, the summed bounding-box widths (pixels) of the Gaussians whose
        box spans that row.
    """
    _, x0, x1, y0, y1 = _boxes(scene, camera, near, far, eps2d)
    return _pairs_per_row(x0, x1, y0, y1, camera.height)


def band_rows(pairs_per_row: Tensor, max_pairs: int) -> list[tuple[int, int]]:
    """Split rows into consecutive bands ``[(y0, y1), ...]`` holding at most ``max_pairs``
    estimated pairs each (a single row over the budget is a band of its own)."""
    bands, start, total = [], 0, 0.0
    for y, n in enumerate(pairs_per_row.tolist()):
        if y > start and total + n > max_pairs:
            bands.append((start, y))
            start, total = y, 0.0
        total += n
    bands.append((start, len(pairs_per_row)))
    return bands


def render_in_bands(scene: GaussianScene, cameras: Cameras, max_pairs: int = MAX_PAIRS_PER_BAND, **kwargs) -> RenderOutput:
    """:func:`~lyra_sim.render.render` with memory bounded by ``max_pairs`` estimated pairs per
    call: each view whose estimate exceeds it is rendered in horizontal bands and stacked (the
    same image: pixels are independent). ``kwargs`` go to ``render`` (mode, background, near,
    far, backend, eps2d).

    Raises:
        InvalidInputError: a view larger than :data:`MAX_PIXELS`, or ``max_pairs`` < 1.
    """
    if max_pairs < 1:
        raise InvalidInputError(f"max_pairs must be >= 1, got {max_pairs}")
    if cameras.width * cameras.height > MAX_PIXELS:
        raise InvalidInputError(f"{cameras.width}x{cameras.height} is more than {MAX_PIXELS // 1_000_000} megapixels "
                                "per view; render a smaller size")
    near, far, eps2d = kwargs.get("near", 0.01), kwargs.get("far", 1e10), kwargs.get("eps2d", 0.3)
    if resolve_backend(kwargs.get("backend", "auto"), scene.device).startswith("gsplat") and "SD" not in kwargs.get("mode", "RGB"):
        return render(scene, cameras, **kwargs)
    views = []
    for v in range(len(cameras)):
        camera = cameras[v : v + 1]
        background = kwargs.get("background")
        view_kwargs = dict(kwargs)
        if background is not None and torch.as_tensor(background).ndim == 2:
            view_kwargs["background"] = torch.as_tensor(background)[v : v + 1]
        index, x0, x1, y0, y1 = _boxes(scene, camera, near, far, eps2d)
        per_row = _pairs_per_row(x0, x1, y0, y1, camera.height)
        # A row over the budget (splats as wide as the image) is cut into column slices too; the
        # estimate is spread evenly over them.
        slices = max(1, min(camera.width, math.ceil(float(per_row.max()) / max_pairs)))
        bands = band_rows(per_row / slices, max_pairs)
        if len(bands) == 1 and slices == 1:
            views.append(render(scene, camera, **view_kwargs))
            continue
        edges = [round(k * camera.width / slices) for k in range(slices + 1)]
        boxes = (index, x0, x1, y0, y1)
        parts = [_stack([_window(scene, camera, boxes, band, (a, b), view_kwargs) for a, b in zip(edges, edges[1:])], dim=2)
                 for band in bands]
        views.append(_stack(parts, dim=1))
    return _stack(views, dim=0)


def _window(scene: GaussianScene, camera: Cameras, boxes: tuple[Tensor, ...], rows: tuple[int, int],
            cols: tuple[int, int], kwargs: dict) -> RenderOutput:
    """One window of one view, rendered from only the Gaussians whose box meets it: each band
    projects its own share, not the whole scene again (2M splats in 30 bands would be projected
    30 times). The others give no pixel of the window, so the image is the same."""
    index, x0, x1, y0, y1 = boxes
    meets = (y0 < rows[1]) & (y1 > rows[0]) & (x0 < cols[1]) & (x1 > cols[0])
    mine = index[meets] if meets.any() else torch.zeros(1, dtype=torch.long, device=index.device)
    return render(scene[mine], camera, rows=rows, cols=cols, **kwargs)


def _stack(parts: list[RenderOutput], dim: int) -> RenderOutput:
    if len(parts) == 1:
        return parts[0]

    def cat(name: str):
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else torch.cat(values, dim=dim)

    return RenderOutput(rgb=cat("rgb"), alpha=cat("alpha"), depth=cat("depth"), surface_depth=cat("surface_depth"))
