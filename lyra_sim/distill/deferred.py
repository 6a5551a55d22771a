"""Deferred backpropagation through the renderer (GS-LRM / Long-LRM; Lyra ``DeferredBP``).

Rendering V target views with autograd keeps every view's rasterisation graph alive until
``backward``, so memory grows with V. Deferred backpropagation splits the work:

1. forward: render every view (a chunk of views at a time) under ``no_grad`` and return plain
   images; the loss is then computed on these images with autograd as usual, which costs only
   image-sized memory (the loss graph: MSE, SSIM, depth normalisation, LPIPS);
2. backward: autograd hands back d(loss)/d(image) for every view; re-render each chunk *with*
   grad from detached copies of the Gaussians and backpropagate that chunk's image gradients
   into them, accumulating; then return the accumulated Gaussian gradients to the decoder.

The gradients equal plain backpropagation exactly (up to float summation order): each view's
image depends on the Gaussians only through its own rasterisation, and the loss-to-image
gradients are computed on the full set of views, so even a loss that coupled views would be
handled. Peak memory is one chunk's rasterisation graph plus the images.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lyra_sim.cameras import Cameras
from lyra_sim.gaussians import GaussianScene
from lyra_sim.render import RenderOutput, render


def render_views(
    scene: GaussianScene,
    cameras: Cameras,
    background: Tensor | tuple[float, float, float] | None = (1.0, 1.0, 1.0),
    near: float = 0.1,
    far: float = 500.0,
    deferred: bool = True,
    chunk: int = 1,
    backend: str = "auto",
) -> RenderOutput:
    """Render ``scene`` from every camera in mode "RGB+ED", differentiably.

    Args:
        scene: N Gaussians whose tensors may require grad (decoder outputs).
        cameras: V target cameras, same device.
        background: white by default, as Lyra trains.
        deferred: deferred backpropagation (memory independent of V); False renders all views
            in one differentiable call.
        chunk: views rendered together in the deferred forward/backward passes.

    Returns:
        RenderOutput with rgb [V, H, W, 3], alpha [V, H, W, 1], depth [V, H, W, 1].
    """
    if not deferred:
        return render(scene, cameras, "RGB+ED", background, near, far, backend)
    settings = (cameras, background, near, far, max(1, int(chunk)), backend)
    rgb, alpha, depth = _DeferredRender.apply(settings, scene.means, scene.quats, scene.scales, scene.opacities, scene.sh)
    return RenderOutput(rgb=rgb, alpha=alpha, depth=depth)


class _DeferredRender(torch.autograd.Function):
    @staticmethod
    def forward(ctx, settings, means, quats, scales, opacities, sh):
        cameras, background, near, far, chunk, backend = settings
        scene = GaussianScene(means, quats, scales, opacities, sh)
        outs = [render(scene, cameras[i : i + chunk], "RGB+ED", background, near, far, backend) for i in range(0, len(cameras), chunk)]
        ctx.settings = settings
        ctx.save_for_backward(means, quats, scales, opacities, sh)
        return tuple(torch.cat([getattr(o, k) for o in outs]) for k in ("rgb", "alpha", "depth"))

    @staticmethod
    def backward(ctx, grad_rgb, grad_alpha, grad_depth):
        cameras, background, near, far, chunk, backend = ctx.settings
        leaves = [t.detach().requires_grad_(need) for t, need in zip(ctx.saved_tensors, ctx.needs_input_grad[1:])]
        with torch.enable_grad():
            for i in range(0, len(cameras), chunk):
                out = render(GaussianScene(*leaves), cameras[i : i + chunk], "RGB+ED", background, near, far, backend)
                pairs = [(o, g[i : i + chunk]) for o, g in ((out.rgb, grad_rgb), (out.alpha, grad_alpha), (out.depth, grad_depth))
                         if o.requires_grad and g is not None]
                if pairs:
                    torch.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, *[leaf.grad if leaf.requires_grad else None for leaf in leaves])
