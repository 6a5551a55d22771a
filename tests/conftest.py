import os
import sys
from pathlib import Path

# Test helpers (e.g. tests/render/reference.py, tests/io/zip_bomb.py) import as top-level modules.
for sub in ("render", "io"):
    sys.path.insert(0, str(Path(__file__).parent / sub))

# Newton's Warp kernels take 1-2 min to compile on a 2-core CPU; one per-user cache (kept between
# runs, shared with every `lyra-sim` the tests start as a subprocess) makes the suite pay that once.
os.environ.setdefault("WARP_CACHE_PATH", str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lyra-sim" / "warp"))

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    """A real Ray instance on this machine (2 CPUs) for the batch executor tests, started once per
    test module and stopped after it (its gRPC threads must not outlive the module into tests that
    fork); the executor uses an initialised Ray as it is. Skipped where Ray is not installed
    (`pip install -e ".[cluster]"`, as CI does)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
