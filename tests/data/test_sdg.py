"""Synthetic data generation: sharding, resume after a killed run, summary, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
    b = generate_dataset(teacher, prompts, 5, tmp_path, Shard(1, 2), request_defaults=TINY)
    names_a, names_b = {s["scene"] for s in a["scenes"]}, {s["scene"] for s in b["scenes"]}
    assert names_a == {"000000", "000002", "000004"} and names_b == {"000001", "000003"}
    assert (tmp_path / "sdg_summary.0-of-2.json").is_file() and (tmp_path / "sdg_summary.1-of-2.json").is_file()
    # Scene i uses prompt i mod len(prompts) and seed i, and reads back in Lyra's layout.
    s3 = next(s for s in b["scenes"] if s["scene"] == "000003")
    assert s3["prompt"] == "a bedroom" and s3["seed"] == 3 and s3["kind"] == "room"
    scene = LyraScene(tmp_path / "000003")
    assert scene.trajectory_ids == ["0", "1"] and scene.num_frames == 3
    assert scene.description["sdg"]["prompt"] == "a bedroom"


def test_rerun_skips_finished_scenes(tmp_path):
    teacher = ProceduralTeacher(codec=False, shadows=False)
    generate_dataset(teacher, ["a corridor"], 2, tmp_path, request_defaults=TINY)
    stamp = (tmp_path / "000000" / "scene.json").stat().st_mtime_ns
    events = []
    summary = generate_dataset(teacher, ["a corridor"], 3, tmp_path, request_defaults=TINY, on_scene=lambda i, what: events.append((i, what)))
    assert events == [(0, "skipped"), (1, "skipped"), (2, "made")]
    assert (tmp_path / "000000" / "scene.json").stat().st_mtime_ns == stamp
    assert summary["complete"] == summary["expected"] == 3


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
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [f"{i:06d}" for i in range(6)] + ["sdg_summary.json"]
    assert not list(out.glob(".*.partial"))
    summary = json.loads((out / "sdg_summary.json").read_text())
    assert summary["complete"] == 6 and [s["seed"] for s in summary["scenes"]] == list(range(6))
