"""``RefineCfg``: how the decoded Gaussians are optimised against the teacher's views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lyra_sim.errors import InvalidInputError

Strategy = Literal["default", "none"]
DepthMode = Literal["auto", "metric", "scale_shift", "off"]


@dataclass
class RefineCfg:
    """Test-time refinement of the decoded Gaussians (:func:`lyra_sim.refine.refine_gaussians`).

    Learning rates are for Adam; those of the means are multiplied by the scene's extent (its
    robust bounding-box diagonal), as 3DGS does, so they mean the same in any unit.
    """

    steps: int = 120
    """Optimisation steps; 0 keeps the feed-forward Gaussians as they are. About 0.65 s each on
    2 CPU cores at the default 160x96 (most of ``generate``'s time). Defaults to 120."""
    views_per_step: int = 4
    """Teacher views rendered per step (drawn at random from all frames). Defaults to 4."""
    initial_scale_pixels: float = 1.0
    """Before the first step, each Gaussian's scales are capped at this many pixels of its
    footprint (distance to the nearest camera / focal length). The embedded decoder's splats sit
    at its 0.3 m cap; rendering them costs ~15x more per step and they blur every edge (measured:
    12 s vs 0.5-0.9 s per step, and a better result after capping); 1 px instead of 2 px halved
    the step time again on a fresh study room (1.2 -> 0.6 s). Defaults to 1.0."""
    lr_means: float = 5e-3
    """Means, times the scene extent, decayed exponentially to 1/100 at the last step. The
    decoder's splats start metres off, so this is 30x 3DGS's (1.6e-4 over 30k steps): measured
    on a fresh bedroom, 1e-3 left 13.5 % of the pixels' surface depth > 30 cm off vs 5e-3 better
    in PSNR and depth. Defaults to 5e-3."""
    lr_scales: float = 1e-2
    """Log-scales. Defaults to 1e-2."""
    lr_quats: float = 5e-3
    """Quaternions. Defaults to 5e-3."""
    lr_opacities: float = 5e-2
    """Logit opacities. Defaults to 5e-2."""
    lr_colors: float = 1e-2
    """SH coefficients (the view-dependent ones at 1/20 of this, as in 3DGS). Defaults to 1e-2."""
    depth: DepthMode = "auto"
    """Depth supervision: "metric" (log-L1 against the teacher's depth), "scale_shift" (the
    teacher's depth aligned to the render per view first, as Lyra's loss does for relative
    depth), "auto" (metric when the teacher's depth is metric), "off". Defaults to "auto"."""
    depth_weight: float = 0.5
    """Weight of the surface-depth log-L1 term (expected depth gets half of it, which also
    penalises floaters in front of the surface). Defaults to 0.5."""
    opacity_weight: float = 0.1
    """Weight of the validity term: accumulated opacity pushed to 1 where the teacher sees a
    surface and to 0 where it sees none (sky), so no-surface rays are never fused. Defaults to 0.1."""
    strategy: Strategy = "default"
    """Densification: "default" (like gsplat's DefaultStrategy: prune transparent Gaussians, split
    or clone the ones with the largest positional gradients; with the teacher's metric depth and
    ``carve_free_space``, depth seeding does the growing instead), "none". Defaults to "default"."""
    refine_every: int = 20
    """Steps between densification (and carving, seeding) rounds. Defaults to 20."""
    grow_fraction: float = 0.05
    """Fraction of the Gaussians split or cloned per round (those with the largest mean
    gradient). Defaults to 0.05."""
    prune_opacity: float = 0.01
    """Gaussians below this opacity are pruned at each round and at the end. Defaults to 0.01."""
    carve_free_space: bool = True
    """At each densification round and at the end, remove Gaussians the teacher's depth shows to
    be in free space (:func:`lyra_sim.refine.densify.in_free_space`); needs the teacher's depth.
    Defaults to True."""
    carve_margin: float = 0.05
    """Relative depth margin of the free-space test (5 %: a centre 20 cm in front of a wall 4 m
    away is in free space). Defaults to 0.05."""
    seeds_per_round: int = 3000
    """With the teacher's metric depth: at each densification round, up to this many new
    Gaussians on the teacher's surface where the Gaussians' surface depth is missing or more than
    10 % off (:func:`lyra_sim.refine.densify.depth_seeds`). Defaults to 3000."""
    seed_views: int = 8
    """Views rendered to find where to seed. Defaults to 8."""
    max_gaussians: int = 200_000
    """Growth stops at this many Gaussians (memory and time stay bounded). Defaults to 200000."""
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """Render background where the teacher sees a surface (sky pixels use the teacher's own
    colour as background, since there is nothing there to fit). Defaults to white, like Lyra."""
    seed: int = 0
    """View sampling seed. Defaults to 0."""

    def check(self) -> RefineCfg:
        """Raise InvalidInputError (one line, what to do) when the settings cannot run."""
        if self.steps < 0:
            raise InvalidInputError(f"refine.steps must be >= 0 (0 turns refinement off), got {self.steps}")
        if self.views_per_step < 1:
            raise InvalidInputError(f"refine.views_per_step must be >= 1, got {self.views_per_step}")
        if self.strategy not in ("default", "none"):
            raise InvalidInputError(f"refine.strategy must be 'default' or 'none', got {self.strategy!r}")
        if self.depth not in ("auto", "metric", "scale_shift", "off"):
            raise InvalidInputError(f"refine.depth must be auto, metric, scale_shift or off, got {self.depth!r}")
        for name in ("lr_means", "lr_scales", "lr_quats", "lr_opacities", "lr_colors", "initial_scale_pixels"):
            if not getattr(self, name) > 0:
                raise InvalidInputError(f"refine.{name} must be > 0, got {getattr(self, name)}")
        if self.refine_every < 1 or not 0 <= self.grow_fraction <= 1:
            raise InvalidInputError("refine.refine_every must be >= 1 and refine.grow_fraction in [0, 1]")
        return self
