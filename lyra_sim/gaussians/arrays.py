"""Activated Gaussians as numpy arrays: what every splat-file reader decodes to, before torch.

Readers (:mod:`.ply`, :mod:`.spz`, :mod:`.splat_antimatter`) decode into :class:`GaussianArrays`;
:meth:`GaussianArrays.to_scene` makes the :class:`~lyra_sim.gaussians.scene.GaussianScene` the
rest of the package uses. Keeping the two apart lets commands that only look at a file
(``lyra-sim info``) answer without importing torch (issue 18: a light command starts in < 0.5 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lyra_sim.errors import InvalidInputError

if TYPE_CHECKING:
    import torch

    from lyra_sim.gaussians.scene import GaussianScene


@dataclass(frozen=True)
class GaussianArrays:
    """N activated Gaussians in the file's frame (the PLY frame for every reader here).

    Attributes:
        means: [N, 3] centres, metres (or the file's unit).
        quats: [N, 4] unit quaternions (w, x, y, z).
        scales: [N, 3] linear standard deviations along the local axes.
        opacities: [N] in [0, 1].
        sh: [N, K, 3] spherical-harmonic coefficients, DC first (K = 1, 4, 9 or 16).
    """

    means: np.ndarray
    quats: np.ndarray
    scales: np.ndarray
    opacities: np.ndarray
    sh: np.ndarray

    def __len__(self) -> int:
        return len(self.means)

    @property
    def sh_degree(self) -> int:
        """SH degree (0-3) from K = (degree + 1)^2."""
        return int(round(self.sh.shape[1] ** 0.5)) - 1

    def bounds(self, quantile: float = 0.0) -> np.ndarray:
        """[2, 3] axis-aligned bounds of the centres (row 0 minimum, row 1 maximum), ignoring
        ``quantile`` of the centres at each end per axis; the same order statistic as
        :meth:`GaussianScene.bounds`."""
        if len(self) == 0:
            raise InvalidInputError("an empty scene has no bounds")
        if quantile <= 0:
            return np.stack([self.means.min(0), self.means.max(0)])
        if not quantile < 0.5:
            raise InvalidInputError(f"quantile must be in [0, 0.5), got {quantile}")
        idx = np.round(np.array([quantile, 1 - quantile]) * (len(self) - 1)).astype(np.int64)
        return np.sort(self.means, axis=0)[idx]

    def to_scene(self, dtype: torch.dtype | None = None, device: torch.device | str = "cpu") -> GaussianScene:
        """These Gaussians as a GaussianScene of ``dtype`` (default float32) on ``device``;
        zero-copy on CPU when the numpy dtype already matches."""
        import torch

        from lyra_sim.gaussians.scene import GaussianScene

        dtype = torch.float32 if dtype is None else dtype
        work = np.float64 if dtype == torch.float64 else np.float32

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a, dtype=work)).to(device=device, dtype=dtype)

        return GaussianScene(tensor(self.means), tensor(self.quats), tensor(self.scales), tensor(self.opacities), tensor(self.sh))


def check_float_dtype(dtype, reader: str) -> bool:
    """Validate a reader's ``dtype`` argument (a floating torch dtype, or None for float32) and
    return whether the arrays should be decoded in float64. Imports torch only when given one."""
    if dtype is None:
        return False
    import torch

    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise InvalidInputError(f"{reader} dtype must be a floating torch dtype, got {dtype!r}")
    return dtype == torch.float64
