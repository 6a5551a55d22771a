"""The 3DGS spherical-harmonic layout: basis constants and coefficient counts, without torch.

Split from :mod:`lyra_sim.gaussians.sh` (the torch evaluators) so the file readers, which only
count coefficients, load without torch.
"""

from __future__ import annotations

C0 = 0.28209479177387814
C1 = 0.4886025119029199
C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
C3 = (
    -0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
    -0.4570457994644658, 1.445305721320277, -0.5900435899266435,
)

SH_BASES = {0: 1, 1: 4, 2: 9, 3: 16}
"""Number of coefficients per colour channel, ``(degree + 1) ** 2``, by degree."""


def num_sh_bases(degree: int) -> int:
    """``(degree + 1) ** 2``; degree must be 0..3."""
    if degree not in SH_BASES:
        raise ValueError(f"SH degree must be 0..3, got {degree}")
    return SH_BASES[degree]


def sh_degree_from_bases(num_bases: int) -> int:
    """Inverse of :func:`num_sh_bases`; raises ValueError for counts that are not 1, 4, 9, 16."""
    for degree, k in SH_BASES.items():
        if k == num_bases:
            return degree
    raise ValueError(f"{num_bases} SH coefficients per channel is not (degree+1)^2 for degree 0..3")
