"""Shared fixtures of the sim tests: two small exported procedural rooms (export's test helpers)."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from sim_scenes import export_ramp, export_room


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """Small tensors on a busy 2-core VM: one thread is faster (see tests/export/conftest.py)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def scene_a(tmp_path_factory) -> Path:
    """An exported living room (about 10k Gaussians, a TSDF collider, spawn points)."""
    return export_room(tmp_path_factory.mktemp("scene_a"), "a living room", 0)


@pytest.fixture(scope="session")
def scene_b(tmp_path_factory) -> Path:
    """A second, different exported room."""
    return export_room(tmp_path_factory.mktemp("scene_b"), "a kitchen", 3)


@pytest.fixture(scope="session")
def ramp_10(tmp_path_factory) -> Path:
    """A 10 degree ramp rising to 2 m, with its spawn points (no Gaussians)."""
    return export_ramp(tmp_path_factory.mktemp("ramp_10"), 10.0)
