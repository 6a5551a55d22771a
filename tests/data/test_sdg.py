"""Synthetic data generation: sharding, resume after a killed run, summary, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from batch_trees import item_files

from lyra_sim.data import LyraScene
from lyra_sim.data.sdg import generate_dataset
from lyra_sim.io.shards import Shard
from lyra_sim.teachers import ProceduralTeacher

TINY = {"num_frames": 3, "width": 32, "height": 24, "trajectories": ("left", "up")}
REPO = Path(__file__).resolve().parents[2]


def test_two_shards_make_disjoint_halves_that_cover_the_run(tmp_path):
    teacher = ProceduralTeacher(codec="dct-t1", shadows=False)
    prompts = ["a bedroom", "a warehouse", "a corridor"]
    a = generate_dataset(teacher, prompts, 5, tmp_path, Shard(0, 2), request_defaults=TINY)
    index = json.loads((tmp_path / "index.json").read_text())
    assert [(e["name"], e["status"]) for e in index["items"]] == [
        ("000000", "made"), ("000001", "pending"), ("000002", "made"), ("000003", "pending"), ("000004", "made")]
    b = generate_dataset(teacher, prompts, 5, tmp_path, Shard(1, 2), request_defaults=TINY)
    assert sorted(a.made) == ["000000", "000002", "000004"] and sorted(b.made) == ["000001", "000003"]
    # Scene i uses prompt i mod len(prompts) and seed i, and reads back in Lyra's layout.
    index = json.loads((tmp_path / "index.json").read_text())
    assert (index["kind"], index["made"], index["pending"]) == ("scenes", 5, 0)
    s3 = index["items"][3]
    assert (s3["name"], s3["prompt"], s3["seed"], s3["scene_kind"], s3["teacher"]) == ("000003", "a bedroom", 3, "room", "procedural")
    scene = LyraScene(tmp_path / "000003")
    assert scene.trajectory_ids == ["0", "1"] and scene.num_frames == 3
    assert scene.description["sdg"]["prompt"] == "a bedroom"


def test_rerun_skips_finished_scenes(tmp_path):
    teacher = ProceduralTeacher(codec=False, shadows=False)
    generate_dataset(teacher, ["a corridor"], 2, tmp_path, request_defaults=TINY)
    stamp = (tmp_path / "000000" / "scene.json").stat().st_mtime_ns
    events = []
    result = generate_dataset(teacher, ["a corridor"], 3, tmp_path, request_defaults=TINY,
                              on_event=lambda kind, name, outcome: events.append((kind, name)))
    assert events == [("skipped", "000000"), ("skipped", "000001"), ("started", "000002"), ("finished", "000002")]
    assert (tmp_path / "000000" / "scene.json").stat().st_mtime_ns == stamp
    assert result.made == ["000002"] and json.loads((tmp_path / "index.json").read_text())["made"] == 3


def test_same_seed_same_bytes_written_at_another_time(tmp_path):
    teacher = ProceduralTeacher(codec="dct-t1", shadows=False)
    generate_dataset(teacher, ["a warehouse"], 1, tmp_path / "a", request_defaults=TINY)
    time.sleep(2.1)  # zip members carry a date with 2 s resolution
    generate_dataset(teacher, ["a warehouse"], 1, tmp_path / "b", request_defaults=TINY)
    a, b = item_files(tmp_path / "a"), item_files(tmp_path / "b")
    assert any(name.endswith(".zip") for name in a) and a == b


def test_killed_run_leaves_no_partial_scene_and_resumes(tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a warehouse with shelves\na city street\n")
    out = tmp_path / "data"
    cmd = [sys.executable, "-m", "lyra_sim.cli", "sdg", "--prompts", str(prompts), "--num-scenes", "6", "--out", str(out),
           "--frames", "9", "--width", "64", "--height", "48", "--codec", "dct-t8", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    deadline = time.time() + 120
    # Kill it while a scene is half written: once one scene is done and the next one's temp exists.
    while time.time() < deadline and proc.poll() is None:
        if (out / "000000" / "scene.json").exists() and list(out.glob(".*.partial")):
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the run finished before it could be interrupted; make the scenes bigger"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert "000000" in done and len(done) < 6
    for name in done:  # every visible scene folder is complete
        assert LyraScene(out / name).trajectory_ids == [str(i) for i in range(6)]
    assert list(out.glob(".*.partial"))  # the half-written one is hidden
    subprocess.run(cmd, env=env, check=True)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [f"{i:06d}" for i in range(6)] + ["index.json"]
    assert not list(out.glob(".*.partial"))
    index = json.loads((out / "index.json").read_text())
    assert index["made"] == 6 and [s["seed"] for s in index["items"]] == list(range(6))
