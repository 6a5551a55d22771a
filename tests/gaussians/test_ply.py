"""PLY reading/writing: round trips, foreign writers' layouts, bit-exactness, bad input, compressed PLY."""

from __future__ import annotations

import math
import time
import tracemalloc
from pathlib import Path

import numpy as np
import plyfile
import pytest
import torch

from lyra_sim.errors import (
    InvalidInputError,
    LyraSimError,
    OutputExistsError,
    PlyError,
    PlyHeaderError,
    PlyMissingPropertyError,
    PlyTruncatedError,
    PlyValueError,
)
from lyra_sim.gaussians import read_ply, read_ply_header, write_ply
from lyra_sim.gaussians.ply import OPACITY_EPS
from lyra_sim.gaussians.scene import GaussianScene
from lyra_sim.gaussians.sh import C0, num_sh_bases

N_REST = {0: 0, 1: 9, 2: 24, 3: 45}
INRIA_ORDER = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]


# ---------------------------------------------------------------------------------------- helpers
def random_scene(n: int, degree: int, seed: int = 0) -> GaussianScene:
    g = torch.Generator().manual_seed(seed)
    return GaussianScene(
        means=torch.randn(n, 3, generator=g) * 3,
        quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=g), dim=-1),
        scales=torch.exp(torch.randn(n, 3, generator=g) - 3),
        opacities=torch.rand(n, generator=g) * 0.98 + 0.01,
        sh=torch.randn(n, num_sh_bases(degree), 3, generator=g),
    )


def raw_columns(n: int, degree: int, seed: int = 0, normals: bool = True) -> dict[str, np.ndarray]:
    """Stored (pre-activation) float32 columns in INRIA order, as a trainer would save them."""
    rng = np.random.default_rng(seed)
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    cols = {"x": f(n) * 4, "y": f(n) * 4, "z": f(n) * 4}
    if normals:
        cols |= {"nx": np.zeros(n, np.float32), "ny": np.zeros(n, np.float32), "nz": np.zeros(n, np.float32)}
    cols |= {f"f_dc_{c}": f(n) for c in range(3)}
    cols |= {f"f_rest_{i}": f(n) * 0.2 for i in range(N_REST[degree])}
    cols |= {"opacity": f(n) * 3}
    cols |= {f"scale_{i}": f(n) - 4 for i in range(3)}
    cols |= {f"rot_{i}": f(n) for i in range(4)}  # not unit, like real INRIA output
    return cols


def expected_scene(cols: dict[str, np.ndarray], degree: int) -> dict[str, np.ndarray]:
    """Activated float64 values, computed independently of the reader."""
    k = num_sh_bases(degree)
    c64 = {name: np.asarray(v, np.float64) for name, v in cols.items()}
    q = np.stack([c64[f"rot_{i}"] for i in range(4)], 1)
    sh = np.zeros((len(c64["x"]), k, 3))
    for c in range(3):
        sh[:, 0, c] = c64[f"f_dc_{c}"]
        for j in range(1, k):
            sh[:, j, c] = c64[f"f_rest_{c * (k - 1) + j - 1}"]
    return {
        "means": np.stack([c64["x"], c64["y"], c64["z"]], 1),
        "quats": q / np.linalg.norm(q, axis=1, keepdims=True),
        "scales": np.exp(np.stack([c64[f"scale_{i}"] for i in range(3)], 1)),
        "opacities": 1 / (1 + np.exp(-c64["opacity"])),
        "sh": sh,
    }


def assert_scene_matches(scene: GaussianScene, expected: dict[str, np.ndarray], rtol=1e-6, atol=1e-6) -> None:
    for name, want in expected.items():
        got = getattr(scene, name).double().numpy()
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)


def write_plyfile(path: Path, cols: dict[str, np.ndarray], *, text=False, byte_order="<", extra_elements=()) -> Path:
    """Write with the independent ``plyfile`` package (the dtype of each column is its PLY type)."""
    data = np.empty(len(next(iter(cols.values()))), dtype=[(k, v.dtype.str.lstrip("<>|=")) for k, v in cols.items()])
    for k, v in cols.items():
        data[k] = v
    vertex = plyfile.PlyElement.describe(data, "vertex")
    plyfile.PlyData([*extra_elements[:1], vertex, *extra_elements[1:]], text=text, byte_order=byte_order).write(str(path))
    return path


def write_raw(path: Path, header_lines: list[str], body: bytes = b"", newline: str = "\n") -> Path:
    path.write_bytes(newline.join(header_lines).encode() + newline.encode() + body)
    return path


def binary_header(n, names, fmt="binary_little_endian", ptype="float") -> list[str]:
    return ["ply", f"format {fmt} 1.0", f"element vertex {n}", *[f"property {ptype} {p}" for p in names], "end_header"]


def minimal_file(path: Path, n: int = 4, drop=(), count: int | None = None, body_rows: int | None = None, mutate=None) -> Path:
    """A degree-0 binary file; optionally drop properties, lie about the count, cut rows, edit values."""
    cols = {k: v for k, v in raw_columns(n, 0, normals=False).items() if k not in drop}
    if mutate:
        mutate(cols)
    table = np.stack(list(cols.values()), 1).astype("<f4")[: n if body_rows is None else body_rows]
    return write_raw(path, binary_header(n if count is None else count, list(cols)), table.tobytes())


# ------------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_round_trip_every_degree(tmp_path, degree):
    scene = random_scene(257, degree)
    path = write_ply(scene, tmp_path / "scene.ply")
    back = read_ply(path)
    assert back.sh_degree == degree and back.dtype == torch.float32 and len(back) == 257
    torch.testing.assert_close(back.means, scene.means, rtol=0, atol=0)
    torch.testing.assert_close(back.sh, scene.sh, rtol=0, atol=0)
    torch.testing.assert_close(back.quats, scene.quats, rtol=0, atol=2e-7)
    torch.testing.assert_close(back.scales, scene.scales, rtol=2e-6, atol=0)
    torch.testing.assert_close(back.opacities, scene.opacities, rtol=0, atol=1e-7)

    # The layout other tools expect: INRIA order, float32, zero normals, channel-major f_rest.
    ply = plyfile.PlyData.read(str(path))
    v = ply["vertex"]
    k = num_sh_bases(degree)
    rest = [f"f_rest_{i}" for i in range(3 * (k - 1))]
    assert [p.name for p in v.properties] == INRIA_ORDER + rest + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    assert all(p.val_dtype == "f4" for p in v.properties) and not ply.text and ply.byte_order == "<"
    assert not v["nx"].any()
    for c in range(3):
        np.testing.assert_array_equal(v[f"f_dc_{c}"], scene.sh[:, 0, c].numpy())
        for j in range(1, k):
            np.testing.assert_array_equal(v[f"f_rest_{c * (k - 1) + j - 1}"], scene.sh[:, j, c].numpy())
    np.testing.assert_allclose(v["opacity"], torch.logit(scene.opacities.double()).numpy(), rtol=1e-6)
    np.testing.assert_allclose(v["scale_1"], scene.scales[:, 1].double().log().numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("byte_order", ["<", ">"])
@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_reads_plyfile_binary_both_endiannesses(tmp_path, degree, byte_order):
    cols = raw_columns(40, degree)
    path = write_plyfile(tmp_path / "a.ply", cols, byte_order=byte_order)
    scene = read_ply(path)
    assert scene.sh_degree == degree
    assert_scene_matches(scene, expected_scene(cols, degree))
    assert read_ply_header(path).format == {"<": "binary_little_endian", ">": "binary_big_endian"}[byte_order]


@pytest.mark.parametrize("degree", [0, 3])
def test_reads_ascii(tmp_path, degree):
    cols = raw_columns(30, degree)
    scene = read_ply(write_plyfile(tmp_path / "a.ply", cols, text=True))
    assert_scene_matches(scene, expected_scene(cols, degree))


def test_reads_foreign_layouts_extra_types_shuffled_no_normals(tmp_path):
    """Properties shuffled, no normals, doubles for some required ones, extras of every PLY type."""
    n = 25
    rng = np.random.default_rng(3)
    cols = raw_columns(n, 1, normals=False)
    cols["x"] = cols["x"].astype(np.float64) + 1e-9  # a double property
    cols["opacity"] = cols["opacity"].astype(np.float64)
    for code in ["i1", "u1", "i2", "u2", "i4", "u4", "f4", "f8"]:
        cols[f"extra_{code}"] = rng.integers(0, 100, n).astype(code)
    order = list(cols)
    rng.shuffle(order)
    cols = {k: cols[k] for k in order}
    for text in (False, True):
        scene = read_ply(write_plyfile(tmp_path / f"a{text}.ply", cols, text=text))
        assert_scene_matches(scene, expected_scene(cols, 1))


def test_f_rest_is_channel_major(tmp_path):
    n = 3
    cols = raw_columns(n, 3)
    for i in range(45):
        cols[f"f_rest_{i}"] = np.full(n, i, np.float32)
    sh = read_ply(write_plyfile(tmp_path / "a.ply", cols)).sh
    for c in range(3):
        for k in range(15):
            assert (sh[:, 1 + k, c] == c * 15 + k).all()


def test_other_elements_before_and_after_vertex(tmp_path):
    n = 10
    cols = raw_columns(n, 1)
    cams = np.array([(i, 0.5 * i, 7) for i in range(3)], dtype=[("id", "u1"), ("f", "f8"), ("w", "i2")])
    faces = np.array([([0, 1, 2],), ([2, 3, 4, 5],)], dtype=[("vertex_indices", "O")])
    extras = (plyfile.PlyElement.describe(cams, "camera"), plyfile.PlyElement.describe(faces, "face"))
    for text in (False, True):
        path = write_plyfile(tmp_path / f"a{text}.ply", cols, text=text, extra_elements=extras)
        header = read_ply_header(path)
        assert [(e.name, e.count) for e in header.elements] == [("camera", 3), ("vertex", n), ("face", 2)]
        assert_scene_matches(read_ply(path), expected_scene(cols, 1))
    # In ascii an element with list properties before the vertices is skipped line by line.
    listy = (plyfile.PlyElement.describe(faces, "face"), plyfile.PlyElement.describe(cams, "camera"))
    path = write_plyfile(tmp_path / "b.ply", cols, text=True, extra_elements=listy)
    assert_scene_matches(read_ply(path), expected_scene(cols, 1))


def test_header_variants_crlf_comments_obj_info_type_aliases(tmp_path):
    cols = raw_columns(6, 0, normals=False)
    table = np.stack(list(cols.values()), 1).astype(">f4")
    header = ["ply", "format binary_big_endian 1.0", "comment made by hand", "obj_info generator test",
              "element vertex 6", *[f"property float32 {p}" for p in cols], "end_header"]  # fmt: skip
    path = write_raw(tmp_path / "crlf.ply", header, table.tobytes(), newline="\r\n")
    h = read_ply_header(path)
    assert h.comments == ("made by hand", "generator test")
    assert h.header_bytes == len("\r\n".join(header)) + 2
    assert_scene_matches(read_ply(path), expected_scene(cols, 0))


def test_float64_round_trip_is_bit_exact(tmp_path):
    """file -> read_ply(float64) -> write_ply reproduces every stored float32 bit."""
    n = 20_000
    rng = np.random.default_rng(7)
    cols = raw_columns(n, 3)
    cols["opacity"] = rng.uniform(-20, 20, n).astype(np.float32)
    cols["opacity"][:6] = [-20, 20, -1e-3, 1e-3, 0, 19.99]
    for i in range(3):
        cols[f"scale_{i}"] = rng.uniform(-20, 20, n).astype(np.float32)
    cols["x"][:4] = [3e38, -1e-38, 1e-45, 0]  # float32 extremes pass through untouched
    # read_ply must normalise quaternions, so rot_* can only survive bit-exactly where the stored
    # quaternion is already unit to float32 precision, i.e. a fixed point of float64 normalisation
    # rounded to float32 (as files written by write_ply are). Iterating reaches one for ~99.9% of
    # random quaternions; keep those rows. The rest may move by one float32 ulp, checked below.
    def normalise(q):
        q = q.astype(np.float64)
        return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)

    q = np.stack([cols[f"rot_{i}"] for i in range(4)], 1)
    for _ in range(8):
        q = normalise(q)
    fixed = (normalise(q) == q).all(1)
    assert fixed.mean() > 0.99
    cols = {name: v[fixed] for name, v in cols.items()} | {f"rot_{i}": q[fixed, i] for i in range(4)}
    src = write_plyfile(tmp_path / "src.ply", cols)

    scene = read_ply(src, dtype=torch.float64)
    assert scene.dtype == torch.float64
    dst = write_ply(scene, tmp_path / "dst.ply")
    a, b = plyfile.PlyData.read(str(src))["vertex"].data, plyfile.PlyData.read(str(dst))["vertex"].data
    assert a.dtype.names == b.dtype.names
    for name in a.dtype.names:
        assert np.array_equal(a[name].view(np.uint32), b[name].view(np.uint32)), name

    # Quaternions not at such a fixed point come back normalised, at most one float32 ulp away.
    cols = raw_columns(len(q), 0, normals=False) | {f"rot_{i}": q[:, i] for i in range(4)}
    q2 = read_ply(write_plyfile(tmp_path / "q.ply", cols), dtype=torch.float64).quats.float().numpy()
    assert np.abs(q2.view(np.int32).astype(np.int64) - q.view(np.int32)).max() <= 1


def test_opacity_zero_and_one_write_finite_logits(tmp_path):
    scene = random_scene(4, 0)
    scene.opacities = torch.tensor([0.0, 1.0, 0.5, 1e-30])
    path = write_ply(scene, tmp_path / "a.ply")
    logits = plyfile.PlyData.read(str(path))["vertex"]["opacity"]
    limit = math.log((1 - OPACITY_EPS) / OPACITY_EPS)
    np.testing.assert_allclose(logits, [-limit, limit, 0.0, -limit], rtol=1e-6)
    np.testing.assert_allclose(read_ply(path).opacities.numpy(), [0, 1, 0.5, 0], atol=2e-12)


def test_zero_gaussians(tmp_path):
    path = write_ply(GaussianScene.empty(sh_degree=2), tmp_path / "empty.ply")
    scene = read_ply(path)
    assert len(scene) == 0 and scene.sh_degree == 2
    ascii_path = write_raw(tmp_path / "e.ply", binary_header(0, list(raw_columns(1, 0)), fmt="ascii"))
    assert len(read_ply(ascii_path)) == 0


def test_read_options_dtype_and_device(tmp_path):
    path = write_ply(random_scene(5, 1), tmp_path / "a.ply")
    s = read_ply(path, dtype=torch.float64, device="cpu")
    assert s.dtype == torch.float64 and s.device.type == "cpu"
    with pytest.raises(InvalidInputError):
        read_ply(path, dtype=torch.int32)


# --------------------------------------------------------------------------------- write options
def test_write_refuses_overwrite_and_accepts_grad_tensors(tmp_path):
    scene = random_scene(8, 1).requires_grad_()
    path = write_ply(scene, tmp_path / "a.ply")
    before = path.read_bytes()
    with pytest.raises(OutputExistsError):
        write_ply(random_scene(3, 0), path)
    assert path.read_bytes() == before
    write_ply(random_scene(3, 0), path, overwrite=True)
    assert len(read_ply(path)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ply"]  # no temporary files left behind


def test_write_rejects_invalid_values(tmp_path):
    scene = random_scene(5, 0)
    scene.scales[2, 1] = -1.0
    scene.means[0, 0] = float("nan")
    with pytest.raises(InvalidInputError, match=r"scale_1 \(1\).*|x \(1\)"):
        write_ply(scene, tmp_path / "bad.ply")
    assert not (tmp_path / "bad.ply").exists()


# ------------------------------------------------------------------------------------- bad input
def raises(exc, path: Path, match: str | None = None):
    with pytest.raises(exc) as info:
        read_ply(path)
    assert isinstance(info.value, LyraSimError)
    assert path.name in str(info.value), str(info.value)
    if match:
        assert any(m in str(info.value) for m in match.split("|")), str(info.value)
    return info.value


def test_missing_file_directory_and_empty_file(tmp_path):
    raises(PlyError, tmp_path / "nope.ply", "no such file")
    (tmp_path / "dir.ply").mkdir()
    raises(PlyError, tmp_path / "dir.ply", "directory")
    (tmp_path / "empty.ply").write_bytes(b"")
    raises(PlyHeaderError, tmp_path / "empty.ply", "empty")


@pytest.mark.parametrize(
    "name, header, match",
    [
        ("notply", ["solid cube", "end_header"], "not a PLY"),
        ("noend", ["ply", "format ascii 1.0", "element vertex 0"], "end_header"),
        ("format", ["ply", "format binary_middle_endian 1.0", "end_header"], "format"),
        ("noformat", ["ply", "element vertex 0", "end_header"], "no 'format'"),
        ("ptype", ["ply", "format ascii 1.0", "element vertex 0", "property float16 x", "end_header"], "float16"),
        ("elem", ["ply", "format ascii 1.0", "element vertex", "end_header"], "element <name> <count>"),
        ("prop", ["ply", "format ascii 1.0", "element vertex 1", "property float", "end_header"], "property <type>"),
        ("orphan", ["ply", "format ascii 1.0", "property float x", "end_header"], "before any element"),
        ("negative", ["ply", "format ascii 1.0", "element vertex -3", "end_header"], "negative"),
        ("fraction", ["ply", "format ascii 1.0", "element vertex 1.5", "end_header"], "not an integer"),
        ("word", ["ply", "format ascii 1.0", "element vertex many", "end_header"], "not an integer"),
        ("keyword", ["ply", "format ascii 1.0", "elemnt vertex 1", "end_header"], "unknown header keyword"),
        ("dup", ["ply", "format ascii 1.0", "element vertex 0", "property float x", "property float x", "end_header"], "twice"),
        ("novertex", ["ply", "format ascii 1.0", "element point 0", "property float x", "end_header"], "no 'vertex'"),
    ],
)
def test_malformed_headers(tmp_path, name, header, match):
    raises(PlyHeaderError, write_raw(tmp_path / f"{name}.ply", header), match)


def test_header_without_end_is_capped(tmp_path):
    path = tmp_path / "huge_header.ply"
    path.write_bytes(b"ply\nformat ascii 1.0\n" + b"comment padding padding padding\n" * 80_000)
    t0 = time.perf_counter()
    raises(PlyHeaderError, path, "first 1 MiB")
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("fmt", ["binary_little_endian", "ascii"])
def test_absurd_count_fails_fast_without_allocating(tmp_path, fmt):
    names = list(raw_columns(1, 0, normals=False))
    body = b"0 " * len(names) + b"\n" if fmt == "ascii" else bytes(4 * len(names))
    path = write_raw(tmp_path / "absurd.ply", binary_header(10**12, names, fmt=fmt), body)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        raises(PlyTruncatedError, path, "1,000,000,000,000")
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 1.0
    assert peak < 16 * 2**20  # the 56 TB the header claims were never allocated


def test_truncated_data(tmp_path):
    raises(PlyTruncatedError, minimal_file(tmp_path / "short.ply", n=10, body_rows=7), "truncated")
    path = write_plyfile(tmp_path / "cut.ply", raw_columns(10, 0), text=True)
    data = path.read_bytes()
    (tmp_path / "cut_lines.ply").write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 1])  # last row gone
    raises(PlyTruncatedError, tmp_path / "cut_lines.ply", "truncated")
    last_row = data.rindex(b"\n", 0, len(data) - 1) + 1
    half_row = b" ".join(data[last_row:].split()[:5])
    (tmp_path / "cut_mid.ply").write_bytes(data[:last_row] + half_row)  # last row cut mid-line
    raises(PlyTruncatedError, tmp_path / "cut_mid.ply", "cut short")


def test_missing_properties_are_listed(tmp_path):
    err = raises(PlyMissingPropertyError, minimal_file(tmp_path / "m.ply", drop=("opacity", "rot_2")))
    assert "opacity" in err.problem and "rot_2" in err.problem and "rot_1" not in err.problem
    cloud = {"x": np.zeros(2, "f4"), "y": np.zeros(2, "f4"), "z": np.zeros(2, "f4"), "red": np.zeros(2, "u1")}
    raises(PlyMissingPropertyError, write_plyfile(tmp_path / "cloud.ply", cloud), "point cloud")


def test_wrong_f_rest_counts(tmp_path):
    cols = raw_columns(3, 0) | {f"f_rest_{i}": np.zeros(3, "f4") for i in range(10)}
    raises(PlyHeaderError, write_plyfile(tmp_path / "ten.ply", cols), "10 f_rest")
    cols = raw_columns(3, 0) | {f"f_rest_{i}": np.zeros(3, "f4") for i in [*range(8), 12]}
    raises(PlyMissingPropertyError, write_plyfile(tmp_path / "gap.ply", cols), "f_rest_8")


def test_nan_and_inf_are_reported_per_property(tmp_path):
    def poison(cols):
        cols["opacity"][[0, 2]] = np.nan
        cols["scale_1"][1] = np.inf

    err = raises(PlyValueError, minimal_file(tmp_path / "nan.ply", mutate=poison))
    assert "opacity (2)" in err.problem and "scale_1 (1)" in err.problem and "3 Gaussians" in err.problem
    assert "drop" in err.problem.lower()


def test_zero_length_quaternions(tmp_path):
    def zero(cols):
        for i in range(4):
            cols[f"rot_{i}"][1] = 0.0

    raises(PlyValueError, minimal_file(tmp_path / "q.ply", mutate=zero), "1 Gaussians have zero-length quaternions")


def test_list_properties(tmp_path):
    cols = raw_columns(3, 0)
    names = list(cols)
    table = np.stack(list(cols.values()), 1).astype("<f4").tobytes()
    # A list element before the vertices of a binary file: its size is unknown without parsing it.
    header = ["ply", "format binary_little_endian 1.0", "element face 1", "property list uchar int idx", *binary_header(3, names)[2:]]
    raises(PlyHeaderError, write_raw(tmp_path / "face_first.ply", header, b"\x01" + bytes(4) + table), "list properties")
    # A list property inside the vertex element.
    header = binary_header(3, names)[:-1] + ["property list uchar float weights", "end_header"]
    raises(PlyHeaderError, write_raw(tmp_path / "vlist.ply", header, table), "list properties")
    header = ["ply", "format ascii 1.0", "element vertex 1", "property list char float x", "end_header"]
    header[3] = "property list float float x"
    raises(PlyHeaderError, write_raw(tmp_path / "floatcount.ply", header), "integer type")


def test_ascii_garbage_values(tmp_path):
    data = write_plyfile(tmp_path / "a.ply", raw_columns(3, 0), text=True).read_bytes()
    body = data.index(b"end_header\n") + len(b"end_header\n")
    first = data[body:].split(b"\n")[0]
    (tmp_path / "word.ply").write_bytes(data.replace(first, b"zero " + first.split(b" ", 1)[1], 1))
    raises(PlyValueError, tmp_path / "word.ply", "not a number")
    (tmp_path / "extra.ply").write_bytes(data.replace(first, first + b" 7 7", 1))
    raises(PlyValueError, tmp_path / "extra.ply", "extra values")


# --------------------------------------------------------------------------------- compressed PLY
CHUNK = 256


def _unorm(v, bits):
    t = (1 << bits) - 1
    return np.clip(np.floor(v * t + 0.5), 0, t).astype(np.uint32)


def _normalize(x, lo, hi):
    return np.where(hi - lo < 1e-5, 0.0, np.clip((x - lo) / np.where(hi - lo < 1e-5, 1, hi - lo), 0, 1))


def write_compressed(path: Path, means, quats, log_scales, opacities, sh, chunk_colors=True) -> Path:
    """Independent packer following PlayCanvas splat-transform's compressed-chunk writer."""
    n, k = len(means), sh.shape[1]
    nchunks = math.ceil(n / CHUNK)
    rgb = sh[:, 0, :] * C0 + 0.5
    chunk_rows, packed = [], np.zeros((n, 4), np.uint32)
    for c in range(nchunks):
        s = slice(c * CHUNK, min(n, (c + 1) * CHUNK))
        p_lo, p_hi = means[s].min(0), means[s].max(0)
        s_lo, s_hi = log_scales[s].min(0), log_scales[s].max(0)
        c_lo, c_hi = rgb[s].min(0), rgb[s].max(0)
        chunk_rows.append([*p_lo, *p_hi, *s_lo, *s_hi] + ([*c_lo, *c_hi] if chunk_colors else []))

        def pack111011(v, lo, hi):
            t = _normalize(v, lo, hi)
            return (_unorm(t[:, 0], 11) << 21) | (_unorm(t[:, 1], 10) << 11) | _unorm(t[:, 2], 11)

        packed[s, 0] = pack111011(means[s], p_lo, p_hi)
        packed[s, 2] = pack111011(log_scales[s], s_lo, s_hi)
        col = _normalize(rgb[s], c_lo, c_hi) if chunk_colors else rgb[s]
        packed[s, 3] = (_unorm(col[:, 0], 8) << 24) | (_unorm(col[:, 1], 8) << 16) | (_unorm(col[:, 2], 8) << 8) | _unorm(opacities[s], 8)
    q = quats / np.linalg.norm(quats, axis=1, keepdims=True)
    largest = np.abs(q).argmax(1)
    q = q * np.where(q[np.arange(n), largest] < 0, -1, 1)[:, None]
    word = largest.astype(np.uint32)
    for i in range(4):  # the three non-largest components in index order, 10 bits each
        keep = largest != i
        word = np.where(keep, (word << 10) | _unorm(q[:, i] * math.sqrt(0.5) + 0.5, 10), word)
    packed[:, 1] = word

    chunk_props = [f"{m}_{a}" for m in ("min", "max") for a in "xyz"] + [f"{m}_scale_{a}" for m in ("min", "max") for a in "xyz"]
    chunk_props += [f"{m}_{c}" for m in ("min", "max") for c in "rgb"] if chunk_colors else []
    header = ["ply", "format binary_little_endian 1.0", "comment Generated by test packer", f"element chunk {nchunks}"]
    header += [f"property float {p}" for p in chunk_props] + [f"element vertex {n}"]
    header += [f"property uint {p}" for p in ("packed_position", "packed_rotation", "packed_scale", "packed_color")]
    body = np.asarray(chunk_rows, "<f4").tobytes() + packed.astype("<u4").tobytes()
    if k > 1:
        rest = sh[:, 1:, :].transpose(0, 2, 1).reshape(n, 3 * (k - 1))  # channel-major f_rest
        header += [f"element sh {n}"] + [f"property uchar f_rest_{i}" for i in range(rest.shape[1])]
        body += np.clip(np.trunc((rest / 8 + 0.5) * 256), 0, 255).astype(np.uint8).tobytes()
    return write_raw(path, header + ["end_header"], body)


@pytest.mark.parametrize("chunk_colors", [True, False])
def test_compressed_supersplat_ply(tmp_path, chunk_colors):
    n = 300  # two chunks, the second one partial
    rng = np.random.default_rng(5)
    means = rng.normal(size=(n, 3)) * [1, 2, 3]
    quats = rng.normal(size=(n, 4))
    log_scales = rng.uniform(-6, -1, (n, 3))
    opacities = rng.uniform(0, 1, n)
    sh = rng.normal(size=(n, 4, 3)) * 0.3
    sh[:, 0, :] = (rng.uniform(0.05, 0.95, (n, 3)) - 0.5) / C0
    path = write_compressed(tmp_path / "scene.compressed.ply", means, quats, log_scales, opacities, sh, chunk_colors)
    assert read_ply_header(path).is_compressed

    scene = read_ply(path, dtype=torch.float64)
    assert len(scene) == n and scene.sh_degree == 1
    for s in [slice(0, CHUNK), slice(CHUNK, n)]:
        span = means[s].max(0) - means[s].min(0)
        step = span / np.array([2047, 1023, 2047])
        assert (np.abs(scene.means[s].numpy() - means[s]) <= step / 2 + 1e-6).all()
        # The extreme splats decode exactly onto the chunk bounds (float32-stored bounds).
        assert np.allclose(scene.means[s].numpy().max(0), means[s].max(0), rtol=0, atol=1e-6)
        lspan = log_scales[s].max(0) - log_scales[s].min(0)
        lstep = lspan / np.array([2047, 1023, 2047])
        assert (np.abs(np.log(scene.scales[s].numpy()) - log_scales[s]) <= lstep / 2 + 1e-6).all()
    q = quats / np.linalg.norm(quats, axis=1, keepdims=True)
    dots = np.abs((scene.quats.numpy() * q).sum(1))
    assert (dots > 1 - 1e-5).all()  # same rotation up to sign, to 10-bit precision
    np.testing.assert_allclose(scene.quats.norm(dim=1).numpy(), 1, atol=1e-12)
    np.testing.assert_allclose(scene.opacities.numpy(), opacities, atol=0.5 / 255 + 1e-9)
    rgb_step = (1 / 255) if not chunk_colors else (np.ptp(sh[:, 0, :] * C0, 0) / 255)
    assert (np.abs(scene.colors.numpy() - (sh[:, 0, :] * C0 + 0.5)) <= np.asarray(rgb_step) / 2 + 1e-6).all()
    np.testing.assert_allclose(scene.sh[:, 1:].numpy(), sh[:, 1:], atol=8 / 256 / 2 + 1e-9)


def test_compressed_chunk_count_must_match(tmp_path):
    n = 10
    path = write_compressed(tmp_path / "c.ply", np.zeros((n, 3)), np.tile([1.0, 0, 0, 0], (n, 1)), np.zeros((n, 3)), np.ones(n) / 2, np.zeros((n, 1, 3)))
    data = path.read_bytes().replace(b"element chunk 1", b"element chunk 2")
    (tmp_path / "c2.ply").write_bytes(data)
    raises(PlyHeaderError, tmp_path / "c2.ply", "chunks")
    (tmp_path / "c3.ply").write_bytes(data.replace(b"element chunk 2", b"element chunk 1")[:-20])
    raises(PlyTruncatedError, tmp_path / "c3.ply")
