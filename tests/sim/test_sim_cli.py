"""`lyra-sim world`: writes a world, refuses to overwrite, replays, and reports bad input in one line."""

from pxr import Usd

from lyra_sim.cli import main
from lyra_sim.sim import read_world_record


def test_world_command_writes_a_replayable_world(scene_a, scene_b, tmp_path, capsys):
    out = tmp_path / "world.usda"
    args = ["world", str(scene_a), str(scene_b), "--robot", "builtin", "--num-envs", "3", "--seed", "5", "--out", str(out)]
    assert main(args) == 0
    stage = Usd.Stage.Open(str(out))
    record = read_world_record(stage)
    assert len(record["draws"].envs) == 3 and record["draws"].seed == 5
    assert stage.GetPrimAtPath("/World/envs/env_0002/Robot/pelvis")
    assert main(args) == 2 and "--overwrite" in capsys.readouterr().err
    replay = tmp_path / "replay.usda"
    assert main(["world", str(scene_a), str(scene_b), "--num-envs", "3", "--seed", "0", "--replay", str(out), "--out", str(replay)]) == 0
    assert read_world_record(Usd.Stage.Open(str(replay)))["draws"] == record["draws"]


def test_world_command_bad_inputs(scene_a, tmp_path, capsys):
    out = str(tmp_path / "w.usda")
    assert main(["world", str(tmp_path / "missing"), "--out", out]) == 2
    assert "no such scene folder" in capsys.readouterr().err
    assert main(["world", str(scene_a), "--robot", "robby", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "unknown robot 'robby'" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
