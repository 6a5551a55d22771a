"""Every package's public names resolve (they load lazily), and light commands never import torch."""

import importlib
import subprocess
import sys

import pytest

PACKAGES = ["cameras", "data", "distill", "eval", "export", "gaussians", "models", "pipeline",
            "refine", "render", "sim", "teachers"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves(package):
    module = importlib.import_module(f"lyra_sim.{package}")
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert not missing, f"lyra_sim.{package}.__all__ names that do not load: {missing}"
    assert set(module.__all__) <= set(dir(module))


def _imports_torch(code: str) -> bool:
    probe = code + "\nimport sys\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1] == "True"


def test_importing_packages_does_not_import_torch():
    assert not _imports_torch("import " + ", ".join(f"lyra_sim.{p}" for p in PACKAGES))


def test_a_lazy_name_really_loads_its_module():
    assert _imports_torch("from lyra_sim.gaussians import GaussianScene")
