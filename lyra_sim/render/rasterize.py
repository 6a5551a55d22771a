"""`render()`: Gaussians + cameras -> RGB, alpha and expected depth, on CPU or GPU.

One public function; the backend is chosen below it. ``backend="auto"`` uses gsplat's CUDA
kernels when the scene is on a CUDA device and gsplat works, and otherwise the pure-torch
compositor (:mod:`lyra_sim.render.torch_backend`), which computes the same function and is what
CPU users and the test suite run. ``bench/render_parity.py`` compares the two on a GPU.
"""

from __future__ import annotations

import dataclasses

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from lyra_sim.cameras import Cameras
from lyra_sim.errors import InvalidInputError, LyraSimError
from lyra_sim.gaussians import GaussianScene, eval_sh
from lyra_sim.render.gsplat_backend import gsplat_available, rasterize_gsplat
from lyra_sim.render.projection import project_gaussians
from lyra_sim.render.surface import ray_hit_depth, scatter_depth
from lyra_sim.render.torch_backend import rasterize_torch

RenderMode = Literal["RGB", "RGB+ED", "RGB+SD", "RGB+ED+SD"]
"""What to render besides colour and alpha: "ED" expected depth, "SD" surface depth."""
RENDER_MODES = ("RGB", "RGB+ED", "RGB+SD", "RGB+ED+SD")
Backend = Literal["auto", "torch", "gsplat", "gsplat-3dgut"]


@dataclass
class RenderOutput:
    """Rendered images for V cameras.

    Attributes:
        rgb: [V, H, W, 3] colour, background blended in by the remaining transmittance.
        alpha: [V, H, W, 1] accumulated opacity in [0, 1].
        depth: [V, H, W, 1] expected camera-space z (``sum w z / alpha``, scene units; 0 where
            nothing was hit), or None unless the mode has "ED".
        surface_depth: [V, H, W, 1] camera z where the ray meets the surface (accumulated
            opacity crosses 0.5, at the hit Gaussian's point of maximum density along the ray;
            :mod:`lyra_sim.render.surface`); 0 where the ray stays more transparent (no
            surface); None unless the mode has "SD".
    """

    rgb: Tensor
    alpha: Tensor
    depth: Tensor | None = None
    surface_depth: Tensor | None = None


def resolve_backend(backend: Backend, device: torch.device) -> str:
    """The backend ``render`` will use for tensors on ``device``."""
    if backend == "auto":
        return "gsplat" if device.type == "cuda" and gsplat_available() else "torch"
    if backend in ("gsplat", "gsplat-3dgut"):
        if device.type != "cuda":
            raise InvalidInputError(f"backend {backend!r} needs the scene on a CUDA device; use backend='torch' on CPU")
        if not gsplat_available():
            raise LyraSimError("gsplat is not usable here (no CUDA or it failed to import); install gsplat with CUDA or use backend='torch'")
        return backend
    if backend == "torch":
        return backend
    raise InvalidInputError(f"unknown backend {backend!r}; choose auto, torch, gsplat or gsplat-3dgut")


def render(
    scene: GaussianScene,
    cameras: Cameras,
    mode: RenderMode = "RGB",
    background: Tensor | tuple[float, float, float] | None = None,
    near: float = 0.01,
    far: float = 1e10,
    backend: Backend = "auto",
    eps2d: float = 0.3,
    rows: tuple[int, int] | None = None,
    cols: tuple[int, int] | None = None,
) -> RenderOutput:
    """Render ``scene`` from every camera; differentiable w.r.t. all Gaussian parameters.

    Args:
        scene: N Gaussians (any SH degree); colour is evaluated per view from the SH.
        cameras: V cameras (OpenCV), same device as the scene.
        mode: "RGB"; "+ED" adds the alpha-normalised expected depth (Lyra's depth target);
            "+SD" adds the surface depth (median depth, for meshing and colliders). gsplat has no
            median-depth mode, so "SD" modes always run the torch compositor (on the scene's
            device, CUDA included); ``bench/render_parity.py`` checks it against gsplat's depth.
        background: RGB [3] or [V, 3] in [0, 1]; black when None. Lyra renders on white (1, 1, 1).
        near, far: clip planes on camera z (Lyra: 0.1 and 500).
        backend: "auto", "torch" (CPU/GPU, pure torch), "gsplat" (CUDA, classic EWA) or
            "gsplat-3dgut" (CUDA, the unscented transform Lyra trains with; not a twin of "torch").
        eps2d: screen-space low-pass blur in px^2 (0.3 as in 3DGS).
        rows, cols: ``(y0, y1)`` / ``(x0, x1)``: render only that window of the image (torch
            compositor), exactly as it is in the whole image; memory then scales with the window
            (:func:`lyra_sim.render.bands.render_in_bands`). None: all rows / all columns.

    Returns:
        RenderOutput with rgb [V, H, W, 3], alpha [V, H, W, 1] and depth [V, H, W, 1] or None
        (H = y1 - y0 with ``rows``, W = x1 - x0 with ``cols``).
    """
    if mode not in RENDER_MODES:
        raise InvalidInputError(f"mode must be one of {', '.join(RENDER_MODES)}, got {mode!r}")
    if cameras.device != scene.device:
        raise InvalidInputError(f"cameras are on {cameras.device} but the scene is on {scene.device}; move one with .to()")
    if not 0 <= near < far:
        raise InvalidInputError(f"need 0 <= near < far, got near={near}, far={far}")
    which = resolve_backend(backend, scene.device)
    want_ed, want_sd = "ED" in mode, "SD" in mode
    if rows is not None or cols is not None:
        for name, span, size in (("rows", rows, cameras.height), ("cols", cols, cameras.width)):
            if span is not None and not 0 <= span[0] < span[1] <= size:
                raise InvalidInputError(f"{name} must satisfy 0 <= start < stop <= {size}, got {span}")
        if which.startswith("gsplat"):
            if backend != "auto":
                raise InvalidInputError("rendering a window (rows=/cols=) is done by the torch compositor; use backend='auto' or 'torch'")
            which = "torch"
    if want_sd and which.startswith("gsplat"):
        if backend != "auto":
            raise InvalidInputError(f"surface depth (mode {mode!r}) is computed by the torch compositor; use backend='auto' or 'torch'")
        which = "torch"
    V, dtype = len(cameras), scene.dtype
    viewmats = cameras.w2c.to(dtype)
    Ks = cameras.K.to(dtype)
    bg = None
    if background is not None:
        bg = torch.as_tensor(background, dtype=dtype, device=scene.device)
        if bg.shape == (3,):
            bg = bg.expand(V, 3)
        if bg.shape != (V, 3):
            raise InvalidInputError(f"background must be [3] or [V, 3], got {list(bg.shape)}")

    if which.startswith("gsplat"):
        colors, alphas = rasterize_gsplat(
            scene.means, scene.quats, scene.scales, scene.opacities, scene.sh, viewmats, Ks,
            cameras.width, cameras.height, mode, bg, near, far, eps2d, use_3dgut=which == "gsplat-3dgut",
        )
        hits = None
    else:
        projected = project_gaussians(
            scene.means, scene.quats, scene.scales, scene.opacities, viewmats, Ks,
            cameras.width, cameras.height, near, far, eps2d,
        )
        if scene.sh_degree == 0:
            colors = eval_sh(scene.sh, scene.means)[None].expand(V, -1, -1)
        else:
            dirs = scene.means[None] - cameras.centers.to(dtype)[:, None]  # [V, N, 3]
            colors = eval_sh(scene.sh[None].expand(V, -1, -1, -1), dirs)
        if want_ed:
            colors = torch.cat([colors, projected.depths[..., None]], dim=-1)
            if bg is not None:
                bg = torch.cat([bg, bg.new_zeros(V, 1)], dim=-1)
        (x0, x1), (y0, y1) = cols or (0, cameras.width), rows or (0, cameras.height)
        width, height = x1 - x0, y1 - y0
        if (x0, y0) != (0, 0):  # the same projection, seen through a window: exact per pixel
            shift = projected.means2d.new_tensor([float(x0), float(y0)])
            projected = dataclasses.replace(projected, means2d=projected.means2d - shift)
            Ks = Ks.clone()
            Ks[:, 0, 2] -= x0
            Ks[:, 1, 2] -= y0
        colors, alphas, hits = rasterize_torch(projected, scene.opacities, colors, width, height, bg, surface=want_sd)

    out = RenderOutput(rgb=colors[..., :3], alpha=alphas)
    if want_ed:
        out.depth = colors[..., 3:4] / alphas.clamp(min=1e-10)
    if want_sd:
        hit_z = ray_hit_depth(hits, scene.means, scene.quats, scene.scales, viewmats, Ks, width, height)
        out.surface_depth = scatter_depth(hits, hit_z, V, width, height)
    return out
