"""Batch executors (lyra_sim/io/executors.py) on a real local Ray and real worker processes,
through ``lyra-sim sdg``'s batch (tiny procedural scenes): the same bytes from every executor, a
worker SIGKILLed in the middle of a scene, a failing item recorded, a rerun making only what is
missing. (The same for ``generate --prompts`` worlds: tests/pipeline/test_generate_batch.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from batch_trees import item_files, kill_first_worker

from lyra_sim.data.sdg import generate_dataset
from lyra_sim.io.executors import ExecutorCfg, Task, run_tasks
from lyra_sim.teachers import ProceduralTeacher

PROMPTS = ["a bedroom", "a warehouse with shelves", "a city street"]
TINY = {"num_frames": 3, "width": 32, "height": 24, "trajectories": ("left", "up")}
KILLABLE = {"num_frames": 9, "width": 64, "height": 48, "trajectories": ("left", "right", "up")}
"""Long enough to write (~0.3 s) that a watcher polling every 2 ms catches a scene half written."""
NAMES = [f"{i:06d}" for i in range(4)]
REPO = Path(__file__).resolve().parents[2]


def teacher():
    return ProceduralTeacher(codec="dct-t1", shadows=False)


def make(out, executor, num_scenes=4, request=TINY, events=None, **kw):
    on_event = None if events is None else (lambda kind, key, outcome: events.append((kind, key, outcome)))
    return generate_dataset(teacher(), PROMPTS, num_scenes, out, request_defaults=request, executor=executor,
                            on_event=on_event, **kw)


def workers_of(events) -> set[int]:
    return {int(o.worker.rsplit(":", 1)[1]) for kind, _, o in events if kind == "finished" and o.worker}


def sdg_command(prompts: Path, out: Path, num_scenes: int, *flags: str) -> subprocess.CompletedProcess:
    """``lyra-sim sdg`` at the TINY size in its own process."""
    prompts.write_text("\n".join(PROMPTS) + "\n")
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "lyra_sim.cli", "sdg", "--prompts", str(prompts), "--num-scenes", str(num_scenes),
           "--out", str(out), "--frames", "3", "--width", "32", "--height", "24", "--trajectories", "left,up",
           "--codec", "dct-t1", "--no-shadows", *flags]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)


def test_four_scenes_through_ray_are_the_local_executors_bytes(tmp_path):
    pytest.importorskip("ray")
    inline = make(tmp_path / "inline", None)
    local_events = []
    local = make(tmp_path / "local", ExecutorCfg("local", workers=2), events=local_events)
    # The command as a user types it: it starts a Ray instance of 2 CPUs, one task per scene, and stops it.
    on_ray = sdg_command(tmp_path / "prompts.txt", tmp_path / "ray", 4, "--executor", "ray", "--workers", "2")
    assert on_ray.returncode == 0, on_ray.stderr[-3000:]
    assert "4 scenes made" in on_ray.stdout and "Started a local Ray instance" in on_ray.stderr
    assert sorted(inline.made) == sorted(local.made) == NAMES and not local.failed
    reference = item_files(tmp_path / "inline")
    assert len(reference) > 4 * 10 and reference == item_files(tmp_path / "local") == item_files(tmp_path / "ray")
    # The local executor really ran them elsewhere: in two worker processes.
    assert len(workers_of(local_events)) == 2 and os.getpid() not in workers_of(local_events)


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory):
    out = tmp_path_factory.mktemp("undisturbed")
    make(out, None, num_scenes=3, request=KILLABLE)
    return item_files(out)


@pytest.mark.parametrize("kind", ["local", "ray"])
def test_a_worker_killed_mid_scene_is_retried_and_the_batch_is_whole(kind, tmp_path, undisturbed, request):
    if kind == "ray":
        request.getfixturevalue("local_ray")
    out, killed, stop, events = tmp_path / "data", [], threading.Event(), []
    watcher = threading.Thread(target=kill_first_worker, args=(out, killed, stop), daemon=True)
    watcher.start()
    try:
        result = make(out, ExecutorCfg(kind, workers=2), num_scenes=3, request=KILLABLE, events=events)
    finally:
        stop.set()
        watcher.join()
    assert killed, "no worker was caught writing a scene; make the scenes bigger"
    scene, pid = killed[0]
    # (a worker killed just after its rename leaves a finished scene that the retry finds: "skipped")
    assert sorted(result.made + result.skipped) == ["000000", "000001", "000002"] and not result.failed
    retried = [o for k, key, o in events if k == "finished" and key == scene]
    assert len(retried) == 1 and retried[0].worker.rsplit(":", 1)[1] != str(pid)  # made again, by another process
    assert retried[0].attempts == (2 if kind == "local" else 1)  # Ray retries on its own without saying so
    # Every scene once, no staging folder left, and the bytes of an undisturbed run.
    assert sorted(p.name for p in out.iterdir()) == ["000000", "000001", "000002", "index.json"]
    assert item_files(out) == undisturbed


def test_a_failing_scene_is_recorded_and_a_rerun_makes_only_what_is_missing(tmp_path, local_ray):
    out = tmp_path / "data"
    out.mkdir()
    (out / "000002").write_text("in the way")  # scene 2 cannot be written: its own failure, not the batch's
    first = make(out, ExecutorCfg("ray"))
    assert sorted(first.made) == ["000000", "000001", "000003"] and list(first.failed) == ["000002"]
    assert "000002 is a file" in first.failed["000002"]
    index = json.loads((out / "index.json").read_text())
    assert (index["made"], index["failed"], index["pending"]) == (3, 1, 0)
    failed = next(e for e in index["items"] if e["name"] == "000002")
    assert failed["status"] == "failed" and "is a file" in failed["error"] and failed["prompt"] == "a city street"
    assert (out / ".failed" / "000002.json").is_file()

    (out / "000002").unlink()
    stamp = (out / "000000" / "scene.json").stat().st_mtime_ns
    events = []
    second = make(out, ExecutorCfg("ray"), events=events)
    assert second.made == ["000002"] and sorted(second.skipped) == ["000000", "000001", "000003"]
    assert [key for kind, key, _ in events if kind == "finished"] == ["000002"]  # only the missing one ran
    assert (out / "000000" / "scene.json").stat().st_mtime_ns == stamp
    index = json.loads((out / "index.json").read_text())
    assert (index["made"], index["failed"]) == (4, 0) and not (out / ".failed" / "000002.json").exists()


def test_a_worker_that_always_dies_fails_its_item_only(tmp_path):
    events = []
    outcomes = run_tasks([Task("ok", dict, {"answer": 42}), Task("dies", os.abort),
                          Task("raises", os.listdir, {"path": str(tmp_path / "missing")})],
                         ExecutorCfg("local", workers=1, max_retries=1), lambda *e: events.append(e))
    by_key = {o.key: o for o in outcomes}
    assert by_key["dies"].status == "failed" and by_key["dies"].attempts == 2 and "signal 6" in by_key["dies"].error
    assert by_key["raises"].status == "failed" and by_key["raises"].error.startswith("FileNotFoundError")
    assert by_key["ok"].status == "made" and by_key["ok"].info == {"answer": 42}
    assert [e[0] for e in events].count("finished") == 3


def test_ray_without_ray_is_one_line_on_how_to_install_it(tmp_path, monkeypatch, capsys):
    import sys

    from lyra_sim.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without the cluster extra sees
    prompts = tmp_path / "p.txt"
    prompts.write_text("a room\n")
    rc = main(["sdg", "--prompts", str(prompts), "--num-scenes", "1", "--out", str(tmp_path / "d"), "--executor", "ray", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "pip install 'lyra-sim[cluster]'" in err
    assert not (tmp_path / "d" / "000000").exists()

