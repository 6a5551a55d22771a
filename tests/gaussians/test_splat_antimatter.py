"""antimatter15 .splat (lyra_sim/gaussians/splat_antimatter.py): bytes built here from the published
32-byte row layout read back exactly; our writer's bytes match that layout; bad files refused."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
from splat_files import SH_C0, splat_bytes

from lyra_sim.errors import InvalidInputError, SplatFileError
from lyra_sim.gaussians.scene import GaussianScene
from lyra_sim.gaussians.splat_antimatter import read_splat, write_splat


def rows(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 3)).astype(np.float32), rng.uniform(0.001, 2, (n, 3)).astype(np.float32),
            rng.integers(0, 256, (n, 4)), rng.integers(0, 256, (n, 4)))  # fmt: skip


def test_independent_bytes_read_exactly(tmp_path):
    pos, scale, rgba, rot = rows(50)
    rot[0] = (128, 128, 128, 255)  # a quaternion with only z
    path = tmp_path / "a.splat"
    path.write_bytes(splat_bytes(pos, scale, rgba, rot))
    scene = read_splat(path, dtype=torch.float64)
    assert len(scene) == 50 and scene.sh_degree == 0
    np.testing.assert_array_equal(scene.means.numpy(), pos.astype(np.float64))  # float32 stored: exact
    np.testing.assert_array_equal(scene.scales.numpy(), scale.astype(np.float64))
    np.testing.assert_allclose(scene.colors.numpy(), rgba[:, :3] / 255, atol=1e-12)  # colour = byte / 255
    np.testing.assert_allclose(scene.sh[:, 0].numpy(), (rgba[:, :3] / 255 - 0.5) / SH_C0, atol=1e-12)
    np.testing.assert_allclose(scene.opacities.numpy(), rgba[:, 3] / 255, atol=1e-12)
    q = (rot - 128) / 128
    np.testing.assert_allclose(scene.quats.numpy(), q / np.linalg.norm(q, axis=1, keepdims=True), atol=1e-12)
    np.testing.assert_allclose(scene.quats[0].numpy(), [0, 0, 0, 1], atol=1e-12)  # w first: bytes are w, x, y, z


def test_writer_bytes_follow_the_layout_and_round_trip(tmp_path):
    g = torch.Generator().manual_seed(1)
    n = 40
    scene = GaussianScene(torch.randn(n, 3, generator=g), torch.nn.functional.normalize(torch.randn(n, 4, generator=g), dim=-1),
                          torch.rand(n, 3, generator=g) + 0.01, torch.rand(n, generator=g), torch.randn(n, 1, 3, generator=g) * 0.5)  # fmt: skip
    path = write_splat(scene, tmp_path / "w.splat")
    data = path.read_bytes()
    assert len(data) == 32 * n
    for i in (0, n - 1):  # each row decoded by hand from the spec
        px, py, pz, sx, sy, sz, r, gg, b, a, qw, qx, qy, qz = struct.unpack_from("<3f3f4B4B", data, 32 * i)
        np.testing.assert_array_equal([px, py, pz], scene.means[i].numpy())
        np.testing.assert_array_equal([sx, sy, sz], scene.scales[i].numpy())
        rgb = (scene.sh[i, 0].double() * SH_C0 + 0.5).clamp(0, 1).numpy()
        np.testing.assert_array_equal([r, gg, b], np.floor(rgb * 255 + 0.5))
        assert a == int(np.floor(scene.opacities[i].item() * 255 + 0.5))
        np.testing.assert_array_equal([qw, qx, qy, qz], np.clip(np.floor(scene.quats[i].double().numpy() * 128 + 128.5), 0, 255))
    back = read_splat(path, dtype=torch.float64)
    np.testing.assert_array_equal(back.means.numpy(), scene.means.double().numpy())
    np.testing.assert_array_equal(back.scales.numpy(), scene.scales.double().numpy())
    assert (back.opacities - scene.opacities.double()).abs().max() <= 0.5 / 255 + 1e-9
    rgb = (scene.sh[:, 0].double() * SH_C0 + 0.5).clamp(0, 1)
    assert (back.colors - rgb).abs().max() <= 0.5 / 255 + 1e-9
    assert ((back.quats * scene.quats.double()).sum(1).abs() > 0.9999).all()


def test_higher_sh_is_dropped_with_a_warning_and_empty_scene_refused(tmp_path):
    scene = GaussianScene(torch.zeros(2, 3), torch.tensor([[1.0, 0, 0, 0]] * 2), torch.ones(2, 3), torch.ones(2), torch.zeros(2, 4, 3))
    with pytest.warns(UserWarning, match="SH degree 1"):
        write_splat(scene, tmp_path / "a.splat")
    with pytest.raises(InvalidInputError, match="0 Gaussians"):
        write_splat(GaussianScene.empty(), tmp_path / "b.splat")


@pytest.mark.parametrize("offset, value, match", [
    (4, float("nan"), r"1 Gaussians have NaN/inf values in: position_y \(1\)"),
    (16, float("inf"), r"scale_y \(1\)"),
    (20, -1.0, "scales <= 0"),
])  # fmt: skip
def test_bad_values_are_refused_with_count_and_property(tmp_path, offset, value, match):
    pos, scale, rgba, rot = rows(3)
    data = bytearray(splat_bytes(pos, scale, rgba, rot))
    struct.pack_into("<f", data, 32 + offset, value)
    (tmp_path / "bad.splat").write_bytes(bytes(data))
    with pytest.raises(SplatFileError, match=match):
        read_splat(tmp_path / "bad.splat")


def test_truncated_zero_quaternion_and_empty_files(tmp_path):
    pos, scale, rgba, rot = rows(3)
    data = splat_bytes(pos, scale, rgba, rot)
    (tmp_path / "t.splat").write_bytes(data[:-5])
    with pytest.raises(SplatFileError, match="not a whole number of 32-byte"):
        read_splat(tmp_path / "t.splat")
    rot[1] = 128
    (tmp_path / "z.splat").write_bytes(splat_bytes(pos, scale, rgba, rot))
    with pytest.raises(SplatFileError, match="1 Gaussians have zero-length quaternions"):
        read_splat(tmp_path / "z.splat")
    (tmp_path / "e.splat").write_bytes(b"")
    with pytest.raises(SplatFileError, match="empty"):
        read_splat(tmp_path / "e.splat")
