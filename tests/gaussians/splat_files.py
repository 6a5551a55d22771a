"""Small valid files of every 3DGS format, built independently of lyra_sim's writers from the
formats' published byte layouts (struct/numpy), for the format, round-trip and fuzz tests.

Each builder takes *stored* values in the file's own conventions (see each docstring) and returns
the file's bytes. Used as a helper module (tests/conftest.py puts this directory on sys.path).
"""

from __future__ import annotations

import gzip
import math
import struct

import numpy as np

SH_C0 = 0.28209479177387814


def ply_bytes(cols: dict[str, np.ndarray], fmt: str = "binary_little_endian", ptype: str = "float") -> bytes:
    """A 3DGS PLY with one ``vertex`` element holding ``cols`` (name -> [N] values) in order."""
    n = len(next(iter(cols.values())))
    header = ["ply", f"format {fmt} 1.0", f"element vertex {n}"] + [f"property {ptype} {k}" for k in cols] + ["end_header"]
    head = ("\n".join(header) + "\n").encode()
    table = np.stack(list(cols.values()), 1)
    if fmt == "ascii":
        return head + "".join(" ".join(f"{v:.9g}" for v in row) + "\n" for row in table).encode()
    code = {"float": "f4", "double": "f8"}[ptype]
    return head + table.astype(("<" if fmt.endswith("little_endian") else ">") + code).tobytes()


def inria_columns(n: int, degree: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Stored (pre-activation) INRIA columns: positions, f_dc, f_rest, logit opacity, log-scales, rot."""
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    cols = {"x": f(n), "y": f(n), "z": f(n)} | {f"f_dc_{c}": f(n) for c in range(3)}
    cols |= {f"f_rest_{i}": f(n) * 0.2 for i in range(3 * ((degree + 1) ** 2 - 1))}
    cols |= {"opacity": f(n)} | {f"scale_{i}": f(n) - 4 for i in range(3)} | {f"rot_{i}": f(n) for i in range(4)}
    return cols


def splat_bytes(pos: np.ndarray, scale: np.ndarray, rgba: np.ndarray, rot: np.ndarray) -> bytes:
    """antimatter15 .splat: per row 3 float32 position, 3 float32 linear scale, 4 uint8 RGBA,
    4 uint8 quaternion (w, x, y, z) as q * 128 + 128; no header."""
    out = bytearray()
    for p, s, c, q in zip(pos, scale, rgba, rot):
        out += struct.pack("<3f3f4B4B", *p, *s, *c, *q)
    return bytes(out)


def spz_payload(version: int, pos_fixed: np.ndarray, alpha: np.ndarray, color: np.ndarray, scale: np.ndarray,
                rot: np.ndarray, sh: np.ndarray, degree: int, bits: int = 12, flags: int = 0) -> tuple[bytes, list[bytes]]:
    """The SPZ 16-byte legacy header and the six arrays (bytes), from already-quantised values:
    ``pos_fixed`` [N,3] int (int24, or float16 values for v1), ``alpha`` [N] u8, ``color`` [N,3] u8,
    ``scale`` [N,3] u8, ``rot`` [N,3] u8 (v1-2) or [N] uint32 smallest-three words (v3+),
    ``sh`` [N,D,3] u8."""
    n = len(alpha)
    header = struct.pack("<IIIBBBB", 0x5053474E, version, n, degree, bits, flags, 0)
    if version == 1:
        positions = np.asarray(pos_fixed, "<f2").tobytes()
    else:
        positions = b"".join(struct.pack("<i", int(v))[:3] for v in np.asarray(pos_fixed).reshape(-1))
    rotations = np.asarray(rot, "<u4").tobytes() if version >= 3 else np.asarray(rot, np.uint8).tobytes()
    arrays = [positions, np.asarray(alpha, np.uint8).tobytes(), np.asarray(color, np.uint8).tobytes(),
              np.asarray(scale, np.uint8).tobytes(), rotations, np.asarray(sh, np.uint8).tobytes()]  # fmt: skip
    return header, arrays


def spz_legacy_bytes(header: bytes, arrays: list[bytes], tail: bytes = b"") -> bytes:
    """Versions 1-3: one gzip stream of header + arrays (+ ``tail``)."""
    return gzip.compress(header + b"".join(arrays) + tail, mtime=0)


def spz_v4_bytes(header16: bytes, arrays: list[bytes], extensions: bytes = b"") -> bytes:
    """Version 4: 32-byte plaintext header, extensions, TOC, one zstd frame per non-empty array."""
    import zstandard

    magic, _, n, degree, bits, flags, _ = struct.unpack("<IIIBBBB", header16)
    present = [a for a in arrays if a]
    frames = [zstandard.ZstdCompressor(level=3).compress(a) for a in present]
    toc_offset = 32 + len(extensions)
    flags |= 0x2 if extensions else 0
    head = struct.pack("<IIIBBBBI12s", magic, 4, n, degree, bits, flags, len(frames), toc_offset, bytes(12))
    toc = b"".join(struct.pack("<QQ", len(f), len(a)) for f, a in zip(frames, present))
    return head + extensions + toc + b"".join(frames)


def smallest_three(q_xyzw: np.ndarray) -> np.ndarray:
    """[N,4] unit (x,y,z,w) -> uint32 words: 2-bit index of the largest |component| (made positive),
    then the other three in index order, each sign bit + 9-bit magnitude of |v| / sqrt(1/2)."""
    words = []
    for q in q_xyzw:
        i = int(np.argmax(np.abs(q)))
        q = -q if q[i] < 0 else q
        w = i
        for j in range(4):
            if j != i:
                w = (w << 10) | (int(q[j] < 0) << 9) | int(math.floor(511 * abs(q[j]) / math.sqrt(0.5) + 0.5))
        words.append(w)
    return np.array(words, np.uint32)
