"""`lyra-sim eval` (lyra_sim/cli/eval.py): --config and key=value overrides of EvalCfg, flags win
when given; a bad override is one line (the scoring itself: tests/eval/)."""

from __future__ import annotations

from lyra_sim.cli import build_parser, main
from lyra_sim.cli.eval import cfg_from_args


def parse(*argv):
    return build_parser().parse_args(["eval", "--decoder", "embedded", "--out", "o", *argv])


def test_config_then_overrides_then_flags(write_yaml, tmp_path):
    cfg_file = write_yaml("fscore_threshold: 0.1\nlpips: 'off'\ndynamic_times: 3\nimage_size: [48, 80]\n")
    cfg = cfg_from_args(parse("mesh_samples=1000", "--data", "d1", "d2", "--config", str(cfg_file)))
    assert (cfg.decoder, cfg.data) == ("embedded", ["d1", "d2"])
    assert (cfg.fscore_threshold, cfg.lpips, cfg.dynamic_times, tuple(cfg.image_size)) == (0.1, "off", 3, (48, 80))
    assert cfg.mesh_samples == 1000 and cfg.geometry and cfg.device == "auto"
    # Flags given win; overrides may also follow --data's roots.
    cfg = cfg_from_args(parse("--config", str(cfg_file), "--lpips", "on", "--times", "5", "--no-geometry",
                              "--image-size", "96x160", "--data", "d1", "max_points=500"))
    assert (cfg.lpips, cfg.dynamic_times, cfg.geometry, tuple(cfg.image_size)) == ("on", 5, False, (96, 160))
    assert cfg.data == ["d1"] and cfg.max_points == 500
    # No config: the dataclass defaults, as before --config existed.
    cfg = cfg_from_args(parse("--data", "d1"))
    assert (cfg.lpips, cfg.dynamic_times, cfg.inputs, cfg.holdout) == ("auto", 5, "auto", None)


def test_bad_override_is_one_line(tmp_path, one_line_error):
    base = ["eval", "--decoder", "embedded", "--out", str(tmp_path / "o")]
    one_line_error(main([*base, "--data", str(tmp_path), "nope=1"]), "eval config", "nope")
    one_line_error(main([*base, "fscore_threshold=far", "--data", str(tmp_path)]), "fscore_threshold")
    assert not (tmp_path / "o").exists()
