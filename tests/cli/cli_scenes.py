"""A small PLY for the CLI tests (imported as a top-level module, like tests/sim/sim_scenes.py)."""

from __future__ import annotations

import torch

from lyra_sim.gaussians import GaussianScene, write_ply


def make_ply(path, n=300):
    """``n`` random Gaussians around (0, 0, 3), SH degree 0, written to ``path``; returns the scene."""
    g = torch.Generator().manual_seed(0)
    means = torch.randn(n, 3, generator=g) * 0.3 + torch.tensor([0.0, 0.0, 3.0])
    scene = GaussianScene.from_rgb(means, torch.randn(n, 4, generator=g), torch.full((n, 3), 0.04), torch.rand(n, generator=g), torch.rand(n, 3, generator=g))
    write_ply(scene, path)
    return scene
