"""Shared fixtures of the sim tests: two small exported procedural rooms (export's test helpers)."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent.parent / "export"))

from export_scenes import pixel_gaussians, room  # noqa: E402

from lyra_sim.export import ExportCfg, SourceFrame, depth_views_from_teacher, export_world  # noqa: E402


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """Small tensors on a busy 2-core VM: one thread is faster (see tests/export/conftest.py)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def export_room(out: Path, prompt: str, seed: int, collider: bool = True) -> Path:
    output = room(prompt=prompt, seed=seed)
    cfg = ExportCfg()
    cfg.collider.resolution = 96
    cfg.collider.enabled = collider
    cfg.previews = False
    export_world(pixel_gaussians(output, stride=3), out, cfg, depth_views=depth_views_from_teacher(output),
                 source=SourceFrame.from_teacher(output, prompt))
    return out


@pytest.fixture(scope="session")
def scene_a(tmp_path_factory) -> Path:
    """An exported living room (about 10k Gaussians, a TSDF collider, spawn points)."""
    return export_room(tmp_path_factory.mktemp("scene_a"), "a living room", 0)


@pytest.fixture(scope="session")
def scene_b(tmp_path_factory) -> Path:
    """A second, different exported room."""
    return export_room(tmp_path_factory.mktemp("scene_b"), "a kitchen", 3)
