"""Fixtures of the extension tests: fake omni modules, the extension loaded with them, a scene."""

import importlib
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
EXTENSION_DIR = HERE.parent.parent / "extension" / "lyra.sim.world"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "sim"))

from fake_omni import make_modules
from sim_scenes import export_room


@pytest.fixture(scope="session")
def scene_dir(tmp_path_factory) -> Path:
    """An exported procedural living room (collider, spawn points)."""
    return export_room(tmp_path_factory.mktemp("ext_scene"), "a living room", 0)


@pytest.fixture
def kit(monkeypatch):
    """The extension module imported against fresh fake omni modules; ``kit.stage`` is settable."""
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdGeom.Xform.Define(stage, "/World")
    holder = {"stage": stage}
    for name, module in make_modules(holder).items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.syspath_prepend(str(EXTENSION_DIR))
    for name in [n for n in sys.modules if n == "lyra" or n.startswith("lyra.")]:
        monkeypatch.delitem(sys.modules, name)
    module = importlib.import_module("lyra.sim.world")
    module.holder = holder
    module.ui = sys.modules["omni.ui"]
    module.menus = sys.modules["omni.kit.menu.utils"].menus
    return module
