import os
import sys
from pathlib import Path

# Test helpers (e.g. tests/render/reference.py, tests/io/zip_bomb.py) import as top-level modules.
for sub in ("render", "io"):
    sys.path.insert(0, str(Path(__file__).parent / sub))

# Newton's Warp kernels take 1-2 min to compile on a 2-core CPU; one per-user cache (kept between
# runs, shared with every `lyra-sim` the tests start as a subprocess) makes the suite pay that once.
os.environ.setdefault("WARP_CACHE_PATH", str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lyra-sim" / "warp"))
