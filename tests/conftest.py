import sys
from pathlib import Path

# Test helpers (e.g. tests/render/reference.py) import as top-level modules.
for sub in ("render",):
    sys.path.insert(0, str(Path(__file__).parent / sub))
