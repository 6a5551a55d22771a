"""`lyra-sim train` (lyra_sim/cli/train.py): --config (required) and key=value overrides; a bad
override is one line (the training itself: tests/distill/)."""

from __future__ import annotations

from pathlib import Path

from lyra_sim.cli import build_parser, main
from lyra_sim.cli.train import cfg_from_args

TINY = Path(__file__).resolve().parents[2] / "configs" / "train" / "tiny.yaml"


def test_config_then_overrides(tmp_path):
    args = build_parser().parse_args(["train", "--config", str(TINY), f"out_dir={tmp_path / 'run'}", "optim.lr=0.01",
                                      "stages.0.steps=2"])
    cfg = cfg_from_args(args)
    assert cfg.out_dir == str(tmp_path / "run") and cfg.optim.lr == 0.01 and cfg.stages[0].steps == 2


def test_bad_override_is_one_line(tmp_path, one_line_error):
    one_line_error(main(["train", "--config", str(TINY), "optim.nope=1"]), "training config", "nope")
    one_line_error(main(["train", "--config", str(tmp_path / "missing.yaml")]), "missing.yaml", "configs/train/")
