"""GaussianScene / DynamicGaussianScene: validation, plumbing, pruning, merging, geometry."""

import math

import pytest
import torch

from lyra_sim.errors import InvalidInputError
from lyra_sim.gaussians import DynamicGaussianScene, GaussianScene
from lyra_sim.gaussians.quaternions import quat_to_rotmat
from lyra_sim.gaussians.sh import C0, eval_sh


def make_scene(n=10, degree=0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    k = (degree + 1) ** 2
    return GaussianScene(
        means=torch.randn(n, 3, generator=g, dtype=dtype),
        quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=g, dtype=dtype), dim=-1),
        scales=torch.rand(n, 3, generator=g, dtype=dtype) * 0.1 + 0.01,
        opacities=torch.rand(n, generator=g, dtype=dtype),
        sh=torch.randn(n, k, 3, generator=g, dtype=dtype) * 0.5,
    )


def _parts(scene):
    return dict(means=scene.means, quats=scene.quats, scales=scene.scales, opacities=scene.opacities, sh=scene.sh)


def _covariances(scene):
    r = quat_to_rotmat(scene.quats)
    return r @ torch.diag_embed(scene.scales**2) @ r.transpose(-1, -2)


def _random_rotation(seed):
    g = torch.Generator().manual_seed(seed)
    return quat_to_rotmat(torch.randn(4, generator=g, dtype=torch.float64))


# ---------------------------------------------------------------- construction / validation
@pytest.mark.parametrize(
    "name, bad",
    [
        ("means", torch.zeros(5, 2)),
        ("means", torch.zeros(15)),
        ("quats", torch.zeros(5, 3)),
        ("quats", torch.zeros(4, 4)),
        ("scales", torch.zeros(6, 3)),
        ("opacities", torch.zeros(5, 1)),
        ("opacities", torch.zeros(4)),
        ("sh", torch.zeros(5, 3)),
        ("sh", torch.zeros(5, 4, 4)),
        ("sh", torch.zeros(4, 4, 3)),
        ("sh", torch.zeros(5, 5, 3)),
        ("sh", torch.zeros(5, 2, 3)),
        ("sh", torch.zeros(5, 25, 3)),
    ],
)
def test_shape_validation(name, bad):
    parts = _parts(make_scene(5, dtype=torch.float32))
    parts[name] = bad
    with pytest.raises(InvalidInputError):
        GaussianScene(**parts)


@pytest.mark.parametrize("k", [1, 4, 9, 16])
def test_valid_sh_sizes(k):
    parts = _parts(make_scene(5))
    parts["sh"] = torch.zeros(5, k, 3, dtype=torch.float64)
    assert GaussianScene(**parts).sh_degree == int(math.isqrt(k)) - 1


def test_invalid_input_error_is_a_value_error():
    parts = _parts(make_scene(5))
    parts["sh"] = torch.zeros(5, 2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="sh"):
        GaussianScene(**parts)


def test_mixed_devices_rejected():
    parts = _parts(make_scene(5))
    parts["opacities"] = torch.zeros(5, dtype=torch.float64, device="meta")
    with pytest.raises(InvalidInputError, match="devices"):
        GaussianScene(**parts)


def test_integer_tensors_rejected():
    parts = _parts(make_scene(5))
    parts["opacities"] = torch.ones(5, dtype=torch.int64)
    with pytest.raises(InvalidInputError):
        GaussianScene(**parts)


def test_len_properties_and_empty():
    s = make_scene(7, degree=2)
    assert len(s) == 7 and s.sh_degree == 2 and s.dtype == torch.float64 and s.device.type == "cpu"
    e = GaussianScene.empty(sh_degree=3)
    assert len(e) == 0 and e.sh_degree == 3 and e.sh.shape == (0, 16, 3) and e.dtype == torch.float32


def test_colors_are_dc_to_rgb():
    s = make_scene(8, degree=1)
    torch.testing.assert_close(s.colors, s.sh[:, 0, :] * C0 + 0.5)


def test_from_rgb_round_trip():
    g = torch.Generator().manual_seed(1)
    base = make_scene(6)
    rgb = torch.rand(6, 3, generator=g, dtype=torch.float64)
    s = GaussianScene.from_rgb(base.means, base.quats, base.scales, base.opacities, rgb)
    assert s.sh.shape == (6, 1, 3) and s.sh_degree == 0
    torch.testing.assert_close(s.colors, rgb)
    torch.testing.assert_close(eval_sh(s.sh, torch.randn(6, 3, dtype=torch.float64)), rgb)


def test_to_dtype_and_clone_detach():
    s = make_scene(5, degree=1)
    s32 = s.to(dtype=torch.float32)
    assert s32.dtype == torch.float32 and all(t.dtype == torch.float32 for t in _parts(s32).values())
    torch.testing.assert_close(s32.means, s.means.float())
    torch.testing.assert_close(s32.sh, s.sh.float())
    c = s.clone()
    c.means[0, 0] = 123.0
    assert s.means[0, 0] != 123.0
    s.requires_grad_()
    assert all(t.requires_grad for t in _parts(s).values())
    assert not any(t.requires_grad for t in _parts(s.detach()).values())


def test_getitem_mask_indices_slice():
    s = make_scene(10, degree=1)
    mask = torch.zeros(10, dtype=torch.bool)
    mask[[1, 4, 7]] = True
    for sub in (s[mask], s[[1, 4, 7]], s[torch.tensor([1, 4, 7])]):
        assert len(sub) == 3
        torch.testing.assert_close(sub.means, s.means[[1, 4, 7]])
        torch.testing.assert_close(sub.sh, s.sh[[1, 4, 7]])
        torch.testing.assert_close(sub.opacities, s.opacities[[1, 4, 7]])
    sl = s[2:8:3]
    torch.testing.assert_close(sl.quats, s.quats[[2, 5]])
    torch.testing.assert_close(sl.scales, s.scales[[2, 5]])


# ---------------------------------------------------------------- prune
def test_prune_keeps_top_fraction_in_original_order():
    n = 1000
    s = make_scene(n, seed=3)
    s.means[:, 0] = torch.arange(n, dtype=torch.float64)  # identifies each Gaussian
    p = s.prune(0.2)
    assert len(p) == 200
    kept = p.means[:, 0].long()
    assert torch.all(kept[1:] > kept[:-1])  # original order
    threshold = s.opacities.sort(descending=True).values[199]
    expected = torch.nonzero(s.opacities >= threshold).flatten()  # random floats: no ties
    assert torch.equal(kept, expected)
    assert float(p.opacities.min()) >= float(s.opacities[~torch.isin(torch.arange(n), kept)].max())
    torch.testing.assert_close(p.sh, s.sh[expected])


def test_prune_ties_broken_by_index():
    s = make_scene(6)
    s.means[:, 0] = torch.arange(6, dtype=torch.float64)
    s.opacities = torch.tensor([0.5, 0.9, 0.5, 0.5, 0.1, 0.5], dtype=torch.float64)
    p = s.prune(0.5)  # 3 kept: 0.9 and the two earliest 0.5s
    assert p.means[:, 0].long().tolist() == [0, 1, 2]
    assert s.prune(0.5).means[:, 0].long().tolist() == [0, 1, 2]  # deterministic
    s.opacities = torch.full((6,), 0.3, dtype=torch.float64)
    assert s.prune(0.34).means[:, 0].long().tolist() == [0, 1]


def test_prune_ties_broken_by_index_many():
    n = 2000
    s = make_scene(n, seed=8)
    s.means[:, 0] = torch.arange(n, dtype=torch.float64)
    s.opacities = torch.randint(0, 5, (n,), generator=torch.Generator().manual_seed(1)).double() / 4  # 5 levels
    p = s.prune(0.3)  # 600 kept
    kept = p.means[:, 0].long()
    # expected: sort by (-opacity, index), take 600, restore index order
    order = sorted(range(n), key=lambda i: (-float(s.opacities[i]), i))[:600]
    assert kept.tolist() == sorted(order)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.01, 2.0])
def test_prune_rejects_bad_fraction(bad):
    with pytest.raises(InvalidInputError):
        make_scene(5).prune(bad)


def test_prune_one_keeps_everything():
    s = make_scene(9)
    p = s.prune(1.0)
    assert len(p) == 9
    torch.testing.assert_close(p.means, s.means)


# ---------------------------------------------------------------- merge / SH degree
def test_merge_concatenates_and_pads_sh():
    a, b = make_scene(3, degree=0, seed=1), make_scene(4, degree=2, seed=2)
    m = GaussianScene.merge([a, b])
    assert len(m) == 7 and m.sh_degree == 2
    torch.testing.assert_close(m.means, torch.cat([a.means, b.means]))
    torch.testing.assert_close(m.opacities, torch.cat([a.opacities, b.opacities]))
    torch.testing.assert_close(m.sh[:3, :1], a.sh)
    assert torch.equal(m.sh[:3, 1:], torch.zeros(3, 8, 3, dtype=torch.float64))
    torch.testing.assert_close(m.sh[3:], b.sh)
    # padding does not change the rendered colour
    d = torch.randn(3, 3, dtype=torch.float64)
    torch.testing.assert_close(eval_sh(m.sh[:3], d), eval_sh(a.sh, d))


def test_merge_rejects_empty():
    with pytest.raises(InvalidInputError):
        GaussianScene.merge([])


def test_with_sh_degree_truncates_and_pads():
    s = make_scene(4, degree=3)
    t = s.with_sh_degree(1)
    assert t.sh.shape == (4, 4, 3)
    torch.testing.assert_close(t.sh, s.sh[:, :4])
    torch.testing.assert_close(t.means, s.means)
    s0 = make_scene(4, degree=0)
    p = s0.with_sh_degree(3)
    assert p.sh.shape == (4, 16, 3)
    torch.testing.assert_close(p.sh[:, :1], s0.sh)
    assert torch.equal(p.sh[:, 1:], torch.zeros(4, 15, 3, dtype=torch.float64))
    assert s.with_sh_degree(3) is s
    with pytest.raises(ValueError):
        s.with_sh_degree(4)


# ---------------------------------------------------------------- crop / bounds
def test_crop_keeps_inside_centres():
    s = make_scene(6)
    s.means = torch.tensor(
        [[0, 0, 0], [1, 1, 1], [1.01, 0, 0], [-1, -1, -1], [0.5, -2, 0], [0.2, 0.3, -0.9]], dtype=torch.float64
    )
    c = s.crop([[-1, -1, -1], [1, 1, 1]])
    torch.testing.assert_close(c.means, s.means[[0, 1, 3, 5]])
    torch.testing.assert_close(c.opacities, s.opacities[[0, 1, 3, 5]])
    assert len(s.crop(torch.tensor([[5.0, 5, 5], [6, 6, 6]]))) == 0


@pytest.mark.parametrize("box", [[[0, 0, 0], [1, 1]], [0, 0, 0, 1, 1, 1], [[0, 0, 0], [1, -1, 1]]])
def test_crop_rejects_bad_box(box):
    with pytest.raises(InvalidInputError):
        make_scene(3).crop(box)


def test_bounds_min_max():
    s = make_scene(50, seed=4)
    b = s.bounds()
    assert b.shape == (2, 3)
    torch.testing.assert_close(b[0], s.means.min(0).values)
    torch.testing.assert_close(b[1], s.means.max(0).values)


def test_bounds_quantile_trims_outliers():
    n = 1071
    s = make_scene(n, seed=5)
    s.means = torch.rand(n, 3, generator=torch.Generator().manual_seed(9), dtype=torch.float64)  # in [0, 1)
    s.means[17] = torch.tensor([1000.0, -1000.0, 500.0], dtype=torch.float64)
    full = s.bounds()
    assert full[1, 0] == 1000.0 and full[0, 1] == -1000.0 and full[1, 2] == 500.0
    trimmed = s.bounds(quantile=0.01)
    assert float(trimmed.abs().max()) < 1.0
    assert float(trimmed[0].max()) < 0.05 and float(trimmed[1].min()) > 0.95
    # nearest-rank order statistic: index round(0.01 * 1070) = 11 and round(0.99 * 1070) = 1059 per axis
    srt = s.means.sort(dim=0).values
    torch.testing.assert_close(trimmed, torch.stack([srt[11], srt[1059]]))


def test_bounds_errors():
    with pytest.raises(InvalidInputError):
        GaussianScene.empty().bounds()
    for q in (0.5, 0.7):
        with pytest.raises(InvalidInputError):
            make_scene(5).bounds(quantile=q)


# ---------------------------------------------------------------- validate
def test_validate_accepts_good_scene():
    s = make_scene(5)
    assert s.validate() is s
    GaussianScene.empty().validate()


@pytest.mark.parametrize(
    "name, index, value, match",
    [
        ("means", (2, 1), float("nan"), "means"),
        ("sh", (1, 0, 2), float("inf"), "sh"),
        ("quats", (0, 0), float("nan"), "quats"),
        ("scales", (3, 2), 0.0, "scales"),
        ("scales", (0, 0), -0.1, "scales"),
        ("opacities", (4,), 1.5, "opacities"),
        ("opacities", (4,), -0.01, "opacities"),
    ],
)
def test_validate_rejects(name, index, value, match):
    s = make_scene(5)
    getattr(s, name)[index] = value
    with pytest.raises(InvalidInputError, match=match):
        s.validate()


def test_validate_rejects_zero_quaternion():
    s = make_scene(5)
    s.quats[2] = 0.0
    with pytest.raises(InvalidInputError, match="quaternion"):
        s.validate()


def test_validate_counts_bad_gaussians():
    s = make_scene(5)
    s.means[1, 0] = float("nan")
    s.means[1, 2] = float("nan")
    s.means[3, 1] = float("inf")
    with pytest.raises(InvalidInputError, match=r"^2 Gaussians"):
        s.validate()


# ---------------------------------------------------------------- transform
def _similarity(rot, t, s):
    m = torch.eye(4, dtype=torch.float64)
    m[:3, :3] = s * rot
    m[:3, 3] = t
    return m


def test_transform_similarity():
    s = make_scene(40, degree=3, seed=6)
    rot = _random_rotation(11)
    t = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    scale = 2.5
    new = s.transform(_similarity(rot, t, scale))
    torch.testing.assert_close(new.means, scale * s.means @ rot.T + t, atol=1e-12, rtol=0)
    torch.testing.assert_close(new.scales, scale * s.scales)
    torch.testing.assert_close(new.opacities, s.opacities)
    torch.testing.assert_close(new.quats.norm(dim=-1), torch.ones(40, dtype=torch.float64))
    torch.testing.assert_close(
        _covariances(new), scale**2 * rot @ _covariances(s) @ rot.T, atol=1e-12, rtol=1e-10
    )
    # view-dependent colour turns with the scene
    d = torch.nn.functional.normalize(torch.randn(40, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64), dim=-1)
    torch.testing.assert_close(eval_sh(new.sh, d @ rot.T), eval_sh(s.sh, d), atol=1e-10, rtol=0)
    torch.testing.assert_close(new.sh[:, 0], s.sh[:, 0])
    assert float((new.sh - s.sh).abs().max()) > 1e-3


def test_transform_float32_keeps_dtype():
    s = make_scene(20, degree=1, seed=7, dtype=torch.float32)
    rot = _random_rotation(5)
    new = s.transform(_similarity(rot, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), 0.5).float())
    assert new.dtype == torch.float32 and new.sh.dtype == torch.float32 and new.quats.dtype == torch.float32
    torch.testing.assert_close(new.means, 0.5 * s.means @ rot.T.float() + torch.tensor([1.0, 2.0, 3.0]), atol=1e-5, rtol=0)


def test_transform_identity_and_translation():
    s = make_scene(5, degree=2)
    same = s.transform(torch.eye(4))
    torch.testing.assert_close(same.means, s.means)
    torch.testing.assert_close(same.quats, s.quats)
    torch.testing.assert_close(same.sh, s.sh, atol=1e-12, rtol=0)
    m = torch.eye(4, dtype=torch.float64)
    m[:3, 3] = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(s.transform(m).means, s.means + torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))


def _bad_matrices():
    shear = torch.eye(4)
    shear[0, 1] = 0.3
    nonuniform = torch.diag(torch.tensor([1.0, 2.0, 0.5, 1.0]))
    reflection = torch.diag(torch.tensor([-1.0, 1.0, 1.0, 1.0]))
    singular = torch.diag(torch.tensor([0.0, 1.0, 1.0, 1.0]))
    bottom = torch.eye(4)
    bottom[3, 2] = 0.1
    bottom_scale = torch.eye(4)
    bottom_scale[3, 3] = 2.0
    return [shear, nonuniform, reflection, 2.0 * reflection, singular, bottom, bottom_scale, torch.eye(3), torch.eye(4)[:3]]


@pytest.mark.parametrize("matrix", _bad_matrices())
def test_transform_rejects(matrix):
    with pytest.raises(InvalidInputError):
        make_scene(4).transform(matrix)


# ---------------------------------------------------------------- dynamic scenes
def test_dynamic_scene_basics():
    scenes = [make_scene(3 + i, seed=i) for i in range(3)]
    dyn = DynamicGaussianScene(scenes, torch.tensor([0.0, 0.5, 1.0]))
    assert len(dyn) == 3 and dyn.times.dtype == torch.float64
    items = list(dyn)
    assert [t for t, _ in items] == [0.0, 0.5, 1.0]
    assert all(sc is scenes[i] for i, (_, sc) in enumerate(items))
    assert isinstance(items[0][0], float)
    assert dyn.at(0.2) is scenes[0]
    assert dyn.at(0.3) is scenes[1]
    assert dyn.at(0.74) is scenes[1]
    assert dyn.at(0.8) is scenes[2]
    assert dyn.at(-5.0) is scenes[0] and dyn.at(7.0) is scenes[2]
    d32 = dyn.to(dtype=torch.float32)
    assert all(s.dtype == torch.float32 for s in d32.scenes) and len(d32.scenes[2]) == 5


def test_dynamic_scene_accepts_list_times():
    dyn = DynamicGaussianScene([make_scene(2), make_scene(2)], [1.0, 3.0])
    assert dyn.times.tolist() == [1.0, 3.0]


@pytest.mark.parametrize("times", [[0.0, 0.0, 1.0], [0.0, 1.0, 0.5], [1.0, 0.5, 0.0], [0.0, 1.0], [0.0, 0.5, 1.0, 1.5]])
def test_dynamic_scene_rejects_bad_times(times):
    with pytest.raises(InvalidInputError):
        DynamicGaussianScene([make_scene(2) for _ in range(3)], torch.tensor(times))


def test_dynamic_scene_rejects_empty():
    with pytest.raises(InvalidInputError):
        DynamicGaussianScene([], torch.zeros(0))
