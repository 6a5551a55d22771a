import sys
from pathlib import Path

# Test helpers (e.g. tests/render/reference.py, tests/io/zip_bomb.py) import as top-level modules.
for sub in ("render", "io"):
    sys.path.insert(0, str(Path(__file__).parent / sub))
