"""`lyra-sim check --engine`: the drop and stand tests in Newton (and PhysX), with negative controls.

Newton's runs are the slow part (Warp compiles its CPU kernels once per cache, then XPBD steps at
2 ms): the worlds here are a 3 x 3 m floor with two spawn points and one small exported room.
"""

import json
import sys

import numpy as np
import pytest
from pxr import Usd

from lyra_sim.cli import main
from lyra_sim.export import CollisionProxy
from lyra_sim.export.drop_test import DropResult
from lyra_sim.export.spawn import SpawnPoint
from lyra_sim.export.usd_physics import SPAWN_ROOT
from lyra_sim.sim.engine_check import EngineResult, check_engines, disagreements, parse_engines
from lyra_sim.sim.stand_test import StandResult

SPAWNS = [(-0.6, 0.0), (0.6, 0.0)]


def floor(out, hole_at=None, hole_radius: float = 0.6):
    """A flat 3 x 3 m floor at z = 0 (0.1 m grid) with spawn points at :data:`SPAWNS`; ``hole_at``
    (x, y) cuts every triangle within ``hole_radius`` of it. Returns the scene USD."""
    from export_scenes import write_terrain_scene

    x, y = np.meshgrid(np.linspace(-1.5, 1.5, 31), np.linspace(-1.5, 1.5, 31))
    vertices = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], 1)
    a = (np.arange(30)[:, None] * 31 + np.arange(30)[None]).ravel()
    faces = np.concatenate([np.stack([a, a + 1, a + 32], 1), np.stack([a, a + 32, a + 31], 1)])
    if hole_at is not None:
        centre = vertices[faces].mean(1)[:, :2]
        faces = faces[np.linalg.norm(centre - np.asarray(hole_at), axis=1) > hole_radius]
    points = [SpawnPoint(np.array([px, py, 0.0]), 0.6, None) for px, py in SPAWNS]
    return write_terrain_scene(out, CollisionProxy(vertices, faces.astype(np.int64)), points)


@pytest.fixture(scope="module")
def newton():
    return pytest.importorskip("newton", reason='Newton is installed by the test command: pip install -e ".[dev,newton]"')


@pytest.fixture(scope="module")
def physx():
    return pytest.importorskip("ovphysx", reason="ovphysx (PhysX on CPU) is a test-only dependency: pip install --no-deps "
                                                 "ovphysx ovstage warp-lang physx-usd-schemas (needs x86-64 with AVX)")


def test_humanoid_stands_and_bodies_rest_in_both_engines_on_an_exported_room(scene_a, newton, physx):
    """A generated (procedural, exported) room: in Newton and in PhysX the capsule and the box
    rest at every spawn point, the humanoid stands 2 s at every one, and the engines agree."""
    checked = check_engines(scene_a / "scene.usda", "all")
    stage = Usd.Stage.Open(str(scene_a / "scene.usda"))
    n = len(stage.GetPrimAtPath(SPAWN_ROOT).GetChildren())
    assert n >= 2
    for name in ("physx", "newton"):
        r = checked.engines[name]
        assert r.status == "passed", r.summary()
        assert len(r.stands) == n and len(r.drops) == 2 * n
        for s in r.stands:
            # Standing, not merely not fallen: the pelvis stays within 6 cm of the asset's 0.96 m.
            assert 0.90 < s.root_min <= s.root_start + 0.01 and s.lowest_link > -0.03, s
    assert checked.status == "passed" and checked.disagreements == []
    report = checked.to_dict()
    assert set(report["engines"]) == {"physx", "newton"} and report["engines_asked"] == ["physx", "newton"]
    assert report["drop_test"] == "passed" and len(report["drops"]) == 2 * n  # the keys reports had before
    assert "0 disagreements" in report["summary"]
    json.dumps(report)  # report.json material


def test_newton_falls_through_a_hole_and_disagrees_with_physx_on_the_whole_floor(newton, physx, tmp_path):
    """Negative control: with the floor cut away under spawn point 0, Newton's bodies and humanoid
    there fall while spawn point 1 still holds; against PhysX on the intact floor, exactly spawn
    point 0's three tests are listed as disagreements."""
    holed = check_engines(floor(tmp_path / "holed", hole_at=SPAWNS[0]), "newton")
    r = holed.engines["newton"]
    assert holed.status == "failed" and r.status == "failed"
    assert holed.engines["physx"].status == "skipped" and holed.engines["physx"].reason.startswith("not asked for")
    assert [s.passed for s in r.stands] == [False, True], r.stands
    assert r.stands[0].root_min < 0.0 and r.stands[1].root_min > 0.9  # fell below the floor's level / stood
    assert {(d.body, d.spawn_index) for d in r.drops if not d.passed} == {("capsule", 0), ("box", 0)}
    whole = check_engines(floor(tmp_path / "whole"), "physx").engines["physx"]
    assert whole.status == "passed", whole.summary()
    assert disagreements(whole, r) == [{"test": t, "spawn_index": 0, "physx": True, "newton": False}
                                       for t in ("box rests", "capsule rests", "humanoid stands")]


def test_newton_without_a_collider_fails(newton, tmp_path):
    """Negative control: with the collider's collision switched off, nothing rests or stands."""
    path = floor(tmp_path)
    stage = Usd.Stage.Open(str(path))
    stage.GetPrimAtPath("/World/Collider").GetAttribute("physics:collisionEnabled").Set(False)
    stage.Save()
    r = check_engines(path, "newton").engines["newton"]
    assert r.status == "failed"
    assert not any(s.passed for s in r.stands) and not any(d.passed for d in r.drops)
    assert all(d.final_z < d.expected_z - 0.5 for d in r.drops)


def test_engine_not_installed_is_skipped_not_passed(monkeypatch, tmp_path, capsys):
    path = floor(tmp_path)
    monkeypatch.setitem(sys.modules, "newton", None)  # `import newton` raises ImportError, as when it is missing
    checked = check_engines(path, "newton")
    assert checked.status == "skipped" and checked.engines["newton"].status == "skipped"
    assert "Newton is not installed" in checked.engines["newton"].reason and checked.engines["newton"].stands == []
    capsys.readouterr()
    assert main(["check", str(path), "--engine", "newton"]) == 0  # the world is not at fault
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if not ln.startswith("physics check (")]  # its bar
    assert len(err) == 1 and err[0].startswith("lyra-sim check: physics check skipped: newton skipped: Newton is not installed")


def test_one_engine_passing_does_not_hide_the_other_being_skipped(physx, monkeypatch, tmp_path, capsys):
    path = floor(tmp_path)
    monkeypatch.setitem(sys.modules, "newton", None)
    checked = check_engines(path, "all")
    assert checked.status == "passed" and checked.engines["physx"].status == "passed"
    assert checked.engines["newton"].status == "skipped" and checked.disagreements == []
    assert "newton skipped: Newton is not installed" in checked.status_reason
    capsys.readouterr()
    assert main(["check", str(path), "--engine", "all"]) == 0
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if not ln.startswith("physics check (")]  # its bar
    assert len(err) == 1 and err[0].startswith("lyra-sim check: newton check skipped: Newton is not installed")


def test_unknown_engine_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(Exception, match="unknown physics engine 'bullet'; choose one of physx, newton, all"):
        parse_engines("bullet")
    assert parse_engines("ALL") == ("physx", "newton") and parse_engines("newton") == ("newton",)
    path = floor(tmp_path)
    assert main(["check", str(path), "--engine", "bullet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["lyra-sim check: error: unknown physics engine 'bullet'; choose one of physx, newton, all"]


def test_world_without_spawn_points_is_one_line_and_exit_2(tmp_path, capsys):
    path = floor(tmp_path)
    stage = Usd.Stage.Open(str(path))
    assert stage.RemovePrim(SPAWN_ROOT)
    stage.Save()
    checked = check_engines(path, "all")  # for generate's report: failed, not an exception
    assert checked.status == "failed" and checked.reason == "no spawn points"
    assert all(r.status == "failed" for r in checked.engines.values())
    assert main(["check", str(path), "--engine", "all"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no spawn points" in err[0] and "re-export it" in err[0]


def test_disagreements_pair_the_same_test_at_the_same_spawn_point():
    drop = lambda body, i, ok: DropResult(body, i, 0.15, 0.15 if ok else -1.0, 0.0, ok)
    stand = lambda i, ok: StandResult(i, 0.0, 0.96, 0.95 if ok else 0.2, 0.95 if ok else 0.2, 0.03, ok)
    a = EngineResult("physx", "failed", drops=[drop("box", 0, True), drop("box", 1, False)], stands=[stand(0, True), stand(1, True)])
    b = EngineResult("newton", "failed", drops=[drop("box", 0, True), drop("box", 1, True)], stands=[stand(0, False)])
    # Spawn point 1's humanoid ran in one engine only: not a disagreement.
    assert disagreements(a, b) == [{"test": "box rests", "spawn_index": 1, "physx": False, "newton": True},
                                   {"test": "humanoid stands", "spawn_index": 0, "physx": True, "newton": False}]
