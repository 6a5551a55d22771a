"""`lyra-sim sdg` (lyra_sim/cli/sdg.py): the settings (SdgCfg) from --config, key=value overrides,
then the flags given; a bad override or a missing required value is one line with nothing written
(the dataset itself: tests/data/test_sdg.py)."""

from __future__ import annotations

from lyra_sim.cli import build_parser, main
from lyra_sim.cli.sdg import cfg_from_args


def parse(*argv):
    return cfg_from_args(build_parser().parse_args(["sdg", *argv]))


def test_config_then_overrides_then_flags(write_yaml):
    cfg_file = write_yaml("prompts: p.txt\nnum_scenes: 8\nout: data\nframes: 9\nwidth: 64\ntrajectories: [left, right]\n"
                          "shadows: false\n")
    cfg = parse("--config", str(cfg_file))
    assert (cfg.prompts, cfg.num_scenes, cfg.out, cfg.frames, cfg.width, cfg.trajectories) == ("p.txt", 8, "data", 9, 64, ["left", "right"])
    assert (cfg.height, cfg.seed, cfg.codec, cfg.shadows, cfg.dynamic, cfg.teacher) == (176, 0, "dct", False, False, "procedural")
    # Overrides win over the file; the flags given win over both.
    cfg = parse("--config", str(cfg_file), "frames=17", "seed=5", "trajectories=[zoom_out]")
    assert (cfg.frames, cfg.seed, cfg.trajectories, cfg.width) == (17, 5, ["zoom_out"], 64)
    cfg = parse("--config", str(cfg_file), "--frames", "3", "--seed", "7", "--trajectories", "up,zoom_in", "--dynamic",
                "--out", "o2", "--shard", "1/2", "frames=17", "codec=dct-t4")
    assert (cfg.frames, cfg.seed, cfg.trajectories, cfg.dynamic, cfg.out, cfg.shard, cfg.codec) == (
        3, 7, ["up", "zoom_in"], True, "o2", "1/2", "dct-t4")
    assert cfg.request_defaults() == {"num_frames": 3, "width": 64, "height": 176, "dynamic": True, "movement_factor": 1.0,
                                      "trajectories": ("up", "zoom_in")}
    # No config: the flags' documented defaults.
    cfg = parse("--prompts", "p.txt", "--num-scenes", "2", "--out", "o")
    assert (cfg.frames, cfg.width, cfg.height, cfg.movement, cfg.seed, cfg.codec, cfg.shadows) == (49, 320, 176, 1.0, 0, "dct", True)
    assert cfg.trajectories is None and cfg.shard is None and "trajectories" not in cfg.request_defaults()


def test_sdg_from_a_config_file(write_yaml, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a small room\n")
    out = tmp_path / "data"
    cfg_file = write_yaml(f"prompts: {prompts}\nnum_scenes: 1\nout: {out}\nframes: 9\nwidth: 32\nheight: 24\n"
                          "trajectories: [left]\nshadows: false\n")
    assert main(["sdg", "--config", str(cfg_file), "seed=4", "--quiet"]) == 0
    assert (out / "000000" / "scene.json").is_file() and (out / "index.json").is_file()


def test_bad_override_or_missing_value_is_one_line(write_yaml, tmp_path, one_line_error):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a small room\n")
    out = tmp_path / "data"
    base = ["sdg", "--prompts", str(prompts), "--num-scenes", "1", "--out", str(out)]
    one_line_error(main([*base, "nope=1"]), "sdg config", "nope")
    one_line_error(main([*base, "frames=many"]), "frames")
    one_line_error(main([*base, "dynamic=3"]), "dynamic")
    one_line_error(main([*base, "trajectories=[sideways]"]), "sideways")
    one_line_error(main(["sdg", "--num-scenes", "1", "--out", str(out)]), "--prompts")
    one_line_error(main(["sdg", "--prompts", str(prompts), "--out", str(out)]), "--num-scenes")
    one_line_error(main(["sdg", "--config", str(write_yaml(f"prompts: {prompts}\nnum_scenes: 1\n"))]), "--out")
    one_line_error(main([*base, "--config", str(tmp_path / "missing.yaml")]), "missing.yaml", "not found")
    one_line_error(main([*base, "--workers", "0"]), "--workers")
    one_line_error(main([*base, "--cpus-per-world", "0"]), "--cpus-per-world")
    one_line_error(main([*base, "--address", "auto"]), "--address", "--executor ray")
    assert not out.exists()
