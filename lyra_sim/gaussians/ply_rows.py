"""Streaming the rows of one PLY element, the checks every reader shares, and the SH column order.

Both PLY readers use these: :mod:`lyra_sim.gaussians.ply` (the INRIA layout) and
:mod:`lyra_sim.gaussians.ply_compressed` (SuperSplat's packed layout). Data moves in blocks of
:data:`BLOCK_ROWS` rows (np.fromfile at the element's offset, column gathers with np.take), so
there is no per-vertex Python and nothing file-sized is allocated; every size a header implies is
checked against the file before anything is read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from lyra_sim.errors import (
    PlyHeaderError,
    PlyMissingPropertyError,
    PlyTruncatedError,
    PlyValueError,
)
from lyra_sim.gaussians.ply_header import PLY_FORMATS, PLY_TYPES, PlyElement, PlyHeader
from lyra_sim.gaussians.sh_layout import num_sh_bases

_F_REST_DEGREE = {0: 0, 9: 1, 24: 2, 45: 3}
_F_REST = re.compile(r"f_rest_(\d+)$")
BLOCK_ROWS = 1 << 14
"""Rows per streamed block: a few MiB, so gathers and float64 temporaries stay in cache."""


def row_blocks(header: PlyHeader, element: PlyElement, names: list[str]) -> Iterator[tuple[slice, np.ndarray]]:
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
    endian = PLY_FORMATS[header.format]
    codes = {PLY_TYPES[p.type] for p in element.properties}
    if len(codes) == 1:  # the usual all-float file: rows are plain 2D arrays, gathered with np.take
        row_type = np.dtype((endian + codes.pop(), (len(element.properties),)))  # (k,): one property stays 2D
    else:
        row_type = np.dtype([(p.name, endian + PLY_TYPES[p.type]) for p in element.properties])

    def blocks() -> Iterator[tuple[slice, np.ndarray]]:
        with open(path, "rb") as f:
            f.seek(offset)
            for r0 in range(0, n, BLOCK_ROWS):
                rows = np.fromfile(f, dtype=row_type, count=min(BLOCK_ROWS, n - r0))
                if len(rows) < min(BLOCK_ROWS, n - r0):  # the file shrank since the size check
                    raise PlyTruncatedError(path, f"the data of element {element.name!r} ends at row {r0 + len(rows):,} of {n:,}")
                if rows.dtype.names:
                    block = np.stack([rows[name].astype(np.float64) for name in names], axis=1)
                else:
                    block = np.take(rows, index, axis=1)  # one pass over the rows; fancy indexing is slower
                yield slice(r0, r0 + len(rows)), block if block.dtype.isnative else block.astype(block.dtype.newbyteorder("="))

    return blocks()


def _ascii_blocks(header: PlyHeader, element: PlyElement, skip_rows: int, index: list[int]) -> Iterator[tuple[slice, np.ndarray]]:
    """As :func:`row_blocks` for ascii: one row per line, after ``skip_rows`` lines of earlier elements."""
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
        for r0 in range(0, n, BLOCK_ROWS):  # blocks of rows, each parsed in one vectorised call
            r1 = min(n, r0 + BLOCK_ROWS)
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


def read_columns(header: PlyHeader, element: PlyElement, names: list[str]) -> np.ndarray:
    """[count, len(names)] values of the named columns of a whole (small) element."""
    blocks = [block for _, block in row_blocks(header, element, names)]
    return np.concatenate(blocks) if blocks else np.zeros((0, len(names)))


def nonfinite(values: np.ndarray) -> tuple[int, np.ndarray]:
    """(rows holding NaN/inf, NaN/inf count per column) of ``values`` [N, M]."""
    # Fast path: a float64 sum of finite values cannot overflow, so a finite sum means no NaN/inf.
    if values.dtype.kind != "f" or np.isfinite(values.sum(dtype=np.float64)):
        return 0, np.zeros(values.shape[1], np.int64)
    bad = ~np.isfinite(values)
    return int(bad.any(axis=1).sum()), bad.sum(axis=0)


def nonfinite_problem(rows: int, counts: np.ndarray, names: list[str]) -> str:
    listing = ", ".join(f"{name} ({int(c):,})" for name, c in zip(names, counts) if c)
    return f"{rows:,} Gaussians have NaN/inf values in: {listing}"


def raise_nonfinite(path: Path, rows: int, counts: np.ndarray, names: list[str]) -> None:
    if rows:
        raise PlyValueError(
            path, f"{nonfinite_problem(rows, counts, names)}. Drop those vertices (e.g. with plyfile and "
            "numpy.isfinite) or re-export the scene from a training checkpoint without them",
        )  # fmt: skip


def sh_property_order(header: PlyHeader, element: PlyElement) -> tuple[int, list[str]]:
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
