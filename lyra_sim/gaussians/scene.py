"""`GaussianScene`: a set of 3D Gaussians with activated parameters, and its dynamic sibling.

Conventions (ARCHITECTURE.md): ``means [N,3]`` in scene units, ``quats [N,4]`` unit (w,x,y,z),
``scales [N,3]`` linear standard deviations (> 0), ``opacities [N]`` in [0, 1], colour as SH
coefficients ``sh [N,K,3]`` with K = (degree+1)^2. PLY files store log-scales and
logit-opacities; :mod:`lyra_sim.gaussians.ply` converts at the file boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Iterator, Sequence

import torch
from torch import Tensor

from lyra_sim.errors import InvalidInputError
from lyra_sim.gaussians.quaternions import quat_multiply, rotmat_to_quat
from lyra_sim.gaussians.sh import (
    num_sh_bases,
    rgb_to_sh_dc,
    rotate_sh,
    sh_dc_to_rgb,
    sh_degree_from_bases,
)


@dataclass
class GaussianScene:
    """3D Gaussians with activated parameters; every tensor on one device, one float dtype.

    Attributes:
        means: [N, 3] centres, in the scene frame (OpenCV first-camera frame for generated
            scenes; Z-up metres after export).
        quats: [N, 4] unit quaternions (w, x, y, z), rotation of each Gaussian's local axes.
        scales: [N, 3] standard deviations along the local axes, linear, > 0.
        opacities: [N] peak opacity in [0, 1].
        sh: [N, K, 3] spherical-harmonic colour coefficients, K in {1, 4, 9, 16}.
    """

    means: Tensor
    quats: Tensor
    scales: Tensor
    opacities: Tensor
    sh: Tensor

    def __post_init__(self) -> None:
        n = self.means.shape[0] if self.means.ndim == 2 else -1
        expected = {
            "means": (n, 3),
            "quats": (n, 4),
            "scales": (n, 3),
            "opacities": (n,),
        }
        for name, shape in expected.items():
            got = tuple(getattr(self, name).shape)
            if got != shape:
                raise InvalidInputError(f"GaussianScene.{name} must have shape {list(shape)}, got {list(got)}")
        if self.sh.ndim != 3 or self.sh.shape[0] != n or self.sh.shape[2] != 3:
            raise InvalidInputError(f"GaussianScene.sh must have shape [N, K, 3], got {list(self.sh.shape)}")
        try:
            sh_degree_from_bases(self.sh.shape[1])
        except ValueError as err:
            raise InvalidInputError(f"GaussianScene.sh: {err}") from None
        devices = {t.device for t in self._tensors()}
        if len(devices) != 1:
            raise InvalidInputError(f"GaussianScene tensors are on several devices: {sorted(map(str, devices))}")
        if not all(t.is_floating_point() for t in self._tensors()):
            raise InvalidInputError("GaussianScene tensors must be floating point")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_rgb(cls, means: Tensor, quats: Tensor, scales: Tensor, opacities: Tensor, rgb: Tensor) -> "GaussianScene":
        """Scene of degree-0 Gaussians with colour ``rgb [N, 3]`` in [0, 1] (Lyra's output form)."""
        return cls(means, quats, scales, opacities, rgb_to_sh_dc(rgb)[:, None, :])

    @classmethod
    def empty(cls, sh_degree: int = 0, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> "GaussianScene":
        """A scene with no Gaussians."""
        z = lambda *s: torch.zeros(*s, device=device, dtype=dtype)
        return cls(z(0, 3), z(0, 4), z(0, 3), z(0), z(0, num_sh_bases(sh_degree), 3))

    @classmethod
    def merge(cls, scenes: Sequence["GaussianScene"]) -> "GaussianScene":
        """Concatenate scenes (e.g. the Gaussians of all trajectories).

        Scenes of lower SH degree are zero-padded to the highest degree, which renders the same.
        All scenes must be on one device.
        """
        if not scenes:
            raise InvalidInputError("merge() needs at least one scene")
        degree = max(s.sh_degree for s in scenes)
        scenes = [s.with_sh_degree(degree) for s in scenes]
        return cls(**{f.name: torch.cat([getattr(s, f.name) for s in scenes]) for f in fields(cls)})

    # ------------------------------------------------------------------ properties
    def _tensors(self) -> list[Tensor]:
        return [getattr(self, f.name) for f in fields(self)]

    def __len__(self) -> int:
        return self.means.shape[0]

    def __repr__(self) -> str:
        return f"GaussianScene(n={len(self)}, sh_degree={self.sh_degree}, device={self.device}, dtype={self.dtype})"

    @property
    def device(self) -> torch.device:
        return self.means.device

    @property
    def dtype(self) -> torch.dtype:
        return self.means.dtype

    @property
    def sh_degree(self) -> int:
        """Degree of the SH colour, 0..3."""
        return sh_degree_from_bases(self.sh.shape[1])

    @property
    def colors(self) -> Tensor:
        """[N, 3] RGB of the DC term (the view-independent base colour), not clamped."""
        return sh_dc_to_rgb(self.sh[:, 0, :])

    # ------------------------------------------------------------------ tensor plumbing
    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "GaussianScene":
        """Copy to another device and/or float dtype (returns ``self``'s values, new tensors)."""
        return self._map(lambda t: t.to(device=device, dtype=dtype))

    def detach(self) -> "GaussianScene":
        return self._map(Tensor.detach)

    def clone(self) -> "GaussianScene":
        return self._map(Tensor.clone)

    def requires_grad_(self, requires_grad: bool = True) -> "GaussianScene":
        """Mark every parameter tensor as a leaf that needs gradients (in place); returns self."""
        for t in self._tensors():
            t.requires_grad_(requires_grad)
        return self

    def _map(self, fn) -> "GaussianScene":
        return GaussianScene(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    def __getitem__(self, index: Tensor | slice | Sequence[int]) -> "GaussianScene":
        """Subset by boolean mask [N], integer indices or a slice."""
        if isinstance(index, Tensor) and index.device != self.device:
            index = index.to(self.device)
        return self._map(lambda t: t[index])

    def with_sh_degree(self, degree: int) -> "GaussianScene":
        """Same Gaussians with SH truncated to, or zero-padded up to, ``degree``."""
        k = num_sh_bases(degree)
        if k == self.sh.shape[1]:
            return self
        if k < self.sh.shape[1]:
            sh = self.sh[:, :k]
        else:
            pad = self.sh.new_zeros(len(self), k - self.sh.shape[1], 3)
            sh = torch.cat([self.sh, pad], dim=1)
        return GaussianScene(self.means, self.quats, self.scales, self.opacities, sh)

    # ------------------------------------------------------------------ geometry
    def validate(self) -> "GaussianScene":
        """Raise InvalidInputError unless every value is a valid Gaussian; returns self.

        Checks: all finite, scales > 0, opacities in [0, 1], quaternions of non-zero length.
        """
        for f in fields(self):
            t = getattr(self, f.name)
            bad = (~torch.isfinite(t)).reshape(len(self), -1).any(-1) if len(self) else t.new_zeros(0, dtype=torch.bool)
            if bad.any():
                raise InvalidInputError(f"{int(bad.sum())} Gaussians have NaN/inf {f.name}; drop them with scene[mask]")
        if (self.scales <= 0).any():
            raise InvalidInputError("scales must be > 0 (they are linear standard deviations, not log-scales)")
        if ((self.opacities < 0) | (self.opacities > 1)).any():
            raise InvalidInputError("opacities must lie in [0, 1] (activated, not logits)")
        if (self.quats.norm(dim=-1) < 1e-12).any():
            raise InvalidInputError("some quaternions have zero length")
        return self

    def bounds(self, quantile: float = 0.0) -> Tensor:
        """Axis-aligned bounds of the centres.

        Args:
            quantile: ignore this fraction of centres at each end per axis (0.01 trims floaters).

        Returns:
            [2, 3] tensor: row 0 the minimum corner, row 1 the maximum corner.
        """
        if len(self) == 0:
            raise InvalidInputError("an empty scene has no bounds")
        if quantile <= 0:
            return torch.stack([self.means.amin(0), self.means.amax(0)])
        if not quantile < 0.5:
            raise InvalidInputError(f"quantile must be in [0, 0.5), got {quantile}")
        q = torch.tensor([quantile, 1 - quantile], device=self.device, dtype=self.dtype)
        # torch.quantile refuses very large inputs; a sorted view gives the same order statistic.
        sorted_means = self.means.sort(dim=0).values
        idx = (q * (len(self) - 1)).round().long()
        return sorted_means[idx]

    def prune(self, keep_fraction: float) -> "GaussianScene":
        """Keep the ``keep_fraction`` most opaque Gaussians (Lyra keeps 0.2), in their original order.

        Ties are broken by index, so the result is deterministic.
        """
        if not 0.0 < keep_fraction <= 1.0:
            raise InvalidInputError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
        k = int(round(len(self) * keep_fraction))
        if k >= len(self):
            return self
        order = torch.argsort(self.opacities.detach(), descending=True, stable=True)[:k]
        return self[order.sort().values]

    def crop(self, box: Tensor | Sequence[Sequence[float]]) -> "GaussianScene":
        """Gaussians whose centre lies inside the axis-aligned ``box`` ([2, 3]: min corner, max corner)."""
        try:
            box = torch.as_tensor(box, device=self.device, dtype=self.dtype)
        except (TypeError, ValueError) as err:  # ragged nested lists, non-numbers
            raise InvalidInputError(f"box must be [[xmin, ymin, zmin], [xmax, ymax, zmax]]: {err}") from None
        if box.shape != (2, 3):
            raise InvalidInputError(f"box must be [[xmin, ymin, zmin], [xmax, ymax, zmax]], got shape {list(box.shape)}")
        if (box[0] > box[1]).any():
            raise InvalidInputError(f"box minimum {box[0].tolist()} exceeds its maximum {box[1].tolist()}")
        inside = ((self.means >= box[0]) & (self.means <= box[1])).all(-1)
        return self[inside]

    def transform(self, matrix: Tensor) -> "GaussianScene":
        """Apply a similarity transform ``x -> s R x + t``.

        Rotates the Gaussians' orientations (``q -> q_R * q``), multiplies scales by ``s`` and
        rotates view-dependent SH so the scene looks the same from the transformed cameras.

        Args:
            matrix: [4, 4] with top-left block ``s R`` (R a proper rotation, s > 0) and
                translation ``t`` in the last column; the bottom row must be (0, 0, 0, 1).

        Raises:
            InvalidInputError: shear, non-uniform scale, reflection or a projective bottom row.
        """
        m = torch.as_tensor(matrix, dtype=torch.float64).cpu()
        if m.shape != (4, 4):
            raise InvalidInputError(f"transform matrix must be 4x4, got {list(m.shape)}")
        if not torch.allclose(m[3], torch.tensor([0, 0, 0, 1], dtype=torch.float64), atol=1e-9):
            raise InvalidInputError("transform matrix bottom row must be (0, 0, 0, 1)")
        linear = m[:3, :3]
        det = torch.linalg.det(linear)
        if det <= 0:
            raise InvalidInputError("transform has a reflection or is singular; Gaussians need a proper rotation")
        s = det ** (1.0 / 3.0)
        rot = linear / s
        if not torch.allclose(rot @ rot.T, torch.eye(3, dtype=torch.float64), atol=1e-5):
            raise InvalidInputError("transform is not a similarity (it shears or scales axes unequally)")
        rot_t = rot.to(self.means)
        q_rot = rotmat_to_quat(rot).to(self.quats)
        return GaussianScene(
            means=self.means @ (s * rot_t).T + m[:3, 3].to(self.means),
            quats=quat_multiply(q_rot.expand_as(self.quats), self.quats),
            scales=self.scales * float(s),
            opacities=self.opacities,
            sh=rotate_sh(self.sh, rot),
        )


@dataclass
class DynamicGaussianScene:
    """A 4D scene as one static :class:`GaussianScene` per time (Lyra's dynamic decoder output).

    Attributes:
        scenes: one scene per time; they may differ in size.
        times: [T] strictly increasing times (normalised [0, 1] in Lyra, seconds elsewhere).
    """

    scenes: list[GaussianScene]
    times: Tensor

    def __post_init__(self) -> None:
        self.times = torch.as_tensor(self.times, dtype=torch.float64).flatten().cpu()
        if len(self.scenes) == 0:
            raise InvalidInputError("a dynamic scene needs at least one time")
        if len(self.scenes) != len(self.times):
            raise InvalidInputError(f"{len(self.scenes)} scenes but {len(self.times)} times")
        if len(self.times) > 1 and not bool((self.times[1:] > self.times[:-1]).all()):
            raise InvalidInputError(f"times must be strictly increasing, got {self.times.tolist()}")

    def __len__(self) -> int:
        return len(self.scenes)

    def __iter__(self) -> Iterator[tuple[float, GaussianScene]]:
        return zip(self.times.tolist(), self.scenes)

    def at(self, time: float) -> GaussianScene:
        """The scene at the time nearest to ``time``."""
        return self.scenes[int((self.times - time).abs().argmin())]

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "DynamicGaussianScene":
        return DynamicGaussianScene([s.to(device, dtype) for s in self.scenes], self.times.clone())
