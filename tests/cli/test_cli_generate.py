"""`lyra-sim generate` (lyra_sim/cli/generate.py): the config from --config, key=value overrides
and flags, in that order; bad input is one line (the runs themselves: tests/pipeline/)."""

from __future__ import annotations

from lyra_sim.cli import build_parser, main
from lyra_sim.cli.generate import cfg_from_args


def test_config_then_overrides_then_flags(write_yaml, tmp_path):
    cfg_file = write_yaml("seed: 7\ndevice: cuda\nteacher:\n  width: 320\ndecoder:\n  fuse: joint\n")
    args = build_parser().parse_args(["generate", "teacher.height=176", "preview.frames=3", "--prompt", "a room",
                                      "--out", str(tmp_path / "o"), "--config", str(cfg_file), "--device", "cpu"])
    cfg = cfg_from_args(args)
    assert (cfg.seed, cfg.teacher.width, cfg.decoder.fuse) == (7, 320, "joint")  # the file
    assert (cfg.teacher.height, cfg.preview.frames) == (176, 3)  # the overrides
    assert cfg.device == "cpu"  # a flag given wins over the file
    args = build_parser().parse_args(["generate", "--prompt", "a room", "--out", str(tmp_path / "o"), "--seed", "2",
                                      "--decoder", "embedded", "--times", "0,0.5", "--config", str(cfg_file)])
    cfg = cfg_from_args(args)
    assert (cfg.seed, cfg.decoder.weights, cfg.times, cfg.device) == (2, "embedded", [0.0, 0.5], "cuda")


def test_no_config_reads_the_repository_default(tmp_path):
    args = build_parser().parse_args(["generate", "--prompt", "a room", "--out", str(tmp_path / "o")])
    assert cfg_from_args(args).teacher.name == "procedural"


def test_bad_override_or_config_is_one_line(tmp_path, one_line_error):
    base = ["generate", "--prompt", "a room", "--out", str(tmp_path / "o")]
    one_line_error(main([*base, "teacher.nope=1"]), "generate config", "nope")
    one_line_error(main([*base, "teacher.width=wide"]), "teacher.width")
    one_line_error(main([*base, "--config", str(tmp_path / "missing.yaml")]), "missing.yaml", "not found")
    one_line_error(main([*base, "--times", "0,half"]), "--times")
    one_line_error(main([*base, "physics_engine=bullet"]), "unknown physics engine 'bullet'", "physx, newton, all")
    assert not (tmp_path / "o").exists()
