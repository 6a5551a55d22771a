"""Fuzzing every reader: random, seeded mutations of small valid files of every format (header
text, counts, types, header fields, truncations, flipped and appended bytes) are read with
read_gaussians; each outcome must be a clean GaussianScene or a LyraSimError subclass, never
another exception, a hang or an allocation beyond a fixed bound."""

from __future__ import annotations

import gzip
import re
import struct
import time
import tracemalloc
import warnings

import numpy as np
import pytest
import torch
from splat_files import (
    inria_columns,
    ply_bytes,
    smallest_three,
    spz_legacy_bytes,
    spz_payload,
    spz_v4_bytes,
)

from lyra_sim.errors import LyraSimError
from lyra_sim.gaussians.formats import read_gaussians, write_gaussians
from lyra_sim.gaussians.scene import GaussianScene

N = 20  # Gaussians per seed file: small enough for hundreds of reads in seconds
PEAK_BYTES = 24 << 20  # every file is < 16 KiB: any read allocating 24 MiB believed a header it should not have
READ_SECONDS = 5.0  # a generous per-read bound on a loaded 2-core CPU; a hang would blow it


def _spz_parts(version: int, degree: int = 1, seed: int = 0):
    rng = np.random.default_rng(seed)
    d = {0: 0, 1: 3, 2: 8, 3: 15}[degree]
    q = rng.normal(size=(N, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    rot = smallest_three(q) if version >= 3 else rng.integers(0, 256, (N, 3))
    pos = rng.normal(size=(N, 3)) if version == 1 else rng.integers(-(1 << 23), 1 << 23, (N, 3))
    return spz_payload(version, pos, rng.integers(0, 256, N), rng.integers(0, 256, (N, 3)), rng.integers(0, 256, (N, 3)),
                       rot, rng.integers(0, 256, (N, d, 3)), degree)  # fmt: skip


def seed_files() -> dict[str, bytes]:
    """One small valid file per format and variant, keyed by a name."""
    rng = np.random.default_rng(1)
    files = {
        "ply_binary": ply_bytes(inria_columns(N, 1)),
        "ply_ascii": ply_bytes(inria_columns(N, 0), fmt="ascii"),
        "ply_big_endian_double": ply_bytes(inria_columns(N, 0), fmt="binary_big_endian", ptype="double"),
    }
    g = torch.Generator().manual_seed(0)
    scene = GaussianScene(torch.randn(300, 3, generator=g), torch.nn.functional.normalize(torch.randn(300, 4, generator=g), dim=-1),
                          torch.rand(300, 3, generator=g) * 0.1 + 0.01, torch.rand(300, generator=g), torch.randn(300, 4, 3, generator=g) * 0.2)  # fmt: skip
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        files["compressed_ply"] = write_gaussians(scene, Path(tmp) / "c.compressed.ply").read_bytes()
    rows = []
    for _ in range(N):
        rows.append(struct.pack("<3f3f4B4B", *rng.normal(size=3), *rng.uniform(0.01, 1, 3), *rng.integers(0, 256, 4), *rng.integers(1, 256, 4)))
    files["splat"] = b"".join(rows)
    for v in (1, 2, 3):
        files[f"spz_v{v}"] = spz_legacy_bytes(*_spz_parts(v))
    files["spz_v4"] = spz_v4_bytes(*_spz_parts(4, degree=2))
    return files


def _mutate(name: str, data: bytes, rng: np.random.Generator) -> bytes:
    """One random mutation of ``data`` (a seed file of format ``name``)."""
    kind = rng.integers(0, 8)
    b = bytearray(data)
    if kind == 0:  # truncate anywhere
        return bytes(b[: rng.integers(0, len(b))])
    if kind == 1:  # flip a few random bytes
        for _ in range(rng.integers(1, 9)):
            b[rng.integers(0, len(b))] = rng.integers(0, 256)
        return bytes(b)
    if kind == 2:  # append garbage
        return bytes(b) + rng.bytes(int(rng.integers(1, 300)))
    if kind == 3 and name.startswith(("ply", "compressed")):  # header text: counts, types, lines
        end = data.index(b"end_header") + len(b"end_header\n")
        head, body = data[:end].decode("latin-1"), data[end:]
        lines = head.split("\n")
        i = int(rng.integers(1, len(lines) - 2))
        choice = rng.integers(0, 6)
        if choice == 0:
            lines = [re.sub(r"(element \w+) \d+", lambda m: f"{m.group(1)} {rng.choice(['9' * 5000, '-3', '0', str(2**64), '18446744073709551615', '1e3', '7'])}", line) for line in lines]  # noqa: E501
        elif choice == 1:
            lines[i] = re.sub(r"property (\w+)", f"property {rng.choice(['uchar', 'double', 'int', 'list uchar float', 'half', 'char'])}", lines[i])
        elif choice == 2:
            del lines[i]
        elif choice == 3:
            lines.insert(i, lines[i])
        elif choice == 4:
            lines[i] = rng.choice(["format binary_big_endian 1.0", "format ascii 1.0", "element sh 5", "comment x", "property float f_rest_0", "bogus"])
        else:
            lines[i] = lines[i][: rng.integers(0, len(lines[i]) + 1)]
        return "\n".join(lines).encode("latin-1") + body
    if kind in (3, 4) and name.startswith("spz_v") and name != "spz_v4":  # header fields inside the gzip stream
        raw = bytearray(gzip.decompress(data))
        field = rng.integers(0, 7)
        offsets = [(0, "<I"), (4, "<I"), (8, "<I"), (12, "B"), (13, "B"), (14, "B"), (15, "B")]
        off, fmt = offsets[field]
        top = 2**32 if fmt == "<I" else 256
        struct.pack_into(fmt, raw, off, int(rng.choice([0, 1, 2, 3, 4, 5, N - 1, N + 1, 10**6, top - 1, rng.integers(0, top)])) % top)
        if rng.random() < 0.3:
            raw = raw[: rng.integers(16, len(raw) + 1)] if rng.random() < 0.5 else raw + rng.bytes(int(rng.integers(1, 64)))
        return gzip.compress(bytes(raw), mtime=0)
    if kind in (3, 4) and name == "spz_v4":  # plaintext header and TOC fields
        fields = [(4, "<I"), (8, "<I"), (12, "B"), (13, "B"), (14, "B"), (15, "B"), (16, "<I")] + [(32 + 8 * j, "<Q") for j in range(12)]
        off, fmt = fields[rng.integers(0, len(fields))]
        top = {"<I": 2**32, "B": 256, "<Q": 2**64}[fmt]
        struct.pack_into(fmt, b, off, int(rng.choice([0, 1, 4, 6, N + 1, 10**9, top - 1, rng.integers(0, min(top, 2**63))])) % top)
        return bytes(b)
    if kind == 5 and name == "splat":  # a non-finite, negative or zero value in a row
        row = int(rng.integers(0, len(b) // 32))
        struct.pack_into("<f", b, row * 32 + 4 * int(rng.integers(0, 6)), float(rng.choice([np.nan, np.inf, -1.0, 0.0, 3e38])))
        if rng.random() < 0.5:
            b[row * 32 + 28 : row * 32 + 32] = b"\x80\x80\x80\x80"
        return bytes(b)
    if kind == 6:  # overwrite a whole 4-byte word with an extreme value (counts, floats, packed words)
        off = int(rng.integers(0, max(1, len(b) - 4)))
        b[off : off + 4] = struct.pack("<I", int(rng.choice([0, 0xFFFFFFFF, 0x7F800000, 0x7FC00000, 0x80000000])))
        return bytes(b)
    b.insert(int(rng.integers(0, len(b))), int(rng.integers(0, 256)))  # insert one byte
    return bytes(b)


@pytest.mark.parametrize("name", list(seed_files()))
def test_seed_files_are_valid(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(seed_files()[name])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a valid file raises no warning either
        scene = read_gaussians(path)
    assert len(scene) in (N, 300) and torch.isfinite(scene.means).all()


def test_mutated_files_give_a_scene_or_a_lyra_sim_error(tmp_path):
    files = seed_files()
    rng = np.random.default_rng(2024)
    outcomes: dict[str, int] = {}
    t_start = time.perf_counter()
    for case in range(70 * len(files)):
        name = list(files)[case % len(files)]
        data = _mutate(name, files[name], rng)
        path = tmp_path / f"case{case}"
        path.write_bytes(data)
        tracemalloc.start()
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scene = read_gaussians(path)
            assert isinstance(scene, GaussianScene)
            outcome = "scene"
        except LyraSimError as err:
            outcome = type(err).__name__
            assert str(err) and "\n" not in str(err).strip(), f"case {case} ({name}): a multi-line error: {err}"
        except Exception as err:  # noqa: BLE001
            pytest.fail(f"case {case} ({name}, {len(data)} bytes): {type(err).__name__}: {err}")
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert time.perf_counter() - t0 < READ_SECONDS, f"case {case} ({name}) took {time.perf_counter() - t0:.1f} s"
        assert peak < PEAK_BYTES, f"case {case} ({name}): {peak / 2**20:.1f} MiB allocated for a {len(data)}-byte file"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        path.unlink()
    assert time.perf_counter() - t_start < 50
    # The mutations reach both sides: many files still read, and every error class shows up.
    assert outcomes.get("scene", 0) > 20, outcomes
    assert {"PlyHeaderError", "PlyTruncatedError", "SplatFileError", "UnsupportedFormatError"} <= set(outcomes), outcomes
