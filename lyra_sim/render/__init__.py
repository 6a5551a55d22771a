"""Rendering of Gaussian scenes: gsplat on CUDA, a pure-torch twin everywhere."""

from lyra_sim.render.projection import ProjectedGaussians, project_gaussians
from lyra_sim.render.rasterize import RenderOutput, render, resolve_backend

__all__ = ["ProjectedGaussians", "RenderOutput", "project_gaussians", "render", "resolve_backend"]
