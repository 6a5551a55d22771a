import pytest
from sdg_fixtures import OriginalScene, write_original_scene


@pytest.fixture
def original_scene(tmp_path) -> OriginalScene:
    """A three-trajectory static scene in Lyra's original layout (9 frames, 48x64)."""
    return write_original_scene(tmp_path / "lyra_static")
