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

Data moves in blocks of :data:`_BLOCK_ROWS` rows (np.fromfile at the element's offset, column
gathers with np.take, activations, checks; the writer mirrors this), so there is no per-vertex
Python, the work runs in cache, and nothing besides the scene itself is file-sized. Every size a
header implies is checked against the file before anything is allocated.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from lyra_sim.errors import (
    InvalidInputError,
    PlyHeaderError,
    PlyMissingPropertyError,
    PlyTruncatedError,
    PlyValueError,
)
from lyra_sim.gaussians.ply_header import (
    _FORMATS,
    _TYPES,
    PlyElement,
    PlyHeader,
    read_ply_header,
)
from lyra_sim.gaussians.scene import GaussianScene
from lyra_sim.gaussians.sh import num_sh_bases
from lyra_sim.io.atomic import atomic_output

OPACITY_EPS = 1e-12
"""write_ply clamps opacities to [eps, 1 - eps] so 0 and 1 give logits of -/+27.6, not inf.

Real files stay inside |logit| <= 20 (sigmoid(20) = 1 - 2e-9), far from the clamp, so their
values are untouched and still round-trip bit-exactly; 27.6 is also far from float32 overflow.
"""

_F_REST_DEGREE = {0: 0, 9: 1, 24: 2, 45: 3}
_F_REST = re.compile(r"f_rest_(\d+)$")
_XYZ = ["x", "y", "z"]
_SCALES = ["scale_0", "scale_1", "scale_2"]
_ROTS = ["rot_0", "rot_1", "rot_2", "rot_3"]
_REQUIRED = _XYZ + ["f_dc_0", "f_dc_1", "f_dc_2", "opacity"] + _SCALES + _ROTS
_BLOCK_ROWS = 1 << 14  # rows per streamed block: a few MiB, so gathers and float64 temporaries stay in cache


def _row_blocks(header: PlyHeader, element: PlyElement, names: list[str]) -> Iterator[tuple[slice, np.ndarray]]:
    """Stream ``element`` as ([rows slice], [rows, len(names)] values of the named columns) blocks.

    Values keep the file's type when all properties share one (native byte order), else float64.
    Every size the header implies is checked against the file here, before anything is read or
    allocated. Binary blocks come from np.fromfile at the element's offset: a few MiB at a time,
    so the gathers and checks run in cache and nothing file-sized is ever allocated.
    """
    path = header.path
    lists = [p.name for p in element.properties if p.is_list]
    if lists:
        raise PlyHeaderError(path, f"element {element.name!r} has list properties ({', '.join(lists)}); Gaussians need fixed rows")
    before = header.elements[: next(i for i, e in enumerate(header.elements) if e is element)]
    index = [element.property_names.index(name) for name in names]
    if header.format == "ascii":
        return _ascii_blocks(header, element, sum(e.count for e in before), index)

    offset = header.header_bytes
    for prev in before:
        if prev.count and prev.stride is None:
            raise PlyHeaderError(
                path,
                f"element {prev.name!r} before {element.name!r} has list properties, so where {element.name!r} "
                "starts in this binary file is unknown without parsing it; lyra-sim does not support that layout",
            )
        offset += prev.count * (prev.stride or 0)
    n, stride = element.count, element.stride
    if offset + n * stride > header.file_size:  # Python ints: a count of 10**18 cannot overflow
        raise PlyTruncatedError(
            path,
            f"the header declares {n:,} {element.name!r} rows of {stride} bytes ({n * stride:,} bytes from byte "
            f"{offset:,}) but only {max(0, header.file_size - offset):,} bytes are there; the file is truncated "
            "or its header count is wrong",
        )
    endian = _FORMATS[header.format]
    codes = {_TYPES[p.type] for p in element.properties}
    if len(codes) == 1:  # the usual all-float file: rows are plain 2D arrays, gathered with np.take
        row_type = np.dtype((endian + codes.pop(), (len(element.properties),)))  # (k,): one property stays 2D
    else:
        row_type = np.dtype([(p.name, endian + _TYPES[p.type]) for p in element.properties])

    def blocks() -> Iterator[tuple[slice, np.ndarray]]:
        with open(path, "rb") as f:
            f.seek(offset)
            for r0 in range(0, n, _BLOCK_ROWS):
                rows = np.fromfile(f, dtype=row_type, count=min(_BLOCK_ROWS, n - r0))
                if len(rows) < min(_BLOCK_ROWS, n - r0):  # the file shrank since the size check
                    raise PlyTruncatedError(path, f"the data of element {element.name!r} ends at row {r0 + len(rows):,} of {n:,}")
                if rows.dtype.names:
                    block = np.stack([rows[name].astype(np.float64) for name in names], axis=1)
                else:
                    block = np.take(rows, index, axis=1)  # one pass over the rows; fancy indexing is slower
                yield slice(r0, r0 + len(rows)), block if block.dtype.isnative else block.astype(block.dtype.newbyteorder("="))

    return blocks()


def _ascii_blocks(header: PlyHeader, element: PlyElement, skip_rows: int, index: list[int]) -> Iterator[tuple[slice, np.ndarray]]:
    """As :func:`_row_blocks` for ascii: one row per line, after ``skip_rows`` lines of earlier elements."""
    path, n, p = header.path, element.count, len(element.properties)
    with open(path, "rb") as f:
        f.seek(header.header_bytes)
        body = f.read()
    ends = np.flatnonzero(np.frombuffer(body, np.uint8) == ord("\n"))
    if body and not body.endswith(b"\n"):
        ends = np.append(ends, len(body))
    if skip_rows + n > len(ends):
        raise PlyTruncatedError(
            path, f"the header declares {skip_rows + n:,} data rows up to element {element.name!r} but the file has "
            f"only {len(ends):,} lines of data; the file is truncated or its header count is wrong",
        )  # fmt: skip
    starts = np.concatenate([[0], ends + 1])

    def blocks() -> Iterator[tuple[slice, np.ndarray]]:
        for r0 in range(0, n, _BLOCK_ROWS):  # blocks of rows, each parsed in one vectorised call
            r1 = min(n, r0 + _BLOCK_ROWS)
            tokens = body[starts[skip_rows + r0] : ends[skip_rows + r1 - 1]].split()
            if len(tokens) != (r1 - r0) * p:
                raise (PlyTruncatedError if len(tokens) < (r1 - r0) * p else PlyValueError)(
                    path, f"{element.name!r} rows {r0:,}..{r1 - 1:,} hold {len(tokens):,} values, expected "
                    f"{(r1 - r0) * p:,} ({p} properties per row); a line is cut short or has extra values",
                )  # fmt: skip
            try:
                values = np.array(tokens, dtype=np.float64).reshape(r1 - r0, p)
            except ValueError:
                raise PlyValueError(path, f"{element.name!r} rows {r0:,}..{r1 - 1:,} hold a value that is not a number") from None
            yield slice(r0, r1), values[:, index]

    return blocks()


def _read_columns(header: PlyHeader, element: PlyElement, names: list[str]) -> np.ndarray:
    """[count, len(names)] values of the named columns of a whole (small) element."""
    blocks = [block for _, block in _row_blocks(header, element, names)]
    return np.concatenate(blocks) if blocks else np.zeros((0, len(names)))


def _nonfinite(values: np.ndarray) -> tuple[int, np.ndarray]:
    """(rows holding NaN/inf, NaN/inf count per column) of ``values`` [N, M]."""
    # Fast path: a float64 sum of finite values cannot overflow, so a finite sum means no NaN/inf.
    if values.dtype.kind != "f" or np.isfinite(values.sum(dtype=np.float64)):
        return 0, np.zeros(values.shape[1], np.int64)
    bad = ~np.isfinite(values)
    return int(bad.any(axis=1).sum()), bad.sum(axis=0)


def _nonfinite_problem(rows: int, counts: np.ndarray, names: list[str]) -> str:
    listing = ", ".join(f"{name} ({int(c):,})" for name, c in zip(names, counts) if c)
    return f"{rows:,} Gaussians have NaN/inf values in: {listing}"


def _raise_nonfinite(path: Path, rows: int, counts: np.ndarray, names: list[str]) -> None:
    if rows:
        raise PlyValueError(
            path, f"{_nonfinite_problem(rows, counts, names)}. Drop those vertices (e.g. with plyfile and "
            "numpy.isfinite) or re-export the scene from a training checkpoint without them",
        )  # fmt: skip


def _sh_order(header: PlyHeader, element: PlyElement) -> tuple[int, list[str]]:
    """(K, names of the SH properties in ``sh[n].reshape(-1)`` order, i.e. [K][3] row-major)."""
    path, present = header.path, set(element.property_names)
    rest = sorted(int(m.group(1)) for name in present if (m := _F_REST.match(name)))
    if len(rest) not in _F_REST_DEGREE:
        raise PlyHeaderError(
            path, f"{element.name!r} has {len(rest)} f_rest_* properties; SH degree 0, 1, 2 or 3 needs 0, 9, 24 or 45"
        )
    if rest != list(range(len(rest))):
        missing = sorted(set(range(len(rest))) - set(rest))
        raise PlyMissingPropertyError(path, f"{element.name!r} lacks {', '.join(f'f_rest_{i}' for i in missing)}")
    k = num_sh_bases(_F_REST_DEGREE[len(rest)])
    return k, [f"f_dc_{c}" if j == 0 else f"f_rest_{c * (k - 1) + j - 1}" for j in range(k) for c in range(3)]


def read_ply(path: str | Path, *, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> GaussianScene:
    """Read a 3DGS PLY (INRIA layout, or SuperSplat compressed) into activated Gaussians.

    Activations (sigmoid of the opacity logit, exp of the log-scales, quaternion normalisation)
    are computed in float64 and then cast, so with ``dtype=torch.float64`` a file read and
    written again with :func:`write_ply` reproduces its float32 values bit for bit (for
    realistic |logit|, |log-scale| <= 20 and unit quaternions; ``rot_*`` come back normalised).

    Args:
        path: the ``.ply`` file.
        dtype: float dtype of the returned tensors.
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
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise InvalidInputError(f"read_ply dtype must be a floating torch dtype, got {dtype!r}")
    header = read_ply_header(path)
    path = header.path
    vertex = header.element("vertex")
    if vertex is None:
        raise PlyHeaderError(path, "the file has no 'vertex' element (3DGS PLYs store one Gaussian per vertex)")
    if header.is_compressed:
        from lyra_sim.gaussians.ply_compressed import (
            decode_compressed,  # needs this module's helpers
        )

        return _to_scene(*decode_compressed(header), dtype, device)

    missing = [name for name in _REQUIRED if name not in vertex.property_names]
    if missing:
        hint = " (it looks like a point cloud or mesh, not 3D Gaussians)" if "f_dc_0" in missing else ""
        raise PlyMissingPropertyError(path, f"the vertex element lacks {', '.join(missing)}{hint}")
    k, sh_names = _sh_order(header, vertex)
    names = _XYZ + sh_names + ["opacity"] + _SCALES + _ROTS  # every column used, in output order
    blocks = _row_blocks(header, vertex, names)  # checks the sizes: must come before allocating
    n, work = vertex.count, (np.float64 if dtype == torch.float64 else np.float32)
    means, sh = np.empty((n, 3), work), np.empty((n, k, 3), work)
    opacities, scales, quats = np.empty(n, work), np.empty((n, 3), work), np.empty((n, 4), work)
    bad_rows, bad_counts, zero = 0, np.zeros(len(names), np.int64), 0
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # bad values are counted instead
        for rows, block in blocks:
            r, c = _nonfinite(block)
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
    _raise_nonfinite(path, bad_rows, bad_counts, names)
    if zero:
        raise PlyValueError(path, f"{zero:,} Gaussians have zero-length quaternions (rot_0..rot_3 all 0); drop them or set them to (1, 0, 0, 0)")
    huge = _nonfinite(scales)[0]  # finite log-scales whose exp overflows
    if huge:
        raise PlyValueError(path, f"{huge:,} Gaussians have log-scales (scale_*) so large that exp overflows {np.dtype(work).name}; drop them")
    return _to_scene(means, quats, scales, opacities, sh, dtype, device)


def _to_scene(means, quats, scales, opacities, sh, dtype: torch.dtype, device) -> GaussianScene:
    """Wrap activated numpy arrays as a GaussianScene of ``dtype`` on ``device``."""
    work = np.float64 if dtype == torch.float64 else np.float32

    def tensor(a: np.ndarray) -> torch.Tensor:  # zero-copy on CPU when the types already match
        return torch.from_numpy(np.ascontiguousarray(a, dtype=work)).to(device=device, dtype=dtype)

    return GaussianScene(tensor(means), tensor(quats), tensor(scales), tensor(opacities), tensor(sh))


def write_ply(scene: GaussianScene, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``scene`` as a binary little-endian float32 3DGS PLY (the INRIA layout).

    Logits ``log(o) - log1p(-o)`` (opacity clamped to [:data:`OPACITY_EPS`, 1 - eps]) and
    log-scales are computed in float64 before the float32 cast. The scene may live on any
    device and require grad. Written atomically through :func:`lyra_sim.io.atomic_output`:
    on any error the destination is untouched and no temporary file remains.

    Returns:
        ``path`` as a Path.

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is False.
        InvalidInputError: NaN/inf values, or scales <= 0, which no reader could use.
    """
    if not isinstance(scene, GaussianScene):
        raise InvalidInputError(f"write_ply needs a GaussianScene, got {type(scene).__name__}")
    n, k = len(scene), scene.sh.shape[1]
    names = _XYZ + ["nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    names += [f"f_rest_{i}" for i in range(3 * (k - 1))] + ["opacity"] + _SCALES + _ROTS
    fields = [("means", "<f4", 3), ("normals", "<f4", 3), ("dc", "<f4", 3)]
    fields += [("rest", "<f4", (3, k - 1))] if k > 1 else []
    fields += [("opacity", "<f4"), ("scales", "<f4", 3), ("rots", "<f4", 4)]
    # A structured array whose records are byte for byte the PLY rows. It holds one block of
    # rows, filled and written per block: nothing file-sized is allocated (on first-touch-slow
    # VMs a full-size buffer doubled the 10M write time), and each block is filled in cache.
    rows = np.empty(min(n, _BLOCK_ROWS), dtype=np.dtype(fields))
    assert rows.dtype.itemsize == 4 * len(names)
    means, quats, sh = (t.detach().to(device="cpu", dtype=torch.float32).numpy() for t in (scene.means, scene.quats, scene.sh))
    opacities, scales = (t.detach().to(device="cpu", dtype=torch.float64).numpy() for t in (scene.opacities, scene.scales))
    header = ["ply", "format binary_little_endian 1.0", "comment written by lyra-sim", f"element vertex {n}"]
    header += [f"property float {name}" for name in names] + ["end_header\n"]
    bad_rows, bad_counts = 0, np.zeros(len(names), np.int64)
    with atomic_output(path, overwrite) as tmp:
        # "r+b", not "wb": mkstemp made the file, and ext4 flushes truncated-then-rewritten files
        # to disk on close (auto_da_alloc), which would cost a synchronous write-back here.
        with open(tmp, "r+b") as f, np.errstate(divide="ignore", invalid="ignore"):
            f.write("\n".join(header).encode("ascii"))
            for r0 in range(0, n, _BLOCK_ROWS):
                r, block = slice(r0, r0 + _BLOCK_ROWS), rows[: min(_BLOCK_ROWS, n - r0)]
                block["means"], block["normals"], block["dc"], block["rots"] = means[r], 0.0, sh[r, 0, :], quats[r]
                if k > 1:
                    block["rest"] = sh[r, 1:, :].transpose(0, 2, 1)  # channel-major: f_rest_{c*(K-1)+j}
                o = np.clip(opacities[r], OPACITY_EPS, 1.0 - OPACITY_EPS)
                block["opacity"] = np.log(o) - np.log1p(-o)
                block["scales"] = np.log(scales[r])
                bad = _nonfinite(block.view("<f4").reshape(len(block), len(names)))
                bad_rows, bad_counts = bad_rows + bad[0], bad_counts + bad[1]
                if not bad_rows:
                    f.write(block)
        if bad_rows:  # raised inside atomic_output, so the partial temporary file is deleted
            raise InvalidInputError(
                f"cannot write {path}: {_nonfinite_problem(bad_rows, bad_counts, names)} (after the logit/log "
                "conversion: opacities must be in [0, 1] and scales > 0); scene.validate() finds the bad Gaussians"
            )
    return Path(path)
