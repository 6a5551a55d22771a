"""JSON Schemas of the documents lyra-sim writes for other programs to read.

``report.json`` (beside every world: ``lyra-sim export`` / ``generate``) and ``index.json`` (a
batch folder) have schemas in ``lyra_sim/assets/schemas/``; pipelines may rely on what they
require. Validating needs ``jsonschema`` (a test dependency): the package itself only ships and
loads the schemas.
"""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "assets" / "schemas"


def schema_path(name: str) -> Path:
    """Path of the schema of document ``name`` ("report", "index")."""
    path = SCHEMA_DIR / f"{name}.schema.json"
    if not path.is_file():
        known = sorted(p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json"))
        raise KeyError(f"no schema {name!r}; lyra-sim has {', '.join(known)}")
    return path


def load_schema(name: str) -> dict:
    """The JSON Schema (draft 2020-12) of document ``name`` as a dict."""
    return json.loads(schema_path(name).read_text())


def schema_errors(document: dict, name: str) -> list[str]:
    """Every way ``document`` breaks schema ``name``, as ``"path: message"`` lines (empty: valid).
    Needs ``jsonschema``."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema(name))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(document)]
