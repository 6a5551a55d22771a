"""``generate --prompts`` on Ray (lyra_sim/pipeline/batch.py): worlds made as Ray tasks are the
bytes the local executor makes, a world that cannot be made is recorded in index.json (which
follows its schema) and the others are made. The executors' faults and resumes are tested on
tiny sdg scenes (tests/io/test_executors.py); a world takes ~20 s even at this size."""

from __future__ import annotations

import json

import pytest
from batch_trees import item_files
from test_generate import SMALL

from lyra_sim.cli import main
from lyra_sim.io.batch import INDEX_SCHEMA

FAST = [*SMALL, "preview.enabled=false", "physics_check=false"]


def test_worlds_through_ray_match_the_local_executor_and_a_failure_is_recorded(tmp_path, local_ray):
    jsonschema = pytest.importorskip("jsonschema")
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a small living room\na corridor\n")
    on_ray, local = tmp_path / "ray", tmp_path / "local"
    on_ray.mkdir()
    (on_ray / "0001_a-corridor").write_text("in the way")  # this world cannot be written: its own failure
    assert main(["generate", "--prompts", str(prompts), "--out", str(on_ray), "--executor", "ray", "--quiet", *FAST]) == 1
    index = json.loads((on_ray / "index.json").read_text())
    jsonschema.validate(index, json.loads(INDEX_SCHEMA.read_text()))
    made, failed = index["items"]
    assert (made["name"], made["status"], made["usd"], made["seed"]) == ("0000_a-small-living-room", "made", "scene.usdz", 0)
    assert failed["status"] == "failed" and "is a file" in failed["error"] and failed["prompt"] == "a corridor"
    assert main(["generate", "--prompts", str(prompts), "--out", str(local), "--executor", "local", "--workers", "1",
                 "--shard", "0/2", "--quiet", *FAST]) == 0
    world = "0000_a-small-living-room"
    ray_files, local_files = item_files(on_ray), item_files(local)
    assert f"{world}/scene.ply" in ray_files and ray_files == local_files
