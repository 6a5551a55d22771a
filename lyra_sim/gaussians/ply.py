"""Read and write 3D Gaussian Splatting PLY files (the INRIA layout), fast and strictly.

One ``vertex`` element holds one Gaussian per row. Properties may come in any order and extra
ones are ignored; :func:`write_ply` writes binary little-endian float32 in this order::

    x y z nx ny nz f_dc_0..2 f_rest_0..3(K-1)-1 opacity scale_0..2 rot_0..3

Stored values are *pre-activation*: ``opacity`` is a logit, ``scale_*`` are natural logs of the
standard deviations, ``rot_*`` is a (w, x, y, z) quaternion that need not be unit (normalised on
read), ``f_dc_c`` is the raw SH DC coefficient of channel c (not RGB) and ``f_rest`` is
channel-major: ``f_rest_{c*(K-1)+k}`` is ``sh[:, 1+k, c]``. Normals are written as 0, like INRIA.

Reading accepts ascii, binary little- and big-endian, SH degree 0-3, any PLY scalar type, other
elements before/after ``vertex``, comments/obj_info and CRLF header lines; SuperSplat's
compressed PLY is decoded by :mod:`lyra_sim.gaussians.ply_compressed`.

Data moves in blocks of :data:`~lyra_sim.gaussians.ply_rows.BLOCK_ROWS` rows (np.fromfile at the element's offset, column
gathers with np.take, activations, checks; the writer mirrors this), so there is no per-vertex
Python, the work runs in cache, and nothing besides the scene itself is file-sized. Every size a
header implies is checked against the file before anything is allocated.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from lyra_sim.errors import (
    InvalidInputError,
    PlyHeaderError,
    PlyMissingPropertyError,
    PlyValueError,
)
from lyra_sim.gaussians.ply_compressed import decode_compressed
from lyra_sim.gaussians.arrays import GaussianArrays, check_float_dtype
from lyra_sim.gaussians.ply_header import read_ply_header
from lyra_sim.gaussians.ply_rows import BLOCK_ROWS, nonfinite, nonfinite_problem, raise_nonfinite, row_blocks, sh_property_order
from lyra_sim.io.atomic import atomic_output

if TYPE_CHECKING:
    from lyra_sim.gaussians.scene import GaussianScene

OPACITY_EPS = 1e-12
"""write_ply clamps opacities to [eps, 1 - eps] so 0 and 1 give logits of -/+27.6, not inf.

Real files stay inside |logit| <= 20 (sigmoid(20) = 1 - 2e-9), far from the clamp, so their
values are untouched and still round-trip bit-exactly; 27.6 is also far from float32 overflow.
"""

_XYZ = ["x", "y", "z"]
_SCALES = ["scale_0", "scale_1", "scale_2"]
_ROTS = ["rot_0", "rot_1", "rot_2", "rot_3"]
_REQUIRED = _XYZ + ["f_dc_0", "f_dc_1", "f_dc_2", "opacity"] + _SCALES + _ROTS


def read_ply(path: str | Path, *, dtype=None, device="cpu") -> GaussianScene:
    """Read a 3DGS PLY (INRIA layout, or SuperSplat compressed) into activated Gaussians.

    Activations (sigmoid of the opacity logit, exp of the log-scales, quaternion normalisation)
    are computed in float64 and then cast, so with ``dtype=torch.float64`` a file read and
    written again with :func:`write_ply` reproduces its float32 values bit for bit (for
    realistic |logit|, |log-scale| <= 20 and unit quaternions; ``rot_*`` come back normalised).

    Args:
        path: the ``.ply`` file.
        dtype: float torch dtype of the returned tensors (None: float32).
        device: device of the returned tensors.

    Returns:
        GaussianScene with means [N,3], quats [N,4] unit (w,x,y,z), scales [N,3] linear,
        opacities [N] in [0,1], sh [N,K,3] (K = 1, 4, 9 or 16).

    Raises:
        PlyError: missing file or a directory. Subclasses: PlyHeaderError (not a PLY,
        malformed or unsupported layout), PlyTruncatedError (less data than declared),
        PlyMissingPropertyError (required properties absent), PlyValueError (NaN/inf,
        zero-length quaternions, unparsable ascii).
    """
    return read_ply_arrays(path, float64=check_float_dtype(dtype, "read_ply")).to_scene(dtype, device)


def read_ply_arrays(path: str | Path, *, float64: bool = False) -> GaussianArrays:
    """:func:`read_ply` without torch: the activated Gaussians as numpy arrays, float64 when
    ``float64`` else float32 (same checks, same errors)."""
    header = read_ply_header(path)
    path = header.path
    vertex = header.element("vertex")
    if vertex is None:
        raise PlyHeaderError(path, "the file has no 'vertex' element (3DGS PLYs store one Gaussian per vertex)")
    if header.is_compressed:
        return GaussianArrays(*(a.astype(np.float64 if float64 else np.float32, copy=False) for a in decode_compressed(header)))

    missing = [name for name in _REQUIRED if name not in vertex.property_names]
    if missing:
        hint = " (it looks like a point cloud or mesh, not 3D Gaussians)" if "f_dc_0" in missing else ""
        raise PlyMissingPropertyError(path, f"the vertex element lacks {', '.join(missing)}{hint}")
    k, sh_names = sh_property_order(header, vertex)
    names = _XYZ + sh_names + ["opacity"] + _SCALES + _ROTS  # every column used, in output order
    blocks = row_blocks(header, vertex, names)  # checks the sizes: must come before allocating
    n, work = vertex.count, (np.float64 if float64 else np.float32)
    means, sh = np.empty((n, 3), work), np.empty((n, k, 3), work)
    opacities, scales, quats = np.empty(n, work), np.empty((n, 3), work), np.empty((n, 4), work)
    bad_rows, bad_counts, zero = 0, np.zeros(len(names), np.int64), 0
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # bad values are counted instead
        for rows, block in blocks:
            r, c = nonfinite(block)
            bad_rows, bad_counts = bad_rows + r, bad_counts + c
            means[rows] = block[:, :3]
            sh[rows] = block[:, 3 : 3 * k + 3].reshape(-1, k, 3)
            # Only these 1 + 3 + 4 columns go through float64, where the activations are exact
            # enough for a bit-exact float64 round trip; exp(-logit) = inf gives opacity 0, rightly.
            stored = block[:, 3 * k + 3 :].astype(np.float64)
            opacities[rows] = 1.0 / (1.0 + np.exp(-stored[:, 0]))
            scales[rows] = np.exp(stored[:, 1:4])
            norm = np.sqrt(np.square(stored[:, 4:]).sum(1, keepdims=True))
            zero += int((norm < 1e-12).sum())
            quats[rows] = stored[:, 4:] / norm
    raise_nonfinite(path, bad_rows, bad_counts, names)
    if zero:
        raise PlyValueError(path, f"{zero:,} Gaussians have zero-length quaternions (rot_0..rot_3 all 0); drop them or set them to (1, 0, 0, 0)")
    huge = nonfinite(scales)[0]  # finite log-scales whose exp overflows
    if huge:
        raise PlyValueError(path, f"{huge:,} Gaussians have log-scales (scale_*) so large that exp overflows {np.dtype(work).name}; drop them")
    return GaussianArrays(means, quats, scales, opacities, sh)


def write_ply(scene: GaussianScene, path: str | Path, *, overwrite: bool = False, comments: Sequence[str] = ()) -> Path:
    """Write ``scene`` as a binary little-endian float32 3DGS PLY (the INRIA layout).

    Logits ``log(o) - log1p(-o)`` (opacity clamped to [:data:`OPACITY_EPS`, 1 - eps]) and
    log-scales are computed in float64 before the float32 cast. The scene may live on any
    device and require grad. Written atomically through :func:`lyra_sim.io.atomic_output`:
    on any error the destination is untouched and no temporary file remains.

    Args:
        comments: extra header ``comment`` lines (text after ``comment ``; printable ASCII, one
            line each), e.g. the frame record of :mod:`lyra_sim.export.frame_record`. PLY
            readers skip comments, so the file stays a plain 3DGS PLY for every other tool.

    Returns:
        ``path`` as a Path.

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is False.
        InvalidInputError: NaN/inf values, or scales <= 0, which no reader could use; a
            comment that is not one line of printable ASCII.
    """
    import torch

    from lyra_sim.gaussians.scene import GaussianScene

    if not isinstance(scene, GaussianScene):
        raise InvalidInputError(f"write_ply needs a GaussianScene, got {type(scene).__name__}")
    comments = [comments] if isinstance(comments, str) else list(comments)
    for c in comments:
        if not isinstance(c, str) or not all(" " <= ch <= "~" for ch in c):
            raise InvalidInputError(f"write_ply: a PLY comment must be one line of printable ASCII, got {c!r}")
    n, k = len(scene), scene.sh.shape[1]
    names = _XYZ + ["nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    names += [f"f_rest_{i}" for i in range(3 * (k - 1))] + ["opacity"] + _SCALES + _ROTS
    fields = [("means", "<f4", 3), ("normals", "<f4", 3), ("dc", "<f4", 3)]
    fields += [("rest", "<f4", (3, k - 1))] if k > 1 else []
    fields += [("opacity", "<f4"), ("scales", "<f4", 3), ("rots", "<f4", 4)]
    # A structured array whose records are byte for byte the PLY rows. It holds one block of
    # rows, filled and written per block: nothing file-sized is allocated (on first-touch-slow
    # VMs a full-size buffer doubled the 10M write time), and each block is filled in cache.
    rows = np.empty(min(n, BLOCK_ROWS), dtype=np.dtype(fields))
    assert rows.dtype.itemsize == 4 * len(names)
    means, quats, sh = (t.detach().to(device="cpu", dtype=torch.float32).numpy() for t in (scene.means, scene.quats, scene.sh))
    opacities, scales = (t.detach().to(device="cpu", dtype=torch.float64).numpy() for t in (scene.opacities, scene.scales))
    header = ["ply", "format binary_little_endian 1.0", "comment written by lyra-sim"]
    header += [f"comment {c}".rstrip() for c in comments] + [f"element vertex {n}"]
    header += [f"property float {name}" for name in names] + ["end_header\n"]
    bad_rows, bad_counts = 0, np.zeros(len(names), np.int64)
    with atomic_output(path, overwrite) as tmp:
        # "r+b", not "wb": mkstemp made the file, and ext4 flushes truncated-then-rewritten files
        # to disk on close (auto_da_alloc), which would cost a synchronous write-back here.
        with open(tmp, "r+b") as f, np.errstate(divide="ignore", invalid="ignore"):
            f.write("\n".join(header).encode("ascii"))
            for r0 in range(0, n, BLOCK_ROWS):
                r, block = slice(r0, r0 + BLOCK_ROWS), rows[: min(BLOCK_ROWS, n - r0)]
                block["means"], block["normals"], block["dc"], block["rots"] = means[r], 0.0, sh[r, 0, :], quats[r]
                if k > 1:
                    block["rest"] = sh[r, 1:, :].transpose(0, 2, 1)  # channel-major: f_rest_{c*(K-1)+j}
                o = np.clip(opacities[r], OPACITY_EPS, 1.0 - OPACITY_EPS)
                block["opacity"] = np.log(o) - np.log1p(-o)
                block["scales"] = np.log(scales[r])
                bad = nonfinite(block.view("<f4").reshape(len(block), len(names)))
                bad_rows, bad_counts = bad_rows + bad[0], bad_counts + bad[1]
                if not bad_rows:
                    f.write(block)
        if bad_rows:  # raised inside atomic_output, so the partial temporary file is deleted
            raise InvalidInputError(
                f"cannot write {path}: {nonfinite_problem(bad_rows, bad_counts, names)} (after the logit/log "
                "conversion: opacities must be in [0, 1] and scales > 0); scene.validate() finds the bad Gaussians"
            )
    return Path(path)
