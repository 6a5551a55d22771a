"""Shared fixtures of the export tests: one small procedural room, its Gaussians, one world."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from export_scenes import pixel_gaussians, room

from lyra_sim.export import (
    ExportCfg,
    SourceFrame,
    depth_views_from_teacher,
    export_scene,
)


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """These tests use small tensors, where a second thread gains little; on a busy 2-core VM,
    though, every parallel op waits for a core and ops become tens of times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def room_output():
    """Procedural living room: 6 trajectories x 3 frames of 96 x 64, exact metric depth."""
    return room()


@pytest.fixture(scope="session")
def room_views(room_output):
    return depth_views_from_teacher(room_output)


@pytest.fixture(scope="session")
def room_scene(room_output):
    """About 10k flat pixel-aligned Gaussians (a stand-in for the decoder's output)."""
    return pixel_gaussians(room_output, stride=3)


@pytest.fixture(scope="session")
def world(tmp_path_factory, room_output, room_views, room_scene):
    """One exported world (teacher depth, metric teacher frame), shared by read-only tests; in
    the layered form (``usd_format="usda"``, not the default usdz), whose layers they read and edit."""
    out = tmp_path_factory.mktemp("world")
    cfg = ExportCfg(usd_format="usda")
    cfg.collider.resolution = 96
    result = export_scene(room_scene, out, cfg, depth_views=room_views, source=SourceFrame.from_teacher(room_output, "room"))
    return out, result
