"""Pure-torch sparse alpha compositor: the CPU twin of gsplat's ``rasterize_to_pixels``.

For every pixel, the Gaussians covering it are blended front to back exactly as gsplat does:

    alpha_i = min(0.999, o_i * exp(-sigma_i)),   skipped if sigma_i < 0 or alpha_i < 1/255
    T_i     = prod_{j < i} (1 - alpha_j)         (stop before the Gaussian that would make T <= 1e-4)
    C       = sum_i alpha_i T_i c_i + T_final * background

Instead of tiles and shared memory, the work is a flat list of (Gaussian, pixel) pairs:

1. for each visible Gaussian, the pixel rows of its bounding box, and in each row the exact
   span where alpha can reach 1/255 (a quadratic in x), so almost no pair is wasted;
2. pairs are generated Gaussian by Gaussian in depth order, then stably sorted by pixel, which
   leaves each pixel's Gaussians contiguous and front to back;
3. per-pixel exclusive transmittance is a segmented cumulative sum of ``log(1 - alpha)`` (in
   float64, because a global prefix sum over millions of pairs loses float32 precision);
4. ``index_add_`` scatters ``alpha T c`` into the image.

Autograd differentiates all of it, so gradients reach every Gaussian parameter. Memory is about
200 bytes per pair with the backward graph: keep pairs in the low millions per call.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from lyra_sim.render.projection import ALPHA_THRESHOLD, ProjectedGaussians

MAX_ALPHA = 0.999
"""Per-Gaussian alpha cap (gsplat/3DGS), keeps log(1 - alpha) finite."""
TRANSMITTANCE_EPS = 1e-4
"""A pixel is finished once its transmittance would fall to this (the Gaussian is excluded)."""
SURFACE_OPACITY = 0.5
"""A ray meets the surface where its accumulated opacity crosses this (median depth)."""


@dataclass
class SurfaceHits:
    """For every pixel whose accumulated opacity reaches :data:`SURFACE_OPACITY`, the Gaussian
    where it does (the pixel's median-depth Gaussian). Pixels that stay more transparent have
    no entry: their rays meet no surface.

    Attributes:
        pixel: [S] flat index over V * H * W.
        view: [S] camera index.
        gaussian: [S] index into the N Gaussians.
    """

    pixel: Tensor
    view: Tensor
    gaussian: Tensor


def _expand(counts: Tensor) -> tuple[Tensor, Tensor]:
    """For integer ``counts [M]``, return (owner [S], rank within owner [S]), S = counts.sum()."""
    owner = torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(owner.numel(), device=counts.device) - starts[owner]
    return owner, rank


@torch.no_grad()
def _pixel_pairs(
    attrs: Tensor, radii: Tensor, view_idx: Tensor, width: int, height: int
) -> tuple[Tensor, Tensor]:
    """Every (Gaussian, pixel) pair whose alpha can reach 1/255, grouped by pixel, front to back.

    Args (M visible Gaussians, sorted by view then depth):
        attrs: [M, 6] (mx, my, a, b, c, o): projected centre, conic, opacity.
        radii: [M, 2] bounding-box half sizes in pixels.
        view_idx: [M] camera of each Gaussian.

    Returns:
        owner [P] (index into the M Gaussians) and pix [P] (flat index over V*H*W,
        non-decreasing); within one pixel the owners keep their depth order.
    """
    mx, my, a, b, c, o = attrs.unbind(-1)
    # Rows whose pixel centres (i + 0.5) fall inside the box.
    y0 = torch.ceil(my - radii[:, 1] - 0.5).clamp(min=0)
    y1 = torch.floor(my + radii[:, 1] - 0.5).clamp(max=height - 1)
    row_owner, row_rank = _expand((y1 - y0 + 1).clamp(min=0).long())
    py = y0.long()[row_owner] + row_rank
    # Inside a row, 0.5 * (a dx^2 + 2 b dx dy + c dy^2) <= ln(o / (1/255)) is an interval in dx,
    # so only pixels that can pass the alpha test become pairs (about pi/4 of the box or less).
    dy = py.to(attrs.dtype) + 0.5 - my[row_owner]
    ar, br, cr = a[row_owner], b[row_owner], c[row_owner]
    limit = 2.0 * torch.log((o[row_owner] / ALPHA_THRESHOLD).clamp(min=1.0))
    disc = (br * dy) ** 2 - ar * (cr * dy * dy - limit)
    half = torch.sqrt(disc.clamp(min=0)) / ar
    centre = mx[row_owner] - br * dy / ar
    slack = 1e-3  # the exact alpha test is applied per pair later; never lose a pixel to rounding
    rx = radii[row_owner, 0].to(attrs.dtype)
    x0 = torch.maximum(torch.ceil(centre - half - slack - 0.5), torch.ceil(mx[row_owner] - rx - 0.5)).clamp(min=0)
    x1 = torch.minimum(torch.floor(centre + half + slack - 0.5), torch.floor(mx[row_owner] + rx - 0.5)).clamp(max=width - 1)
    spans = torch.where(disc >= 0, x1 - x0 + 1, torch.zeros_like(x0)).clamp(min=0).long()
    # Flat pixel index of each row's first pixel; a pair is that plus its rank in the row.
    row_pix = (view_idx[row_owner] * height + py) * width + x0.long()
    pair_row, pair_rank = _expand(spans)
    pix = row_pix[pair_row] + pair_rank
    # Pairs were made Gaussian by Gaussian in depth order; a stable sort by pixel keeps that order.
    if pix.numel() and int(pix.max()) < 2**31:
        pix = pix.to(torch.int32)  # the sort is markedly faster on 32-bit keys
    pix, perm = torch.sort(pix, stable=True)
    return row_owner[pair_row[perm]], pix.long()


def _segments(pix: Tensor) -> tuple[Tensor, Tensor]:
    """For pixel-grouped pairs: (segment id of each pair [P], index of each segment's first pair [S])."""
    is_start = torch.ones_like(pix, dtype=torch.bool)
    is_start[1:] = pix[1:] != pix[:-1]
    return torch.cumsum(is_start, 0) - 1, is_start.nonzero().squeeze(1)


class _Composite(torch.autograd.Function):
    """Front-to-back blending of pixel-sorted pairs, with a closed-form backward pass.

    Autograd through the dozen per-pair tensors of the forward formula costs several times the
    forward in time and memory; the backward below (the one gsplat's CUDA kernel implements)
    reuses the forward's per-pair alpha and transmittance. Per-pair data is kept channels-first
    ([K, P], each row contiguous) because strided column views make every elementwise op slow.
    """

    @staticmethod
    def forward(ctx, attrs: Tensor, colors: Tensor, owner: Tensor, pix: Tensor, width: int, height: int, num_pixels: int):
        # attrs [6, M] = (mx, my, a, b, c, o); colors [D, M].
        mx, my, a, b, c, o = attrs.index_select(1, owner)  # six contiguous [P] rows
        dx = mx - ((pix % width).to(attrs.dtype) + 0.5)
        dy = my - (((pix // width) % height).to(attrs.dtype) + 0.5)
        sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
        alpha = torch.clamp_max(o * torch.exp(-sigma), MAX_ALPHA)
        alpha = torch.where((sigma >= 0) & (alpha >= ALPHA_THRESHOLD), alpha, torch.zeros_like(alpha))

        log_trans = torch.log1p(-alpha).double()
        exclusive = torch.cumsum(log_trans, 0) - log_trans
        segment, first = _segments(pix)
        trans = torch.exp(exclusive - exclusive[first][segment]).to(alpha.dtype)  # T_i before pair i
        # gsplat stops a pixel before the Gaussian that would drop its transmittance to 1e-4.
        weights = alpha * trans * (trans * (1.0 - alpha) > TRANSMITTANCE_EPS)
        pair_colors = colors.index_select(1, owner)  # [D, P]
        out = colors.new_zeros(colors.shape[0], num_pixels).index_add_(1, pix, pair_colors * weights)
        acc = alpha.new_zeros(num_pixels).index_add_(0, pix, weights)
        # The pair where the accumulated opacity crosses SURFACE_OPACITY (at most one per pixel):
        # the surface the ray meets (median depth, as 2DGS/GOF mesh it).
        crossing = (weights > 0) & (trans > SURFACE_OPACITY) & (trans * (1.0 - alpha) <= SURFACE_OPACITY)
        ctx.mark_non_differentiable(crossing)
        ctx.save_for_backward(a, b, c, o, pair_colors, owner, pix, dx, dy, alpha, trans, weights, segment, first)
        ctx.num_gaussians = attrs.shape[1]
        return out, acc, crossing

    @staticmethod
    def backward(ctx, grad_out: Tensor, grad_acc: Tensor, _grad_crossing):
        a, b, c, o, pair_colors, owner, pix, dx, dy, alpha, trans, weights, segment, first = ctx.saved_tensors
        D, P, M = pair_colors.shape[0], pix.numel(), ctx.num_gaussians
        g_pix = grad_out.index_select(1, pix)  # [D, P]; pix is sorted, so this read is sequential
        # Each pair's "value" G: how much the loss changes per unit of its blending weight.
        value = (g_pix * pair_colors).sum(0) + grad_acc.index_select(0, pix)
        # d(sum_j w_j G_j)/d alpha_i = T_i G_i - (sum_{j>i} w_j G_j) / (1 - alpha_i), j in i's pixel.
        inclusive = torch.cumsum((weights * value).double(), 0)
        last = torch.cat([first[1:] - 1, first.new_tensor([P - 1])])
        behind = (inclusive[last][segment] - inclusive).to(alpha.dtype)
        live = (weights > 0) & (alpha < MAX_ALPHA)  # clamped or dropped pairs pass no gradient to alpha
        d_alpha = torch.where(live, trans * value - behind / (1.0 - alpha), torch.zeros_like(alpha))
        d_sigma = -alpha * d_alpha  # alpha = o exp(-sigma) where unclamped
        # One scatter for all per-Gaussian gradients: (mx, my, a, b, c, o), then the colours.
        per_pair = alpha.new_empty(6 + D, P)
        torch.mul(a * dx + b * dy, d_sigma, out=per_pair[0])  # dx = mx - pixel x
        torch.mul(c * dy + b * dx, d_sigma, out=per_pair[1])
        torch.mul(0.5 * dx * dx, d_sigma, out=per_pair[2])
        torch.mul(dx * dy, d_sigma, out=per_pair[3])
        torch.mul(0.5 * dy * dy, d_sigma, out=per_pair[4])
        torch.mul(alpha / o, d_alpha, out=per_pair[5])
        torch.mul(g_pix, weights, out=per_pair[6:])
        grads = per_pair.new_zeros(6 + D, M).index_add_(1, owner, per_pair)
        return grads[:6], grads[6:], None, None, None, None, None


def rasterize_torch(
    projected: ProjectedGaussians,
    opacities: Tensor,
    colors: Tensor,
    width: int,
    height: int,
    backgrounds: Tensor | None = None,
    surface: bool = False,
) -> tuple[Tensor, Tensor, SurfaceHits | None]:
    """Blend projected Gaussians into V images.

    Args:
        projected: screen-space Gaussians for V cameras (N each).
        opacities: [N] in [0, 1].
        colors: [V, N, D] per-view values to blend (RGB, and depth as an extra channel).
        backgrounds: [V, D] added with the remaining transmittance, or None for zeros.
        surface: also find each pixel's surface Gaussian (:class:`SurfaceHits`).

    Returns:
        images [V, H, W, D], alphas [V, H, W, 1] (alpha = 1 - final transmittance), and the
        surface hits (None unless ``surface``).
    """
    V, N = projected.depths.shape
    D = colors.shape[-1]
    H, W = height, width

    with torch.no_grad():
        visible = (projected.radii[..., 0] > 0) | (projected.radii[..., 1] > 0)  # [V, N]
        view_idx, gauss_idx = visible.nonzero(as_tuple=True)
        # Depth order within each view (views stay in order): the stable pixel sort keeps it.
        order = torch.argsort(projected.depths.detach()[view_idx, gauss_idx], stable=True)
        order = order[torch.argsort(view_idx[order], stable=True)]
        view_idx, gauss_idx = view_idx[order], gauss_idx[order]
        flat_idx = view_idx * N + gauss_idx

    # Per visible Gaussian (M of them), with gradients, channels first:
    # attrs [6, M] = (mx, my, a, b, c, o) and colours [D, M].
    attrs = torch.cat(
        [
            projected.means2d.reshape(V * N, 2).index_select(0, flat_idx).T,
            projected.conics.reshape(V * N, 3).index_select(0, flat_idx).T,
            opacities.index_select(0, gauss_idx)[None],
        ],
        dim=0,
    )
    col = colors.reshape(V * N, D).index_select(0, flat_idx).T.contiguous()
    owner, pix = _pixel_pairs(attrs.detach().T, projected.radii.reshape(V * N, 2).index_select(0, flat_idx), view_idx, W, H)
    out, acc, crossing = _Composite.apply(attrs, col, owner, pix, W, H, V * H * W)
    hits = None
    if surface:
        sel = crossing.nonzero().squeeze(1)
        g = flat_idx[owner[sel]]
        hits = SurfaceHits(pixel=pix[sel], view=g // N, gaussian=g % N)
    images = out.T.reshape(V, H, W, D)
    alphas = acc.view(V, H, W, 1)
    if backgrounds is not None:
        images = images + (1.0 - alphas) * backgrounds.view(V, 1, 1, D)
    return images, alphas, hits
