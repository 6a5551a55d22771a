from pathlib import Path

import pytest
from tiny_setup import TINY_CONFIG


def make_tiny_data(base: Path) -> Path:
    """3 procedural scenes, 2 trajectories x 9 frames at 64x48 (shared by tests/distill and tests/eval)."""
    from lyra_sim.data.sdg import generate_dataset
    from lyra_sim.teachers import ProceduralTeacher

    root = base / "lyra_tiny_sdg"
    prompts = ["a small living room", "a warehouse with shelves", "an office with desks"]
    request = {"num_frames": 9, "width": 64, "height": 48, "trajectories": ("left", "zoom_in")}
    generate_dataset(ProceduralTeacher(codec="dct", shadows=False), prompts, 3, root, request_defaults=request)
    return root


@pytest.fixture(scope="session")
def tiny_dynamic_data(tmp_path_factory) -> Path:
    """One moving procedural scene, 2 trajectories + their motion-reversed copies x 9 frames
    (the same folder as tests/eval's fixture: made once per session)."""
    from lyra_sim.data.sdg import generate_dataset
    from lyra_sim.teachers import ProceduralTeacher

    root = tmp_path_factory.getbasetemp() / "lyra_tiny_dynamic_sdg"
    request = {"num_frames": 9, "width": 64, "height": 48, "trajectories": ("left", "zoom_in"), "dynamic": True}
    generate_dataset(ProceduralTeacher(codec="dct", shadows=False), ["a small living room"], 1, root, request_defaults=request)
    return root


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return make_tiny_data(tmp_path_factory.getbasetemp())


@pytest.fixture
def tiny_cfg(tiny_data, tmp_path):
    """A loader of configs/train/tiny.yaml on the tiny data, writing into tmp_path/run."""
    from lyra_sim.distill import load_train_cfg

    def load(*overrides: str, out: str = "run"):
        return load_train_cfg(TINY_CONFIG, [f"data.roots=[{tiny_data}]", f"out_dir={tmp_path / out}", *overrides])

    return load
