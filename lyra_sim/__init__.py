"""lyra-sim: generated 3D Gaussian worlds that robots can be simulated in."""

__version__ = "0.1.0"
