"""Banded rendering: the same image as one call, with every band inside its pair budget."""

import pytest
import torch

from lyra_sim.cameras import Cameras
from lyra_sim.errors import InvalidInputError
from lyra_sim.gaussians import GaussianScene
from lyra_sim.render import render
from lyra_sim.render.bands import band_rows, render_in_bands, row_pairs


def scene_and_cameras(n=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(n, 3, generator=g) * 0.4 + torch.tensor([0.0, 0.0, 3.0])
    scene = GaussianScene.from_rgb(means, torch.randn(n, 4, generator=g), torch.rand(n, 3, generator=g) * 0.1 + 0.02,
                                   torch.rand(n, generator=g) * 0.8 + 0.1, torch.rand(n, 3, generator=g))
    c2w = torch.eye(4).expand(2, 4, 4).clone()
    c2w[1, 0, 3] = 0.3  # a second view, moved sideways
    return scene, Cameras.from_fov(c2w, 60.0, 48, 40)


@pytest.mark.parametrize("mode", ["RGB+ED", "RGB+SD"])
def test_bands_give_the_same_image(mode):
    scene, cams = scene_and_cameras()
    whole = render(scene, cams, mode=mode, background=(1.0, 1.0, 1.0))
    per_row = row_pairs(scene, cams[0:1])
    budget = int(per_row.sum() / 6)  # forces about six bands per view
    banded = render_in_bands(scene, cams, max_pairs=budget, mode=mode, background=(1.0, 1.0, 1.0))
    assert len(band_rows(per_row, budget)) >= 4
    for name in ("rgb", "alpha", "depth" if "ED" in mode else "surface_depth"):
        a, b = getattr(whole, name), getattr(banded, name)
        assert a.shape == b.shape
        assert torch.allclose(a, b, atol=1e-5), f"{name}: max difference {(a - b).abs().max()}"


def test_band_rows_cover_the_image_within_budget():
    pairs = torch.tensor([5.0, 5.0, 20.0, 1.0, 1.0, 1.0, 9.0])
    bands = band_rows(pairs, 10)
    assert bands[0][0] == 0 and bands[-1][1] == len(pairs)
    assert all(a[1] == b[0] for a, b in zip(bands, bands[1:]))  # consecutive, no gap or overlap
    assert all(pairs[y0:y1].sum() <= 10 or y1 - y0 == 1 for y0, y1 in bands)  # only a lone row may exceed


def test_a_band_is_the_rows_of_the_whole_image():
    scene, cams = scene_and_cameras()
    whole = render(scene, cams[0:1], mode="RGB+ED")
    band = render(scene, cams[0:1], mode="RGB+ED", rows=(10, 25))
    assert band.rgb.shape == (1, 15, cams.width, 3)
    assert torch.allclose(band.rgb, whole.rgb[:, 10:25], atol=1e-5)
    with pytest.raises(InvalidInputError, match="rows"):
        render(scene, cams[0:1], rows=(30, 20))
    tile = render(scene, cams[0:1], mode="RGB+SD", rows=(5, 30), cols=(12, 40))
    whole_sd = render(scene, cams[0:1], mode="RGB+SD")
    assert torch.allclose(tile.surface_depth, whole_sd.surface_depth[:, 5:30, 12:40], atol=1e-5)
    assert torch.allclose(tile.rgb, whole_sd.rgb[:, 5:30, 12:40], atol=1e-5)


def test_rows_over_budget_are_cut_into_columns():
    scene, cams = scene_and_cameras()
    whole = render(scene, cams, mode="RGB+ED")
    budget = int(row_pairs(scene, cams[0:1]).max() / 3)  # no single row fits: tiles, not bands
    tiled = render_in_bands(scene, cams, max_pairs=budget, mode="RGB+ED")
    assert torch.allclose(tiled.rgb, whole.rgb, atol=1e-5) and torch.allclose(tiled.depth, whole.depth, atol=1e-4)


def test_refuses_impossible_sizes():
    scene, cams = scene_and_cameras()
    huge = Cameras.from_fov(torch.eye(4)[None], 60.0, 20000, 20000)
    with pytest.raises(InvalidInputError, match="megapixels"):
        render_in_bands(scene, huge)
    with pytest.raises(InvalidInputError, match="max_pairs"):
        render_in_bands(scene, cams, max_pairs=0)
