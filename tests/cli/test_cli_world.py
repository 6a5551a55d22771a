"""`lyra-sim world` (lyra_sim/cli/world.py): --config and key=value overrides of WorldCfg among the
SCENE_DIR arguments, flags win when given; a bad override is one line (the worlds: tests/sim/)."""

from __future__ import annotations

from lyra_sim.cli import build_parser, main
from lyra_sim.cli.world import cfg_from_args, scene_dirs


def test_config_then_overrides_then_flags(write_yaml, tmp_path):
    cfg_file = write_yaml("num_envs: 8\nrandomization:\n  seed: 3\n  robot:\n    drop_height: 0.05\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "b=c").mkdir()  # an existing folder stays a scene even when it looks like key=value
    argv = ["world", str(tmp_path / "a"), "env_margin=1.5", str(tmp_path / "b=c"), "randomization.gaussian_color.enabled=true",
            "--out", "w.usda", "--config", str(cfg_file)]
    args = build_parser().parse_args(argv)
    assert scene_dirs(args) == [tmp_path / "a", tmp_path / "b=c"]
    cfg = cfg_from_args(args)
    assert (cfg.num_envs, cfg.randomization.seed, cfg.randomization.robot.drop_height) == (8, 3, 0.05)
    assert cfg.env_margin == 1.5 and cfg.randomization.gaussian_color.enabled and cfg.robot_drives
    cfg = cfg_from_args(build_parser().parse_args([*argv[:3], "--out", "w.usda", "--config", str(cfg_file),
                                                   "--seed", "9", "--num-envs", "2", "--ragdoll"]))
    assert (cfg.num_envs, cfg.randomization.seed, cfg.robot_drives) == (2, 9, False)
    cfg = cfg_from_args(build_parser().parse_args(["world", "a", "--out", "w.usda"]))
    assert (cfg.num_envs, cfg.randomization.seed) == (1, 0)  # the flags' documented defaults


def test_bad_override_is_one_line(tmp_path, one_line_error):
    out = str(tmp_path / "w.usda")
    one_line_error(main(["world", str(tmp_path), "nope=1", "--out", out]), "world config", "nope")
    one_line_error(main(["world", str(tmp_path), "num_envs=many", "--out", out]), "num_envs")
    one_line_error(main(["world", "num_envs=2", "--out", out]), "no scene folder")
    assert not (tmp_path / "w.usda").exists()
