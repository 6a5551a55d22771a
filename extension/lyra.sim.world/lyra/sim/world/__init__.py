"""Kit extension lyra.sim.world: lyra-sim generated worlds in Isaac Sim's open stage."""

from .extension import LyraSimWorldExtension

__all__ = ["LyraSimWorldExtension"]
