"""Read and write Niantic ``.spz`` files (versions 1-4 read, 2-4 written), without the C++ library.

Layout, from ``nianticlabs/spz`` (``README.md``, ``src/cc/load-spz.cc``, ``src/cc/splat-utils.h``,
``src/cc/splat-types.h``), all little-endian:

* **Versions 1-3**: the whole file is one gzip stream. Inside, a 16-byte header
  ``uint32 magic = 0x5053474e ("NGSP"), uint32 version, uint32 numPoints, uint8 shDegree,
  uint8 fractionalBits, uint8 flags, uint8 reserved``, then the attribute arrays back to back, in
  this order: positions, alphas, colors, scales, rotations, SH, then (when ``flags & 0x2``)
  extension records.
* **Version 4**: plaintext ``NGSP`` header of 32 bytes ``magic, version, numPoints (uint32),
  shDegree, fractionalBits, flags, numStreams (uint8), tocByteOffset (uint32), 12 reserved``;
  extension records in ``[32, tocByteOffset)``; a table of contents of ``numStreams`` pairs
  ``uint64 compressedSize, uint64 uncompressedSize`` at ``tocByteOffset``; then each attribute
  array as its own zstd frame, in the same order, empty arrays (SH of degree 0) left out.
* Extension records: ``uint32 type, uint32 byteLength, payload``. ``0xADBE0003`` (Adobe
  coordinate system, payload uint32) names the frame the data is stored in; others are skipped.

Per Gaussian (``D = 0, 3, 8, 15, 24`` SH coefficients for degree 0-4):

============  =====================  =========================================================
array         bytes                  decoding
============  =====================  =========================================================
positions     9 (v1: 6, float16)     3 x int24 two's complement, ``v / 2**fractionalBits``
alphas        1                      ``opacity = a / 255`` (written ``round(sigmoid(logit) * 255)``)
colors        3                      ``f_dc = (c / 255 - 0.5) / 0.15``
scales        3                      ``log(scale) = s / 16 - 10``
rotations     3 (v1, v2)             x, y, z as ``b / 127.5 - 1``; ``w = sqrt(1 - x² - y² - z²)``
              4 (v3, v4)             uint32: bits 30-31 the index (x, y, z, w order) of the
                                     largest component, rebuilt positive; the other three in
                                     increasing index order at bits 20-29, 10-19, 0-9, each a
                                     sign bit (bit 9) and 9-bit magnitude ``m / 511 * sqrt(1/2)``
SH            3 * D                  coefficient-major, channel inner (``sh[k][c]``, as ours),
                                     ``(b - 128) / 128``; the writer rounds to 5 bits (degree 1)
                                     and 4 bits (degree 2+) like the reference
============  =====================  =========================================================

**Frame.** SPZ stores right-up-back (RUB, three.js/OpenGL); a 3DGS PLY and every lyra-sim scene
are right-down-front (RDF, OpenCV/COLMAP). The reference's ``spz_to_ply``/``ply_to_spz`` convert
between the two, and so does this module: a 180° turn about x, i.e. positions ``(x, -y, -z)``,
quaternion ``(w, x, -y, -z)`` and SH coefficients of odd parity in y+z negated (the reference's
``flipSh`` table). An SPZ -> PLY -> SPZ trip through either tool is thus the identity.

Every count is checked against the file before anything is allocated: a v1-3 header's
``numPoints`` bounds the decompressed size, which must not exceed what deflate can expand the
file into (1032:1); v4's TOC sizes must equal the sizes the header implies and stay within
the file. Decompression reads at most the declared size plus one byte, so a decompression bomb
costs nothing. Trailing bytes after the declared data (that are not declared extensions) are a
warning. Version 4 needs a zstd decoder: Python 3.14's ``compression.zstd`` or the
``zstandard`` package (``pip install zstandard``).
"""

from __future__ import annotations

import gzip
import io
import math
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lyra_sim.errors import InvalidInputError, MissingDependencyError, SplatFileError
from lyra_sim.gaussians.arrays import GaussianArrays, check_float_dtype
from lyra_sim.gaussians.sh_layout import num_sh_bases
from lyra_sim.io.atomic import atomic_output

if TYPE_CHECKING:
    from lyra_sim.gaussians.scene import GaussianScene

MAGIC = 0x5053474E
"""``NGSP`` read as a little-endian uint32 (bytes ``N G S P``)."""
LEGACY_HEADER = struct.Struct("<IIIBBBB")  # 16 bytes, versions 1-3 (inside the gzip stream)
NGSP_HEADER = struct.Struct("<IIIBBBBI12s")  # 32 bytes, version 4 (plaintext)
COLOR_SCALE = 0.15
"""SPZ stores ``f_dc * 0.15 + 0.5`` in a byte, i.e. a wider colour range than [0, 1]."""
SH_DIM = {0: 0, 1: 3, 2: 8, 3: 15, 4: 24}
"""SH coefficients per channel beyond the DC term, per SH degree."""
FLAG_ANTIALIASED, FLAG_EXTENSIONS = 0x1, 0x2
EXT_COORDINATE_SYSTEM = 0xADBE0003
MAX_DEFLATE_RATIO = 1032  # deflate cannot expand one input byte into more than ~1032 output bytes
MAX_ZSTD_RATIO = 1024  # the reference's own bound on points per zstd-compressed byte (kMaxCompressionRatio)
LATEST_VERSION = 4

# SH coefficient sign flips of RUB <-> RDF (x kept, y and z negated), per coefficient 1..15:
# the reference's flipSh table evaluated at x = 1, y = z = -1 (degree 1: y, z, x; degree 2: xy,
# yz, 1, xz, 1; degree 3: y, xyz, y, z, x, z, x). Degree 4 is dropped on read.
_SH_FLIP = np.array([-1, -1, 1, -1, 1, 1, -1, 1, -1, 1, -1, -1, 1, -1, 1], np.float64)
_POS_FLIP = np.array([1.0, -1.0, -1.0])
# Adobe coordinate-system codes whose axes differ from RUB only by sign (x: L/R, y: D/U, z: B/F):
# 1 LDB, 2 RDB, 3 LUB, 4 RUB, 5 LDF, 6 RDF, 7 LUF, 8 RUF. Codes 9-16 swap axes; not supported.
_COORD_NAMES = ["UNSPECIFIED", "LDB", "RDB", "LUB", "RUB", "LDF", "RDF", "LUF", "RUF",
                "LFD", "RFD", "LFU", "RFU", "LBD", "RBD", "LBU", "RBU"]  # fmt: skip


@dataclass(frozen=True)
class SpzHeader:
    """What an SPZ header says. ``data_offset`` is where the attribute arrays start in the
    (decompressed, for v1-3) byte stream; ``streams`` is v4's TOC as (compressed, uncompressed)."""

    version: int
    num_points: int
    sh_degree: int
    fractional_bits: int
    flags: int
    streams: tuple[tuple[int, int], ...] = ()
    toc_offset: int = 0

    def array_bytes(self) -> list[int]:
        """Bytes of positions, alphas, colors, scales, rotations, SH for this header."""
        n = self.num_points
        pos = 6 if self.version == 1 else 9
        rot = 4 if self.version >= 3 else 3
        return [n * pos, n, n * 3, n * 3, n * rot, n * 3 * SH_DIM[self.sh_degree]]


def _check_header(path: Path, version: int, n: int, degree: int) -> None:
    if not 1 <= version <= LATEST_VERSION:
        raise SplatFileError(path, f"SPZ version {version} is not one lyra-sim reads (1-{LATEST_VERSION})")
    if degree not in SH_DIM:
        raise SplatFileError(path, f"the SPZ header's SH degree {degree} is not 0-4; the header is corrupt")


def _warn(path: Path, message: str) -> None:
    warnings.warn(f"{path}: {message}", stacklevel=4)


# --------------------------------------------------------------------------------------- reading
def read_spz(path: str | Path, *, dtype=None, device="cpu") -> GaussianScene:
    """Read a Niantic ``.spz`` (version 1-4) into activated Gaussians in the PLY (RDF) frame.

    Returns:
        GaussianScene with means [N,3], quats [N,4] unit (w,x,y,z), scales [N,3] linear,
        opacities [N] in [0,1], sh [N,K,3] (K = 1, 4, 9 or 16; degree-4 files lose band 4 with
        a warning), in ``dtype`` on ``device``.

    Raises:
        SplatFileError: missing/unreadable file, not SPZ, corrupt or truncated compressed data,
            counts that do not fit the file, an unsupported version or coordinate system.
        MissingDependencyError: a version-4 file and no zstd decoder installed.
    """
    return read_spz_arrays(path, float64=check_float_dtype(dtype, "read_spz")).to_scene(dtype, device)


def read_spz_arrays(path: str | Path, *, float64: bool = False) -> GaussianArrays:
    """:func:`read_spz` without torch: the activated Gaussians as numpy arrays (float64 when
    ``float64`` else float32; same checks, same errors)."""
    path = Path(path)
    try:
        data = path.read_bytes()  # compressed: the file itself, never more
    except FileNotFoundError:
        raise SplatFileError(path, "no such file") from None
    except IsADirectoryError:
        raise SplatFileError(path, "is a directory, not an .spz file") from None
    except OSError as err:
        raise SplatFileError(path, f"cannot be read ({err.strerror or err})") from None
    if data[:4] == b"NGSP":
        header, arrays, extensions = _read_v4(path, data)
    elif data[:2] == b"\x1f\x8b":
        header, arrays, extensions = _read_legacy(path, data)
    else:
        raise SplatFileError(path, "not an SPZ file: it starts neither with 'NGSP' (version 4) nor with a gzip stream (1-3)")
    frame = _frame_from_extensions(path, extensions, header.flags)
    return _decode(path, header, arrays, frame, float64)


class _Inflater:
    """A gzip stream inflated on demand, never more than asked for (a decompression bomb costs
    only what the caller pulls)."""

    def __init__(self, path: Path, data: bytes):
        self.path, self.tail, self.z = path, data, zlib.decompressobj(16 + zlib.MAX_WBITS)

    def pull(self, limit: int) -> bytes:
        """Up to ``limit`` more bytes; fewer only where the stream ends (or the input runs out)."""
        out, got = [], 0
        while got < limit and not self.z.eof:
            before = len(self.tail)
            try:
                chunk = self.z.decompress(self.tail, min(limit - got, 1 << 24))
            except zlib.error as err:
                raise SplatFileError(self.path, f"the gzip stream is corrupt ({err})") from None
            self.tail = self.z.unconsumed_tail
            if not chunk and len(self.tail) == before:
                break  # no input left and nothing pending: the stream is cut short
            out.append(chunk)
            got += len(chunk)
        return b"".join(out)


def _read_legacy(path: Path, data: bytes) -> tuple[SpzHeader, list[bytes], bytes]:
    """Versions 1-3: inflate the 16-byte header, check its counts, then inflate exactly the arrays."""
    inflater = _Inflater(path, data)
    head = inflater.pull(LEGACY_HEADER.size)
    if len(head) < LEGACY_HEADER.size:
        raise SplatFileError(path, f"the gzip stream holds {len(head)} bytes, less than an SPZ header (16); it is truncated or not SPZ")
    magic, version, n, degree, bits, flags, _ = LEGACY_HEADER.unpack(head)
    if magic != MAGIC:
        raise SplatFileError(path, "a gzip file, but not SPZ: the decompressed data does not start with 'NGSP'")
    if version >= 4:
        raise SplatFileError(path, f"a gzip-compressed SPZ must be version 1-3, this header says {version}")
    _check_header(path, version, n, degree)
    header = SpzHeader(version, n, degree, bits, flags)
    sizes = header.array_bytes()
    need = sum(sizes)
    if need > len(data) * MAX_DEFLATE_RATIO:
        raise SplatFileError(
            path, f"the header declares {n:,} Gaussians ({need:,} bytes) but {len(data):,} compressed bytes cannot "
            "hold that much; the file is truncated or its header is corrupt",
        )  # fmt: skip
    body = inflater.pull(need)
    if len(body) < need:
        raise SplatFileError(
            path, f"the header declares {n:,} Gaussians ({need:,} bytes of arrays) but the data ends after "
            f"{len(body):,}; the file is truncated",
        )  # fmt: skip
    rest = inflater.pull(1 << 16)  # extension records are a few bytes
    extra, cap = len(rest), 64 << 20
    while not inflater.z.eof and extra < cap:  # more trailing data is only counted, up to 64 MiB
        more = len(inflater.pull(1 << 20))
        if not more:
            break
        extra += more
    if not inflater.z.eof and extra < cap:
        raise SplatFileError(path, "the gzip stream ends early (no end-of-stream marker); the file is truncated")
    if inflater.z.unused_data:
        _warn(path, f"{len(inflater.z.unused_data):,} bytes after the end of the gzip stream were ignored")
    extensions = rest if flags & FLAG_EXTENSIONS else b""
    if extra and not flags & FLAG_EXTENSIONS:
        _warn(path, f"{extra:,}{'+' if extra >= cap else ''} bytes after the declared SPZ data were ignored")
    arrays, offset = [], 0
    for size in sizes:
        arrays.append(body[offset : offset + size])
        offset += size
    return header, arrays, extensions


def _zstd_decompress(path: Path, frame: bytes, size: int) -> bytes:
    """At most ``size + 1`` bytes of the zstd ``frame`` (so a bomb cannot allocate more)."""
    try:
        from compression import zstd  # Python 3.14+

        try:
            d = zstd.ZstdDecompressor()
            out = d.decompress(frame, max_length=size + 1)
            complete = d.eof
        except zstd.ZstdError as err:
            raise SplatFileError(path, f"a zstd stream is corrupt ({err})") from None
    except ImportError:
        try:
            import zstandard
        except ImportError:
            raise MissingDependencyError(
                f"{path} is an SPZ version 4 file, which is zstd-compressed: pip install zstandard "
                "(or use Python 3.14+), or convert it to version 3 with Niantic's spz tools"
            ) from None
        try:
            parts, got = [], 0
            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(frame), read_across_frames=False) as r:
                while got <= size:
                    part = r.read(min(size + 1 - got, 1 << 24))
                    if not part:
                        break
                    parts.append(part)
                    got += len(part)
            out, complete = b"".join(parts), True
        except zstandard.ZstdError as err:
            raise SplatFileError(path, f"a zstd stream is corrupt ({err})") from None
    if len(out) != size or not complete:
        raise SplatFileError(path, f"a zstd stream holds {len(out):,}{'+' if len(out) > size else ''} bytes, its TOC says {size:,}")
    return out


def _read_v4(path: Path, data: bytes) -> tuple[SpzHeader, list[bytes], bytes]:
    """Version 4: plaintext header and TOC, one zstd frame per non-empty array."""
    if len(data) < NGSP_HEADER.size:
        raise SplatFileError(path, f"{len(data)} bytes is shorter than an SPZ version-4 header (32); the file is truncated")
    _, version, n, degree, bits, flags, num_streams, toc, _ = NGSP_HEADER.unpack_from(data)
    if version < 4:
        raise SplatFileError(path, f"a plaintext 'NGSP' header must be version 4+, this one says {version} (versions 1-3 are gzip)")
    _check_header(path, version, n, degree)
    if n > len(data) * MAX_ZSTD_RATIO // 9:
        raise SplatFileError(path, f"the header declares {n:,} Gaussians, more than {len(data):,} bytes can hold; the header is corrupt")
    toc_end = toc + 16 * num_streams
    if toc < NGSP_HEADER.size or toc_end > len(data):
        raise SplatFileError(path, f"the TOC at byte {toc:,} ({num_streams} streams) lies outside the {len(data):,}-byte file")
    streams = tuple(struct.unpack_from("<QQ", data, toc + 16 * i) for i in range(num_streams))
    header = SpzHeader(version, n, degree, bits, flags, streams, toc)
    sizes = header.array_bytes()
    present = [i for i, s in enumerate(sizes) if s]
    if num_streams != len(present) or [u for _, u in streams] != [sizes[i] for i in present]:
        raise SplatFileError(
            path, f"the TOC lists {num_streams} streams of {[u for _, u in streams]} bytes; {n:,} Gaussians of SH "
            f"degree {degree} need {len(present)} of {[sizes[i] for i in present]}",
        )  # fmt: skip
    offset = toc_end
    arrays = [b""] * len(sizes)
    for i, (compressed, size) in zip(present, streams):
        if compressed > len(data) - offset:
            raise SplatFileError(path, f"stream {i} ({compressed:,} bytes at byte {offset:,}) runs past the end of the file; it is truncated")
        arrays[i] = _zstd_decompress(path, data[offset : offset + compressed], size)
        offset += compressed
    if offset < len(data):
        _warn(path, f"{len(data) - offset:,} bytes after the last declared stream were ignored")
    return header, arrays, data[NGSP_HEADER.size : toc] if flags & FLAG_EXTENSIONS else b""


def _frame_from_extensions(path: Path, ext: bytes, flags: int) -> str:
    """The frame the arrays are stored in: RUB unless an Adobe coordinate-system record says otherwise."""
    frame, pos, skipped = "RUB", 0, []
    while pos + 8 <= len(ext):
        kind, length = struct.unpack_from("<II", ext, pos)
        payload = ext[pos + 8 : pos + 8 + length]
        if len(payload) < length:
            _warn(path, f"extension record 0x{kind:08X} claims {length:,} bytes, only {len(payload):,} remain; ignored")
            break
        if kind == EXT_COORDINATE_SYSTEM and length >= 4:
            code = struct.unpack_from("<I", payload)[0]
            if code == 0:
                frame = "RUB"
            elif 1 <= code <= 8:
                frame = _COORD_NAMES[code]
            else:
                name = _COORD_NAMES[code] if code < len(_COORD_NAMES) else f"code {code}"
                raise SplatFileError(
                    path, f"the data is stored in the {name} frame (Adobe coordinate-system extension), which swaps "
                    "axes; lyra-sim reads only sign-flipped frames: convert it with Niantic's spz tools to RUB",
                )  # fmt: skip
        else:
            skipped.append(f"0x{kind:08X}")
        pos += 8 + length
    if skipped:
        _warn(path, f"SPZ extensions {', '.join(skipped)} were skipped (not used for Gaussians)")
    return frame


def _signs(frame: str) -> np.ndarray:
    """Per-axis signs taking ``frame`` (one of the eight sign-flipped frames) to RDF."""
    return np.array([1.0 if frame[0] == "R" else -1.0, 1.0 if frame[1] == "D" else -1.0, 1.0 if frame[2] == "F" else -1.0])


def _sh_signs(sx: float, sy: float, sz: float) -> np.ndarray:
    """Signs of SH coefficients 1..15 under the axis flip (sx, sy, sz) (reference ``flipSh``)."""
    return np.array([sy, sz, sx, sx * sy, sy * sz, 1, sx * sz, 1, sy, sx * sy * sz, sy, sz, sx, sz, sx], np.float64)


def _decode(path: Path, h: SpzHeader, arrays: list[bytes], frame: str, float64: bool) -> GaussianArrays:
    n = h.num_points
    pos_b, alpha_b, color_b, scale_b, rot_b, sh_b = (np.frombuffer(a, np.uint8) for a in arrays)
    if h.version == 1:
        means = pos_b.view("<f2").astype(np.float64).reshape(n, 3)
    else:
        p = pos_b.reshape(n * 3, 3).astype(np.int32)
        fixed = p[:, 0] | (p[:, 1] << 8) | (p[:, 2] << 16)
        fixed = np.where(fixed & 0x800000, fixed - (1 << 24), fixed)  # sign-extend the 24-bit value
        means = np.ldexp(fixed.astype(np.float64), -h.fractional_bits).reshape(n, 3)
    opacities = alpha_b.astype(np.float64) / 255.0
    dc = (color_b.astype(np.float64).reshape(n, 3) / 255.0 - 0.5) / COLOR_SCALE
    scales = np.exp(scale_b.astype(np.float64).reshape(n, 3) / 16.0 - 10.0)
    if h.version >= 3:
        quats_xyzw = _unpack_smallest_three(rot_b.view("<u4").astype(np.uint32) if n else np.zeros(0, np.uint32))
    else:
        xyz = rot_b.astype(np.float64).reshape(n, 3) / 127.5 - 1.0
        w = np.sqrt(np.maximum(0.0, 1.0 - (xyz**2).sum(1)))
        quats_xyzw = np.concatenate([xyz, w[:, None]], 1)
    dim = SH_DIM[h.sh_degree]
    rest = (sh_b.astype(np.float64).reshape(n, dim, 3) - 128.0) / 128.0
    if dim > 15:
        _warn(path, "SH degree 4 is more than lyra-sim renders (0-3); band 4 was dropped")
        rest = rest[:, :15]

    if h.version == 1 and not np.isfinite(means).all():  # float16 positions are the only way to get inf/NaN
        bad = ~np.isfinite(means)
        per = ", ".join(f"position_{'xyz'[a]} ({int(c):,})" for a, c in enumerate(bad.sum(0)) if c)
        raise SplatFileError(path, f"{int(bad.any(1).sum()):,} Gaussians have NaN/inf values in: {per}")

    # Stored frame -> RDF: flip the axes whose sign differs (RUB: y and z, a 180-degree turn about x).
    s = _signs(frame)
    means = means * s
    quats_xyzw[:, :3] *= s[[1, 0, 0]] * s[[2, 2, 1]]  # the reference's flipQ: (sy*sz, sx*sz, sx*sy)
    rest = rest * _sh_signs(*s)[: rest.shape[1], None]
    quats = quats_xyzw[:, [3, 0, 1, 2]]
    norm = np.linalg.norm(quats, axis=1, keepdims=True)
    quats = quats / np.where(norm > 0, norm, 1.0)
    quats[norm[:, 0] == 0] = (1.0, 0.0, 0.0, 0.0)  # v2 bytes (255, 255, 255) are |xyz| > 1: w = 0, xyz kept
    k = num_sh_bases(min(h.sh_degree, 3))
    sh = np.concatenate([dc[:, None, :], rest], 1).reshape(n, k, 3)
    work = np.float64 if float64 else np.float32
    return GaussianArrays(*(a.astype(work, copy=False) for a in (means, quats, scales, opacities, sh)))


def _unpack_smallest_three(comp: np.ndarray) -> np.ndarray:
    """[N] uint32 smallest-three words -> [N, 4] (x, y, z, w) quaternions, largest component >= 0."""
    n = len(comp)
    largest = (comp >> np.uint32(30)).astype(np.intp)
    q = np.empty((n, 4))
    others = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[largest]  # indices in increasing order
    total = np.zeros(n)
    for j, shift in enumerate((20, 10, 0)):
        field = (comp >> np.uint32(shift)) & np.uint32(0x3FF)
        value = math.sqrt(0.5) * (field & np.uint32(0x1FF)).astype(np.float64) / 511.0
        value = np.where(field & np.uint32(0x200), -value, value)
        q[np.arange(n), others[:, j]] = value
        total += value**2
    q[np.arange(n), largest] = np.sqrt(np.maximum(0.0, 1.0 - total))
    return q


# --------------------------------------------------------------------------------------- writing
def _fractional_bits(path, means: np.ndarray) -> int:
    """The reference's 12 fractional bits (1/4096 unit), fewer when the scene is too large for
    int24 at that precision (|x| < 2**23 / 2**bits)."""
    extent = float(np.abs(means).max()) if means.size else 0.0
    for bits in range(12, -1, -1):
        if math.floor(extent * (1 << bits) + 0.5) < (1 << 23):
            return bits
    raise InvalidInputError(f"cannot write {path}: positions reach {extent:.3g} units, beyond the ±8,388,607 an SPZ int24 holds")


def _quantize_sh(x: np.ndarray, bits: int) -> np.ndarray:
    """SH coefficients -> bytes ``round(x * 128) + 128`` rounded to a multiple of ``2**(8-bits)``
    (the reference's bucket centres; 0 stays exactly 128)."""
    q = np.floor(x * 128.0 + 0.5) + 128.0
    bucket = 1 << (8 - bits)
    q = np.floor((q + bucket // 2) / bucket) * bucket
    return np.clip(q, 0, 255).astype(np.uint8)


def encode_spz_arrays(scene: GaussianScene, version: int = 3, sh_bits: tuple[int, int] = (5, 4), path=None) -> tuple[SpzHeader, list[bytes]]:
    """``scene`` (RDF frame) as SPZ header fields and the six attribute arrays (RUB frame).

    Raises:
        InvalidInputError: NaN/inf values, scales <= 0, positions beyond int24, a bad version or sh_bits.
    """
    if version not in (2, 3, 4):
        raise InvalidInputError(f"SPZ versions 2, 3 and 4 can be written, not {version!r}")
    if not all(isinstance(b, int) and 1 <= b <= 8 for b in sh_bits) or len(sh_bits) != 2:
        raise InvalidInputError(f"sh_bits must be two integers in 1..8 (degree 1, degree 2+), got {sh_bits!r}")
    import torch

    get = lambda t: t.detach().to("cpu", torch.float64).numpy()  # noqa: E731
    means, quats, scales, opac, sh = (get(t) for t in (scene.means, scene.quats, scene.scales, scene.opacities, scene.sh))
    bad = [name for name, a in (("means", means), ("quats", quats), ("scales", scales), ("opacities", opac), ("sh", sh)) if not np.isfinite(a).all()]
    if bad or (scales <= 0).any():
        raise InvalidInputError(f"cannot write {path}: NaN/inf in {', '.join(bad) or 'nothing'}{', scales <= 0' if (scales <= 0).any() else ''}")
    n, degree = len(scene), scene.sh_degree
    bits = _fractional_bits(path, means)
    byte = lambda v: np.clip(np.floor(v + 0.5), 0, 255).astype(np.uint8)  # noqa: E731  (round half up, like std::round here)

    # RDF -> RUB (its own inverse).
    means = means * _POS_FLIP
    fixed = np.floor(means * (1 << bits) + 0.5).astype(np.int64) & 0xFFFFFF
    positions = np.stack([fixed & 0xFF, (fixed >> 8) & 0xFF, fixed >> 16], -1).astype(np.uint8)
    alphas = byte(np.clip(opac, 0, 1) * 255.0)
    colors = byte(sh[:, 0, :] * (COLOR_SCALE * 255.0) + 127.5)
    log_scales = byte((np.log(scales) + 10.0) * 16.0)
    q = quats[:, [1, 2, 3, 0]] / np.linalg.norm(quats, axis=1, keepdims=True)  # (x, y, z, w)
    q[:, :3] *= _POS_FLIP[[1, 0, 0]] * _POS_FLIP[[2, 2, 1]]
    if version >= 3:
        rotations = _pack_smallest_three(q).astype("<u4").view(np.uint8).reshape(n, 4)
    else:
        q = q * np.where(q[:, 3:] < 0, -1.0, 1.0)  # w >= 0, so it can be rebuilt from xyz
        rotations = byte(q[:, :3] * 127.5 + 127.5)
    rest = sh[:, 1:, :] * _sh_signs(*_POS_FLIP)[: sh.shape[1] - 1, None]
    shq = np.empty(rest.shape, np.uint8)
    shq[:, :3] = _quantize_sh(rest[:, :3], sh_bits[0])
    shq[:, 3:] = _quantize_sh(rest[:, 3:], sh_bits[1])
    header = SpzHeader(version, n, degree, bits, 0)
    return header, [a.tobytes() for a in (positions, alphas, colors, log_scales, rotations, shq)]


def _pack_smallest_three(q: np.ndarray) -> np.ndarray:
    """[N, 4] unit (x, y, z, w) -> [N] uint32 words (layout in the module docstring)."""
    n = len(q)
    largest = np.abs(q).argmax(1)
    q = q * np.where(q[np.arange(n), largest] < 0, -1.0, 1.0)[:, None]
    word = largest.astype(np.uint64)
    for i in range(4):
        keep = largest != i
        mag = np.floor(511.0 * np.abs(q[:, i]) / math.sqrt(0.5) + 0.5).astype(np.uint64)
        field = (np.minimum(mag, 511) | (q[:, i] < 0).astype(np.uint64) << np.uint64(9))
        word = np.where(keep, (word << np.uint64(10)) | field, word)
    return word.astype(np.uint32)


def write_spz(scene: GaussianScene, path: str | Path, *, version: int = 3, sh_bits: tuple[int, int] = (5, 4),
              overwrite: bool = False) -> Path:
    """Write ``scene`` (RDF frame, as every lyra-sim scene) as a Niantic ``.spz``, atomically.

    Args:
        version: 3 (default: gzip, smallest-three quaternions; read by every SPZ viewer), 2 (gzip,
            8-bit xyz quaternions, for old readers) or 4 (zstd streams; needs ``zstandard``).
        sh_bits: bits kept per SH coefficient of degree 1 and of degree 2+ (the reference's
            defaults 5 and 4; 8 keeps the full byte).

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is False.
        InvalidInputError: NaN/inf values, scales <= 0, positions beyond ±8.4 M units.
        MissingDependencyError: version 4 without a zstd encoder.
    """
    from lyra_sim.gaussians.scene import GaussianScene

    if not isinstance(scene, GaussianScene):
        raise InvalidInputError(f"write_spz needs a GaussianScene, got {type(scene).__name__}")
    header, arrays = encode_spz_arrays(scene, version, sh_bits, path)
    if version < 4:
        head = LEGACY_HEADER.pack(MAGIC, version, header.num_points, header.sh_degree, header.fractional_bits, 0, 0)
        blob = gzip.compress(head + b"".join(arrays), compresslevel=6, mtime=0)
    else:
        frames = [_zstd_compress(a) for a in arrays if a]
        toc = b"".join(struct.pack("<QQ", len(f), len(a)) for f, a in zip(frames, [a for a in arrays if a]))
        head = NGSP_HEADER.pack(MAGIC, 4, header.num_points, header.sh_degree, header.fractional_bits, 0, len(frames), NGSP_HEADER.size, bytes(12))
        blob = head + toc + b"".join(frames)
    with atomic_output(path, overwrite) as tmp:
        tmp.write_bytes(blob)
    return Path(path)


def _zstd_compress(data: bytes) -> bytes:
    try:
        from compression import zstd  # Python 3.14+

        return zstd.compress(data, level=12)
    except ImportError:
        pass
    try:
        import zstandard
    except ImportError:
        raise MissingDependencyError("SPZ version 4 is zstd-compressed: pip install zstandard, or write version 3 (the default)") from None
    return zstandard.ZstdCompressor(level=12, write_content_size=True).compress(data)
