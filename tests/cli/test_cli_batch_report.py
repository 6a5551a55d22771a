"""`lyra-sim batch-report` (lyra_sim/cli/batch_report.py): a batch folder's index as a table or
JSON, exit code 1 when an item failed, a folder without an index one line."""

from __future__ import annotations

import json

from lyra_sim.cli import main
from lyra_sim.data.sdg import generate_dataset
from lyra_sim.teachers import ProceduralTeacher


def test_table_and_json_of_a_batch_with_a_failure(tmp_path, capsys):
    out = tmp_path / "data"
    out.mkdir()
    (out / "000001").write_text("in the way")
    generate_dataset(ProceduralTeacher(codec="dct-t1", shadows=False), ["a bedroom", "a city street"], 3, out,
                     request_defaults={"num_frames": 3, "width": 32, "height": 24, "trajectories": ("left",)})
    capsys.readouterr()
    assert main(["batch-report", str(out)]) == 1
    table = capsys.readouterr().out
    assert "000000" in table and "a city street" in table and "failed" in table and "is a file" in table
    assert "2 made, 1 failed, 0 pending of 3" in " ".join(table.split())
    assert main(["batch-report", str(out), "--json", "--failed"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in report["items"]] == ["000001"]
    assert report["summary"]["made"] == 2 and report["summary"]["failed"] == 1 and report["summary"]["mean_seconds"] > 0


def test_a_folder_without_an_index_is_one_line(tmp_path, one_line_error):
    one_line_error(main(["batch-report", str(tmp_path)]), "no batch index", "lyra-sim sdg")


def test_a_worlds_index_shows_spawn_points_and_physics(tmp_path, capsys):
    from lyra_sim.io.batch import write_index

    world = {"name": "0000_a-warehouse", "status": "made", "prompt": "a warehouse", "seed": 0, "seconds": 91.5, "error": None,
             "usd": "scene.usdz", "gaussians": [120000], "spawn_points": 7, "physics_check": "passed"}
    pending = {"name": "0001_a-corridor", "status": "pending", "prompt": "a corridor", "seed": 1, "seconds": None, "error": None}
    write_index(tmp_path, "worlds", [world, pending])
    assert main(["batch-report", str(tmp_path)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "0000_a-warehouse" in line)
    assert all(word in row for word in ("made", "91.5", "a warehouse", "7", "passed"))
