"""Writer of the SuperSplat / PlayCanvas *compressed* PLY, the inverse of
:mod:`lyra_sim.gaussians.ply_compressed` (whose docstring has the layout).

Like PlayCanvas ``splat-transform``, Gaussians are first put in Morton (Z-curve) order of their
positions, so each chunk of 256 is spatially compact and its 11/10/11-bit position grid fine;
pass ``sort=False`` to keep the scene's order. Per chunk the writer stores float32 bounds of
positions, log-scales and colours (``f_dc * C0 + 0.5``); per Gaussian four uint32 words; and
for SH degree >= 1 an ``sh`` element of uchar ``f_rest_*`` (``trunc((v / 8 + 0.5) * 256)``,
clipped to [0, 255]). Precision: half a grid step of each chunk's range for positions and
log-scales, 1/510 for opacity, 10 bits per quaternion component, 8/256 for SH.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from lyra_sim.errors import InvalidInputError
from lyra_sim.gaussians.ply_compressed import CHUNK_PROPS, CHUNK_SIZE, COLOR_PROPS, VERTEX_PROPS
from lyra_sim.gaussians.scene import GaussianScene
from lyra_sim.gaussians.sh_layout import C0
from lyra_sim.io.atomic import atomic_output

LOG_SCALE_RANGE = 20.0
"""Log-scales are clamped to [-20, 20] (as splat-transform does) so chunk bounds stay finite."""


def morton_order(means: np.ndarray) -> np.ndarray:
    """Indices [N] sorting ``means`` [N, 3] along a 3D Z-curve of 10 bits per axis over their bounds."""
    if len(means) == 0:
        return np.zeros(0, np.intp)
    lo, hi = means.min(0), means.max(0)
    q = np.floor((means - lo) / np.where(hi > lo, hi - lo, 1.0) * 1023.0 + 0.5).astype(np.uint64)
    code = np.zeros(len(means), np.uint64)
    for bit in range(10):
        for axis in range(3):
            code |= ((q[:, axis] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(3 * bit + 2 - axis)
    return np.argsort(code, kind="stable")


def _unorm(t: np.ndarray, bits: int) -> np.ndarray:
    m = (1 << bits) - 1
    return np.clip(np.floor(t * m + 0.5), 0, m).astype(np.uint32)


def _fraction(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``(v - lo) / (hi - lo)`` in [0, 1]; 0 where the range is empty."""
    span = hi - lo
    return np.where(span > 0, np.clip((v - lo) / np.where(span > 0, span, 1.0), 0.0, 1.0), 0.0)


def _pack_111011(t: np.ndarray) -> np.ndarray:
    return (_unorm(t[:, 0], 11) << np.uint32(21)) | (_unorm(t[:, 1], 10) << np.uint32(11)) | _unorm(t[:, 2], 11)


def encode_compressed_ply(scene: GaussianScene, sort: bool = True) -> bytes:
    """``scene`` as the bytes of a compressed PLY (header and data)."""
    get = lambda t: t.detach().to("cpu", torch.float64).numpy()  # noqa: E731
    means, quats, scales, opac, sh = (get(t) for t in (scene.means, scene.quats, scene.scales, scene.opacities, scene.sh))
    bad = [name for name, a in (("means", means), ("quats", quats), ("scales", scales), ("opacities", opac), ("sh", sh)) if not np.isfinite(a).all()]
    if bad or (scales <= 0).any():
        raise InvalidInputError(f"cannot write a compressed PLY: NaN/inf in {', '.join(bad) or 'nothing'}{', scales <= 0' if (scales <= 0).any() else ''}")
    if sort:
        order = morton_order(means)
        means, quats, scales, opac, sh = means[order], quats[order], scales[order], opac[order], sh[order]
    n, k = len(means), sh.shape[1]
    starts = np.arange(0, n, CHUNK_SIZE)
    chunk_of = np.arange(n) // CHUNK_SIZE
    log_scales = np.clip(np.log(scales), -LOG_SCALE_RANGE, LOG_SCALE_RANGE)
    rgb = sh[:, 0, :] * C0 + 0.5

    def bounds(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # per-chunk min/max, float32-rounded as stored
        if n == 0:
            return np.zeros((0, 3)), np.zeros((0, 3))
        lo, hi = np.minimum.reduceat(v, starts, axis=0), np.maximum.reduceat(v, starts, axis=0)
        return lo.astype(np.float32).astype(np.float64), hi.astype(np.float32).astype(np.float64)

    p_lo, p_hi = bounds(means)
    s_lo, s_hi = bounds(log_scales)
    c_lo, c_hi = bounds(rgb)
    packed = np.empty((n, 4), np.uint32)
    packed[:, 0] = _pack_111011(_fraction(means, p_lo[chunk_of], p_hi[chunk_of]))
    packed[:, 2] = _pack_111011(_fraction(log_scales, s_lo[chunk_of], s_hi[chunk_of]))
    col = _fraction(rgb, c_lo[chunk_of], c_hi[chunk_of])
    packed[:, 3] = ((_unorm(col[:, 0], 8) << np.uint32(24)) | (_unorm(col[:, 1], 8) << np.uint32(16))
                    | (_unorm(col[:, 2], 8) << np.uint32(8)) | _unorm(np.clip(opac, 0, 1), 8))  # fmt: skip
    q = quats / np.linalg.norm(quats, axis=1, keepdims=True)  # (w, x, y, z) = rot_0..rot_3
    largest = np.abs(q).argmax(1) if n else np.zeros(0, np.intp)
    q = q * np.where(q[np.arange(n), largest] < 0, -1.0, 1.0)[:, None]
    word = largest.astype(np.uint32)
    for i in range(4):  # the three others, in increasing index order, 10 bits each
        word = np.where(largest != i, (word << np.uint32(10)) | _unorm(q[:, i] * math.sqrt(0.5) + 0.5, 10), word)
    packed[:, 1] = word

    header = ["ply", "format binary_little_endian 1.0", "comment written by lyra-sim (SuperSplat compressed layout)",
              f"element chunk {len(starts)}"]  # fmt: skip
    header += [f"property float {p}" for p in CHUNK_PROPS + COLOR_PROPS] + [f"element vertex {n}"]
    header += [f"property uint {p}" for p in VERTEX_PROPS]
    chunks = np.concatenate([p_lo, p_hi, s_lo, s_hi, c_lo, c_hi], 1).astype("<f4")
    body = chunks.tobytes() + packed.astype("<u4").tobytes()
    if k > 1:
        rest = sh[:, 1:, :].transpose(0, 2, 1).reshape(n, 3 * (k - 1))  # channel-major f_rest
        header += [f"element sh {n}"] + [f"property uchar f_rest_{i}" for i in range(rest.shape[1])]
        body += np.clip(np.trunc((rest / 8.0 + 0.5) * 256.0), 0, 255).astype(np.uint8).tobytes()
    return ("\n".join(header + ["end_header"]) + "\n").encode("ascii") + body


def write_compressed_ply(scene: GaussianScene, path: str | Path, *, sort: bool = True, overwrite: bool = False) -> Path:
    """Write ``scene`` as a SuperSplat compressed PLY (``*.compressed.ply``), atomically.

    Args:
        sort: put Gaussians in Morton order first (finer chunks; the order changes).

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is False.
        InvalidInputError: NaN/inf values or scales <= 0.
    """
    if not isinstance(scene, GaussianScene):
        raise InvalidInputError(f"write_compressed_ply needs a GaussianScene, got {type(scene).__name__}")
    data = encode_compressed_ply(scene, sort)
    with atomic_output(path, overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)
