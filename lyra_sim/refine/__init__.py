"""Test-time refinement of decoded Gaussians against the teacher's views (between decode and export)."""

from lyra_sim.refine.config import RefineCfg
from lyra_sim.refine.optimize import RefineResult, RefineTargets, refine_gaussians, view_metrics

__all__ = ["RefineCfg", "RefineResult", "RefineTargets", "refine_gaussians", "view_metrics"]
