"""A batch folder (lyra_sim/io/batch.py): index.json follows its schema with made, failed and
pending items, failure records come and go, and a finished item is never made twice."""

from __future__ import annotations

import copy
import json

import pytest

from lyra_sim.data.sdg import SCENES, generate_dataset
from lyra_sim.errors import InvalidInputError
from lyra_sim.io.batch import INDEX_SCHEMA, BatchItem, make_item, read_index
from lyra_sim.io.shards import Shard
from lyra_sim.teachers import ProceduralTeacher

jsonschema = pytest.importorskip("jsonschema")
TINY = {"num_frames": 3, "width": 32, "height": 24, "trajectories": ("left",)}


def validate(index: dict) -> None:
    schema = json.loads(INDEX_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(index)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Shard 0/2 of 5 tiny scenes, scene 2 blocked by a file: made, failed and pending items."""
    out = tmp_path_factory.mktemp("batch")
    (out / "000002").write_text("in the way")
    teacher = ProceduralTeacher(codec="dct-t1", shadows=False)
    result = generate_dataset(teacher, ["a bedroom", "a warehouse"], 5, out, Shard(0, 2), request_defaults=TINY)
    return out, result


def test_the_index_follows_its_schema(batch):
    out, result = batch
    index = read_index(out)
    assert (index["made"], index["failed"], index["pending"], index["total"]) == (2, 1, 2, 5)
    assert {e["status"] for e in index["items"]} == {"made", "failed", "pending"}
    validate(index)
    # ...and the schema can fail: a failure without its error, a made item with one, an unknown status.
    for name, change in [("failed", {"error": None}), ("made", {"error": "x"}), ("pending", {"status": "running"})]:
        broken = copy.deepcopy(index)
        next(e for e in broken["items"] if e["status"] == name).update(change)
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


def test_a_failure_is_recorded_until_the_item_is_made(batch, tmp_path):
    out, result = batch
    assert list(result.failed) == ["000002"]
    record = json.loads((out / ".failed" / "000002.json").read_text())
    assert "is a file" in record["error"] and record["attempts"] == 1 and record["worker"]
    (out / "000002").unlink()
    teacher = ProceduralTeacher(codec="dct-t1", shadows=False)
    again = generate_dataset(teacher, ["a bedroom", "a warehouse"], 5, out, Shard(0, 2), request_defaults=TINY)
    assert again.made == ["000002"] and not (out / ".failed" / "000002.json").exists()
    assert read_index(out)["failed"] == 0


def test_a_finished_item_is_not_made_again(batch):
    out, _ = batch
    stamp = (out / "000000" / "scene.json").stat().st_mtime_ns
    teacher = ProceduralTeacher(codec="dct-t1", shadows=False)
    item = BatchItem("000000", "a bedroom", 0)
    assert make_item(SCENES, str(out / "000000"), item, {"teacher": teacher, "request_defaults": TINY}) == {"already": True}
    assert (out / "000000" / "scene.json").stat().st_mtime_ns == stamp


def test_read_index_refuses_what_is_not_an_index(tmp_path):
    with pytest.raises(InvalidInputError, match="no batch index"):
        read_index(tmp_path)
    (tmp_path / "index.json").write_text("[1, 2]")
    with pytest.raises(InvalidInputError, match="not a batch index"):
        read_index(tmp_path)
