from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """The same scenes as tests/distill's fixture (same folder: made once per session)."""
    from lyra_sim.data.sdg import generate_dataset
    from lyra_sim.teachers import ProceduralTeacher

    root = tmp_path_factory.getbasetemp() / "lyra_tiny_sdg"
    prompts = ["a small living room", "a warehouse with shelves", "an office with desks"]
    request = {"num_frames": 9, "width": 64, "height": 48, "trajectories": ("left", "zoom_in")}
    generate_dataset(ProceduralTeacher(codec="dct", shadows=False), prompts, 3, root, request_defaults=request)
    return root


@pytest.fixture(scope="session")
def tiny_dynamic_data(tmp_path_factory) -> Path:
    """One moving procedural scene: 2 trajectories and their motion-reversed copies, 9 frames."""
    from lyra_sim.data.sdg import generate_dataset
    from lyra_sim.teachers import ProceduralTeacher

    root = tmp_path_factory.getbasetemp() / "lyra_tiny_dynamic_sdg"
    request = {"num_frames": 9, "width": 64, "height": 48, "trajectories": ("left", "zoom_in"), "dynamic": True}
    generate_dataset(ProceduralTeacher(codec="dct", shadows=False), ["a small living room"], 1, root, request_defaults=request)
    return root
