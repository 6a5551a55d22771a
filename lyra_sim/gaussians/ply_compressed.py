"""Decoder for the SuperSplat / PlayCanvas *compressed* PLY (``*.compressed.ply``).

Layout, as written by PlayCanvas ``splat-transform`` (``writers/compressed-chunk.ts``,
``writers/write-compressed-ply.ts``) and read back by its ``readers/decompress-ply.ts``:

* ``element chunk ceil(N/256)``: float ``min_x min_y min_z max_x max_y max_z``,
  ``min_scale_x.. max_scale_z`` (bounds of the *log*-scales) and, in newer files,
  ``min_r min_g min_b max_r max_g max_b`` (bounds of the colour ``f_dc * C0 + 0.5``).
  Splat ``i`` belongs to chunk ``i // 256``.
* ``element vertex N``: uint ``packed_position packed_rotation packed_scale packed_color``.

  - position and scale: 11/10/11 bits (x in bits 21-31, y in 11-20, z in 0-10), each an unsigned
    normalised fraction ``v / (2^bits - 1)`` lerped between the chunk's min and max.
  - rotation: bits 30-31 hold the index (in ``rot_0..rot_3`` = w,x,y,z order) of the largest
    component, which is positive and rebuilt as ``sqrt(1 - a^2 - b^2 - c^2)``; the other three, in
    increasing index order, sit in bits 20-29, 10-19, 0-9 as ``(v / 1023 - 0.5) * sqrt(2)``.
  - colour: r, g, b, a bytes from the top down (bits 24-31, 16-23, 8-15, 0-7) as ``v / 255``;
    r, g, b are lerped between the chunk's colour bounds when present, a is the opacity itself
    (already sigmoid-activated).
* optional ``element sh N``: uchar ``f_rest_0..M-1`` (M = 9, 24, 45) in the usual channel-major
  order, decoded as ``(t - 0.5) * 8`` with ``t = 0`` for 0, ``1`` for 255, else ``(v + 0.5) / 256``.
"""

from __future__ import annotations

import math

import numpy as np

from lyra_sim.errors import PlyHeaderError, PlyMissingPropertyError, PlyValueError
from lyra_sim.gaussians.ply_header import PlyHeader
from lyra_sim.gaussians.ply_rows import nonfinite, raise_nonfinite, read_columns, sh_property_order
from lyra_sim.gaussians.sh_layout import C0

CHUNK_SIZE = 256
CHUNK_PROPS = [f"{m}_{a}" for m in ("min", "max") for a in "xyz"] + [f"{m}_scale_{a}" for m in ("min", "max") for a in "xyz"]
COLOR_PROPS = [f"{m}_{c}" for m in ("min", "max") for c in "rgb"]
VERTEX_PROPS = ["packed_position", "packed_rotation", "packed_scale", "packed_color"]
# For each index of the largest component, the indices the three stored components go to.
_OTHERS = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])


def _unorm(packed: np.ndarray, shift: int, bits: int) -> np.ndarray:
    """The ``bits``-bit field at ``shift`` of uint32 ``packed`` as float64 in [0, 1]."""
    mask = (1 << bits) - 1
    return ((packed >> np.uint32(shift)) & np.uint32(mask)).astype(np.float64) / mask


def _lerp(bounds: np.ndarray, lo: int, hi: int, t: np.ndarray, chunk_of: np.ndarray) -> np.ndarray:
    """``min * (1 - t) + max * t`` with per-splat bounds from columns ``lo``/``hi`` of ``bounds``."""
    return bounds[chunk_of, lo] * (1.0 - t) + bounds[chunk_of, hi] * t


def decode_compressed(header: PlyHeader):
    """Decode a compressed PLY into activated float64 numpy arrays.

    Returns:
        ``(means [N,3], quats [N,4] unit (w,x,y,z), scales [N,3] linear, opacities [N] in [0,1],
        sh [N,K,3])``.

    Raises:
        PlyHeaderError / PlyMissingPropertyError / PlyTruncatedError / PlyValueError.
    """
    path = header.path
    chunk, vertex, sh_el = header.element("chunk"), header.element("vertex"), header.element("sh")
    if header.format == "ascii":
        raise PlyHeaderError(path, "a compressed (chunk/packed) PLY must be binary, this one is ascii")
    chunk_names = CHUNK_PROPS + (COLOR_PROPS if "min_r" in chunk.property_names else [])
    for element, names in ((chunk, chunk_names), (vertex, VERTEX_PROPS)):
        missing = [n for n in names if n not in element.property_names]
        if missing:
            raise PlyMissingPropertyError(path, f"compressed PLY element {element.name!r} lacks {', '.join(missing)}")
    n = vertex.count
    if chunk.count != math.ceil(n / CHUNK_SIZE):
        raise PlyHeaderError(path, f"{n:,} packed splats need {math.ceil(n / CHUNK_SIZE):,} chunks of 256, the header declares {chunk.count:,}")
    if sh_el is not None and sh_el.count != n:
        raise PlyHeaderError(path, f"element 'sh' has {sh_el.count:,} rows but 'vertex' has {n:,}")

    bounds = read_columns(header, chunk, chunk_names).astype(np.float64)
    raise_nonfinite(path, *nonfinite(bounds), chunk_names)
    packed = read_columns(header, vertex, VERTEX_PROPS).astype(np.uint32)
    chunk_of = np.arange(n) // CHUNK_SIZE

    pos, rot, scl, col = packed.T
    fields = [(21, 11), (11, 10), (0, 11)]  # (shift, bits) of the x, y, z parts of 11/10/11 words
    means = np.stack([_lerp(bounds, a, a + 3, _unorm(pos, s, b), chunk_of) for a, (s, b) in enumerate(fields)], 1)
    with np.errstate(over="ignore"):
        scales = np.exp(np.stack([_lerp(bounds, 6 + a, 9 + a, _unorm(scl, s, b), chunk_of) for a, (s, b) in enumerate(fields)], 1))
    overflow = ~np.isfinite(scales)
    if overflow.any():  # finite log-scale bounds (checked above) whose exp is inf, e.g. max_scale_x = 1e30
        per_axis = ", ".join(f"scale_{a} ({int(c):,})" for a, c in enumerate(overflow.sum(0)) if c)
        raise PlyValueError(
            path, f"{int(overflow.any(1).sum()):,} Gaussians decode to infinite scales in: {per_axis}; their chunks' "
            "min_scale_*/max_scale_* bounds (log-scales) are too large for exp. Re-export the file or drop those chunks",
        )  # fmt: skip

    others = np.stack([(_unorm(rot, s, 10) - 0.5) * math.sqrt(2.0) for s in (20, 10, 0)], 1)
    largest = (rot >> np.uint32(30)).astype(np.intp)
    quats = np.empty((n, 4))
    rows = np.arange(n)
    quats[rows[:, None], _OTHERS[largest]] = others
    quats[rows, largest] = np.sqrt(np.maximum(0.0, 1.0 - (others**2).sum(1)))
    quats /= np.linalg.norm(quats, axis=1, keepdims=True)  # only rounding: the largest is >= 1/2

    rgb = np.stack([_unorm(col, s, 8) for s in (24, 16, 8)], 1)
    if "min_r" in chunk_names:
        rgb = np.stack([_lerp(bounds, 12 + c, 15 + c, rgb[:, c], chunk_of) for c in range(3)], 1)
    opacities = _unorm(col, 0, 8)

    k, sh_names = (1, ["f_dc_0", "f_dc_1", "f_dc_2"]) if sh_el is None else sh_property_order(header, sh_el)
    sh = np.zeros((n, k * 3))
    sh[:, :3] = (rgb - 0.5) / C0
    if sh_el is not None and k > 1:  # an "sh" element without f_rest_* (degree 0) has nothing to read
        q = read_columns(header, sh_el, sh_names[3:]).astype(np.float64)
        t = np.where(q == 0, 0.0, np.where(q == 255, 1.0, (q + 0.5) / 256.0))
        sh[:, 3:] = (t - 0.5) * 8.0
    return means, quats, scales, opacities, sh.reshape(n, k, 3)
