"""GEN3C's 3D cache: lift an image with its depth to coloured points and warp them into new cameras.

GEN3C conditions its video DiT on the input image re-rendered along the target trajectory:
each pixel is unprojected with its (estimated) depth, depth edges are dropped because there
the depth is a blend of foreground and background, and the points are forward-warped into every
target camera by soft bilinear splatting (:mod:`lyra_sim.teachers.forward_splat`). What
nothing lands on stays empty (black, mask 0) for the DiT to fill in. This module does all of it
in torch, on any device.

Conventions: OpenCV cameras (:class:`~lyra_sim.cameras.Cameras`), pixel centres at
(j + 0.5, i + 0.5), z-depth along the optical axis in scene units, images in [0, 1] (GEN3C works
in [-1, 1], where its empty value -1 is our 0).

Options taken from GEN3C (numbers in ``gen3c-facts.md`` §2):

* depth-edge filter: a pixel is reliable where ``(max5 - min5) / mean5 < 0.05`` over its 5 x 5
  window (``filter_points_threshold``); unreliable pixels are not splatted.
* foreground masking (``--foreground_masking`` in Lyra's SDG): a triangle mesh over the source
  grid cells touching a depth edge (at 1/4 resolution) is rendered into each target camera;
  pixels whose splatted depth lies more than 0.02 behind that mesh are emptied. This removes
  background that bleeds through the gaps of stretched foreground edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from lyra_sim.cameras import Cameras, project_points, unproject_depth
from lyra_sim.errors import InvalidInputError
from lyra_sim.render.mesh_zbuffer import rasterize_triangles
from lyra_sim.teachers.forward_splat import splat_points


@dataclass
class Cache3DCfg:
    """How the 3D cache filters its points and renders them (defaults: Lyra's SDG settings)."""

    filter_points_threshold: float = 0.05
    """Depth-edge filter: source pixels whose 5x5 relative depth range ``(max - min) / mean`` is
    not below this are not splatted; 1 or more disables the filter. Defaults to 0.05 (GEN3C SDG)."""

    filter_window: int = 5
    """Window of the depth-edge filter, in pixels (odd). Defaults to 5."""

    reference_height: int = 704
    """Image height (rows) at which the two depth-edge thresholds hold as given: GEN3C's cache
    runs at 704 x 1280. In an H-row image every pixel spans about reference_height / H times more
    depth (a floor seen at a grazing angle would otherwise be dropped whole at Lyra's 176 rows), so
    the thresholds are multiplied by max(1, reference_height / H); 0 disables this. Defaults to 704."""

    depth_weight_scale: float = 50.0
    """Sharpness of the soft z-test of the splatting (see :mod:`~lyra_sim.teachers.forward_splat`);
    0 averages all points landing on a pixel. Defaults to 50."""

    max_depth: float = 100.0
    """Depths are clamped to this for the splatting weights (GEN3C's cache clamps to 100).
    Defaults to 100."""

    foreground_masking: bool = False
    """Empty pixels whose splatted depth lies behind the mesh of the source's depth-edge cells
    (GEN3C's ``--foreground_masking``, on in Lyra's SDG). Defaults to False."""

    foreground_margin: float = 0.02
    """How far behind the edge mesh (scene units) a pixel must be to be emptied. Defaults to 0.02."""

    foreground_edge_threshold: float = 0.05
    """Relative depth range (as ``filter_points_threshold``) that marks the depth-edge cells of
    the foreground mesh. Defaults to 0.05."""

    mesh_stride: int = 4
    """Source pixels between the foreground mesh's vertices (GEN3C: 1/4 resolution). Defaults to 4."""


@dataclass
class WarpedFrames:
    """The cache rendered into T cameras of size H x W.

    Attributes:
        frames: [T, 3, H, W] colours in [0, 1]; 0 (black) where empty.
        masks: [T, H, W] bool, True where some source point landed (GEN3C's warped mask).
        depth: [T, H, W] splatted z-depth in each target camera; 0 where empty.
    """

    frames: Tensor
    masks: Tensor
    depth: Tensor


def reliable_depth_mask(depth: Tensor, window: int = 5, ratio_threshold: float = 0.05) -> Tensor:
    """Pixels away from depth edges: ``(max - min) / mean < ratio_threshold`` over a window.

    GEN3C's ``reliable_depth_mask_range_batch``, except that the mean ignores the padding
    outside the image (GEN3C's counts it as zeros, which marks a border band unreliable).

    Args:
        depth: [..., H, W] z-depth, 0 (or less) where unknown.

    Returns:
        [..., H, W] bool; unknown pixels and their neighbours are unreliable.
    """
    shape = depth.shape
    d = depth.reshape(-1, 1, *shape[-2:]).float()
    pad = window // 2
    hi = F.max_pool2d(d, window, stride=1, padding=pad)
    lo = -F.max_pool2d(-d, window, stride=1, padding=pad)
    mean = F.avg_pool2d(d, window, stride=1, padding=pad, count_include_pad=False)
    ratio = (hi - lo) / mean.clamp(min=1e-12)
    return ((ratio < ratio_threshold) & (lo > 0)).reshape(shape)


def forward_warp(
    images: Tensor,
    depths: Tensor,
    source: Cameras,
    target: Cameras,
    masks: Tensor | None = None,
    cfg: Cache3DCfg | None = None,
) -> WarpedFrames:
    """Warp source views with depth into target cameras.

    Args:
        images: [S, 3, Hs, Ws] source colours in [0, 1].
        depths: [S, Hs, Ws] source z-depth, 0 where unknown.
        source: S source cameras (size Ws x Hs).
        target: T target cameras (their own size). S == 1 warps the one source into every target
            (an image teacher); S == T warps source t into target t (GEN3C's video cache).
        masks: [S, Hs, Ws] bool, source pixels to use (e.g. a depth estimator's validity mask).
        cfg: filtering and rendering options. Defaults to :class:`Cache3DCfg` ().

    Returns:
        :class:`WarpedFrames` on the images' device.
    """
    cfg = cfg or Cache3DCfg()
    S, T = images.shape[0], len(target)
    if images.ndim != 4 or images.shape[1] != 3 or depths.shape != (S, *images.shape[-2:]):
        raise InvalidInputError(f"need images [S, 3, H, W] and depths [S, H, W]; got {tuple(images.shape)} and {tuple(depths.shape)}")
    if len(source) != S or (source.height, source.width) != tuple(images.shape[-2:]):
        raise InvalidInputError(f"{len(source)} source cameras of {source.width}x{source.height} for {S} images of {tuple(images.shape[-2:])}")
    if S not in (1, T):
        raise InvalidInputError(f"warp one source into every target or source t into target t; got {S} sources, {T} targets")
    device = images.device
    valid = depths > 0
    if masks is not None:
        valid &= masks.to(device=device, dtype=torch.bool)
    splat_ok = valid
    if cfg.filter_points_threshold < 1:
        splat_ok = valid & reliable_depth_mask(depths, cfg.filter_window, _threshold(cfg.filter_points_threshold, depths, cfg))
    points = torch.stack([unproject_depth(depths[s].float(), source.K[s].float().to(device), source.c2w[s].float().to(device)) for s in range(S)])
    H, W = target.height, target.width
    w2c = target.w2c.float().to(device)
    Kt = target.K.float().to(device)
    frames = torch.zeros(T, 3, H, W, device=device)
    out_masks = torch.zeros(T, H, W, dtype=torch.bool, device=device)
    out_depth = torch.zeros(T, H, W, device=device)
    for t in range(T):
        s = 0 if S == 1 else t
        sel = splat_ok[s]
        uv, z = project_points(points[s][sel], w2c[t], Kt[t])
        res = splat_points(uv, z, images[s].float().permute(1, 2, 0)[sel], H, W,
                           depth_weight_scale=cfg.depth_weight_scale, max_depth=cfg.max_depth)
        mask = res.mask
        if cfg.foreground_masking:
            mesh_z = foreground_mesh_depth(points[s], depths[s], valid[s], w2c[t], Kt[t], H, W, cfg)
            mask = mask & ~(mesh_z + cfg.foreground_margin < res.depth)
        frames[t] = torch.where(mask, res.image, torch.zeros(()))
        out_masks[t] = mask
        out_depth[t] = torch.where(mask, res.depth, torch.zeros(()))
    return WarpedFrames(frames.to(images.dtype), out_masks, out_depth)


def _threshold(threshold: float, depth: Tensor, cfg: Cache3DCfg) -> float:
    """A depth-edge threshold given at ``cfg.reference_height`` rows, for ``depth [..., H, W]``."""
    if cfg.reference_height <= 0:
        return threshold
    return threshold * max(1.0, cfg.reference_height / depth.shape[-2])


def foreground_mesh_depth(
    points: Tensor, depth: Tensor, valid: Tensor, w2c: Tensor, K: Tensor, height: int, width: int, cfg: Cache3DCfg
) -> Tensor:
    """Depth in one target camera of the mesh over the source's depth-edge cells (foreground masking).

    Args:
        points: [Hs, Ws, 3] the source's world points.
        depth: [Hs, Ws] the source depth (finds the edges).
        valid: [Hs, Ws] bool, source pixels with usable depth (mesh vertices).
        w2c, K: the target camera.

    Returns:
        [H, W] z-depth of the nearest mesh triangle, +inf where none.
    """
    s = cfg.mesh_stride
    edges = ~reliable_depth_mask(depth, cfg.filter_window, _threshold(cfg.foreground_edge_threshold, depth, cfg))
    # Cell (a, b) spans source pixels [a*s, (a+1)*s] x [b*s, (b+1)*s]: a (s+1)-window with stride s.
    touches = F.max_pool2d(edges[None, None].float(), s + 1, stride=s)[0, 0] > 0
    ca, cb = touches.shape
    vert = points[: ca * s + 1 : s, : cb * s + 1 : s]  # [ca+1, cb+1, 3]
    vok = valid[: ca * s + 1 : s, : cb * s + 1 : s]
    uv, z = project_points(vert, w2c, K)
    uvz = torch.cat([uv, z[..., None]], dim=-1)
    ok = vok & (z > 0)
    a, b = torch.nonzero(touches, as_tuple=True)
    tl, tr, bl, br = (uvz[a, b], uvz[a, b + 1], uvz[a + 1, b], uvz[a + 1, b + 1])
    ktl, ktr, kbl, kbr = (ok[a, b], ok[a, b + 1], ok[a + 1, b], ok[a + 1, b + 1])
    tris = torch.cat([torch.stack([tl, tr, bl], 1)[ktl & ktr & kbl], torch.stack([tr, br, bl], 1)[ktr & kbr & kbl]])
    return rasterize_triangles(tris, height, width)[0]


class Cache3D:
    """One image lifted to coloured points, rendered into any cameras (GEN3C's single-image cache).

    Args:
        image: [3, H, W] colours in [0, 1].
        depth: [H, W] z-depth (scene units), 0 where unknown.
        K: [3, 3] intrinsics of the image in pixels.
        c2w: [4, 4] the image's camera-to-world; None: identity (the scene frame is the input
            camera's frame, as in Lyra). Defaults to None.
        mask: [H, W] bool, pixels whose depth to trust (a depth estimator's mask); None: depth > 0.
        cfg: filtering and rendering options. Defaults to :class:`Cache3DCfg` ().
    """

    def __init__(self, image: Tensor, depth: Tensor, K: Tensor, c2w: Tensor | None = None, mask: Tensor | None = None,
                 cfg: Cache3DCfg | None = None):
        if image.ndim != 3 or image.shape[0] != 3 or depth.shape != image.shape[-2:]:
            raise InvalidInputError(f"need image [3, H, W] and depth [H, W]; got {tuple(image.shape)} and {tuple(depth.shape)}")
        H, W = depth.shape
        c2w = torch.eye(4, device=K.device) if c2w is None else c2w
        self.image, self.depth, self.mask = image, depth, mask
        self.camera = Cameras(c2w.float(), K.float(), W, H)
        self.cfg = cfg or Cache3DCfg()

    @classmethod
    def from_estimate(cls, image: Tensor, estimate, c2w: Tensor | None = None, cfg: Cache3DCfg | None = None) -> Cache3D:
        """The cache of ``image`` with a :class:`~lyra_sim.teachers.depth.DepthEstimate` of it."""
        return cls(image, estimate.depth, estimate.K, c2w, estimate.mask, cfg)

    def points(self) -> tuple[Tensor, Tensor]:
        """(points [N, 3] in the world frame, colours [N, 3]) of the pixels that are splatted."""
        valid = self.depth > 0
        if self.mask is not None:
            valid &= self.mask.bool()
        if self.cfg.filter_points_threshold < 1:
            threshold = _threshold(self.cfg.filter_points_threshold, self.depth, self.cfg)
            valid &= reliable_depth_mask(self.depth, self.cfg.filter_window, threshold)
        pts = unproject_depth(self.depth.float(), self.camera.K[0], self.camera.c2w[0])
        return pts[valid], self.image.permute(1, 2, 0)[valid]

    def render(self, cameras: Cameras) -> WarpedFrames:
        """Warp the image into ``cameras`` (T cameras, any image size): frames, masks, depth."""
        masks = None if self.mask is None else self.mask[None]
        return forward_warp(self.image[None], self.depth[None], self.camera, cameras, masks, self.cfg)
