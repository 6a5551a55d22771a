"""Previews: depth colouring, contact sheets, PNG/MP4 writing and fly-through cameras."""

from __future__ import annotations

import math

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from lyra_sim.errors import InvalidInputError, OutputExistsError
from lyra_sim.gaussians import GaussianScene
from lyra_sim.render.flythrough import preview_cameras, render_flythrough
from lyra_sim.render.preview import (
    colorize_depth,
    contact_sheet,
    depth_range,
    to_uint8,
    write_mp4,
    write_png,
)


def small_scene(z=3.0, n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(n, 3, generator=g) * 0.3 + torch.tensor([0.0, 0.0, z])
    return GaussianScene.from_rgb(means, torch.randn(n, 4, generator=g), torch.full((n, 3), 0.05), torch.full((n,), 0.9), torch.rand(n, 3, generator=g))


def test_to_uint8_clips_and_rounds():
    img = torch.tensor([[[-0.5, 0.5, 2.0]]])
    assert to_uint8(img).tolist() == [[[0, 128, 255]]]


def test_colorize_depth_near_is_warm_and_empty_is_black():
    depth = torch.tensor([[1.0, 10.0], [5.0, 0.0]])
    alpha = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    rgb = colorize_depth(depth, alpha, near=1.0, far=10.0)
    assert rgb.shape == (2, 2, 3)
    assert rgb[0, 0, 0] > rgb[0, 0, 2]  # near: red dominates
    assert rgb[0, 1, 2] > rgb[0, 1, 0]  # far: blue dominates
    assert rgb[1, 1].abs().sum() == 0


def test_contact_sheet_layout():
    imgs = [torch.full((4, 6, 3), float(i) / 5) for i in range(5)]
    sheet = contact_sheet(imgs, columns=3, pad=2, background=1.0)
    assert sheet.shape == (2 * 4 + 3 * 2, 3 * 6 + 4 * 2, 3)
    assert sheet[2, 2 + 6 + 2, 0].item() == pytest.approx(0.2)  # second tile
    assert sheet[2 + 4 + 2, 2 + 2 * (6 + 2), 0].item() == 1.0  # empty sixth slot shows background


def test_an_interrupted_flythrough_leaves_nothing_behind(tmp_path):
    scene = small_scene()
    cams = preview_cameras(scene, "spiral", num_frames=4, width=32, height=24)

    def stop(i):
        if i == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_flythrough(scene, cams, tmp_path / "out", on_frame=stop)
    assert not (tmp_path / "out").exists()  # frames written before Ctrl-C were removed with their folder


def test_contact_sheet_labels_its_rows_and_draws_a_depth_bar():
    imgs = [torch.full((40, 60, 3), 0.5) for _ in range(4)]
    plain = contact_sheet(imgs, columns=2, pad=2)
    labelled = contact_sheet(imgs, columns=2, pad=2, row_labels=["teacher", "depth"])
    gutter = labelled.shape[1] - plain.shape[1]
    assert labelled.shape[0] == plain.shape[0] and gutter > 20
    assert torch.allclose(labelled[:, gutter:], plain, atol=1 / 255)  # the grid (8-bit) is unchanged, shifted right
    assert (labelled[:, :gutter] < 0.5).any()  # dark text in the white gutter
    with_bar = contact_sheet(imgs, columns=2, pad=2, depth_range=(1.0, 8.0))
    below = with_bar[plain.shape[0]:]
    assert below.shape[0] > 20
    strip = below[4]  # a row through the colour strip: turbo from warm (near, left) to cold (far)
    coloured = strip[(strip - 1.0).abs().sum(-1) > 0.1]
    assert len(coloured) > 50 and coloured[0, 0] > coloured[0, 2] and coloured[-1, 2] > coloured[-1, 0]
    with pytest.raises(ValueError, match="row labels"):
        contact_sheet(imgs, columns=2, row_labels=["one"])


def test_depth_range_is_shared_and_ignores_empty_pixels():
    near = torch.full((10, 10), 2.0)
    far = torch.full((10, 10), 9.0)
    alpha = torch.ones(10, 10)
    lo, hi = depth_range([near, far], [alpha, alpha])
    assert lo == pytest.approx(2.0) and hi == pytest.approx(9.0)
    assert depth_range([far], [torch.zeros(10, 10)]) is None


def test_png_and_mp4_are_written_atomically_and_not_overwritten(tmp_path):
    img = torch.rand(17, 23, 3)  # odd sizes: the MP4 writer must pad to even
    png = write_png(img, tmp_path / "a.png")
    assert np.abs(iio.imread(png).astype(int) - to_uint8(img).astype(int)).max() <= 0
    with pytest.raises(OutputExistsError):
        write_png(img, png)
    mp4 = write_mp4([img, 1 - img, img], tmp_path / "a.mp4", fps=10)
    import imageio.v2 as iio2

    reader = iio2.get_reader(mp4)
    assert reader.count_frames() == 3
    assert reader.get_data(0).shape == (18, 24, 3)
    reader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "a.png"]  # no temp files left


def test_preview_cameras_choose_spiral_for_camera_frame_scenes_and_orbit_otherwise():
    front = small_scene(z=3.0)
    cams = preview_cameras(front, "auto", num_frames=10, width=64, height=48)
    assert torch.allclose(cams.c2w[0], torch.eye(4), atol=1e-6)  # Lyra trajectories start at the input camera
    # A scene behind the origin camera gets an orbit: every camera looks at the scene centre.
    behind = small_scene(z=-5.0)
    orbit = preview_cameras(behind, "auto", num_frames=8, width=64, height=48)
    centre = behind.bounds(quantile=0.02).mean(0)
    to_centre = torch.nn.functional.normalize(centre - orbit.centers, dim=-1)
    assert torch.allclose(orbit.c2w[:, :3, 2], to_centre, atol=1e-5)
    with pytest.raises(InvalidInputError, match="trajectory"):
        preview_cameras(front, "sideways")
    with pytest.raises(InvalidInputError):
        preview_cameras(GaussianScene.empty(), "auto")


def test_default_orbit_circles_the_content_and_keeps_all_of_it_in_view():
    """The default path: a full circle, and every opaque Gaussian of the content (a faint haze far
    away does not count) projects inside every frame, for landscape and portrait images."""
    content = small_scene(z=-5.0)
    haze = GaussianScene(torch.randn(40, 3) * 50, content.quats[:40], content.scales[:40],
                         torch.full((40,), 0.02), content.sh[:40])
    scene = GaussianScene.merge([content, haze])
    for width, height in ((64, 48), (48, 96)):
        cams = preview_cameras(scene, num_frames=12, width=width, height=height)
        centre = content.bounds(quantile=0.02).mean(0)
        offsets = cams.centers - centre
        angles = torch.atan2(offsets[:, 2], offsets[:, 0])
        turned = np.diff(np.unwrap(angles.numpy()))
        assert abs(float(turned.sum())) > 1.8 * math.pi  # a (nearly) full circle: it moves
        pts = torch.cat([content.means, torch.ones(len(content), 1)], 1)
        cam = (torch.linalg.inv(cams.c2w.double()) @ pts.double().T)[:, :3]  # [F, 3, N] camera frame
        z = cam[:, 2]
        u = cams.K[:, 0, 0, None] * cam[:, 0] / z + cams.K[:, 0, 2, None]
        v = cams.K[:, 1, 1, None] * cam[:, 1] / z + cams.K[:, 1, 2, None]
        inside = (z > 0) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
        assert float(inside.float().mean(1).min()) >= 0.98, inside.float().mean(1)
        # The content fills a fair part of the frame: the orbit is not needlessly far away.
        assert float((u.amax(1) - u.amin(1)).max()) > 0.3 * width


def test_render_flythrough_writes_frames_video_and_sheet(tmp_path):
    scene = small_scene()
    cams = preview_cameras(scene, "spiral", num_frames=4, width=32, height=24)
    files = render_flythrough(scene, cams, tmp_path / "out", fps=4, sheet_frames=2)
    assert [p.name for p in files.frames] == [f"frame_{i:04d}.png" for i in range(4)]
    assert all(p.is_file() for p in files.frames) and files.video.is_file()
    sheet = iio.imread(files.contact_sheet)
    grid_h, grid_w = 2 * 24 + 3 * 4, 2 * 32 + 3 * 4  # RGB row over depth row, 2 columns
    assert sheet.shape[0] > grid_h and sheet.shape[1] > grid_w  # plus row labels and the depth colour bar
    first = iio.imread(files.frames[0])
    assert (first < 250).any()  # the scene is visible against the white background
    with pytest.raises(OutputExistsError):
        render_flythrough(scene, cams, tmp_path / "out")
    render_flythrough(scene, cams, tmp_path / "out", overwrite=True)
