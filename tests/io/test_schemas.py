"""The shipped JSON Schemas are valid schemas and the gallery's reports follow them."""

import json
from pathlib import Path

import jsonschema
import pytest

from lyra_sim.io.schemas import load_schema, schema_errors, schema_path

GALLERY = Path(__file__).parents[2] / "scenes" / "gallery"


@pytest.mark.parametrize("name", ["report", "index"])
def test_schemas_are_valid_json_schemas(name):
    schema = load_schema(name)
    jsonschema.validators.validator_for(schema).check_schema(schema)


@pytest.mark.parametrize("world", sorted(p.name for p in GALLERY.iterdir() if (p / "report.json").is_file()))
def test_gallery_reports_follow_the_schema(world):
    assert schema_errors(json.loads((GALLERY / world / "report.json").read_text()), "report") == []


def test_a_broken_report_is_caught():
    report = json.loads((GALLERY / "corridor" / "report.json").read_text())
    report["physics_check"]["status"] = "ok"  # not one of passed, failed, skipped
    del report["collider"]
    errors = schema_errors(report, "report")
    assert any("physics_check/status" in e for e in errors) and any("collider" in e for e in errors)


def test_unknown_schema_names_the_known_ones():
    with pytest.raises(KeyError, match="report"):
        schema_path("nope")
