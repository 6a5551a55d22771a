"""The full-size recipes reproduce Lyra's nine-stage curriculum (lyra-facts.md §3.3)."""

from __future__ import annotations

import itertools

from tiny_setup import REPO

from lyra_sim.distill import load_train_cfg
from lyra_sim.models import load_decoder_cfg

# Lyra's cumulative max_train_steps per stage; the dynamic stages resume from stage 6 (82,000).
STATIC_ENDS = [10_000, 12_500, 15_000, 17_500, 75_000, 82_000, 83_000]
DYNAMIC_ENDS = [90_000, 91_000]


def test_static_recipe_is_lyras_stages_1_to_7():
    cfg = load_train_cfg(REPO / "configs/train/lyra_static.yaml")
    assert list(itertools.accumulate(s.steps for s in cfg.stages)) == STATIC_ENDS
    assert [tuple(s.image_size) for s in cfg.stages] == [(176, 320)] * 2 + [(352, 640)] + [(704, 1280)] * 4
    assert [s.num_input_frames for s in cfg.stages] == [17, 49, 49, 49, 121, 121, 121]
    assert [s.num_target_frames for s in cfg.stages] == [17, 49, 49, 49, 9, 9, 9]
    assert [s.batch_size for s in cfg.stages] == [4, 4, 2, 1, 1, 1, 1]
    assert [s.inputs for s in cfg.stages] == ["frames"] * 4 + ["latents"] * 3
    assert [s.target_sampling for s in cfg.stages] == ["uniform"] * 5 + ["exponential"] * 2
    assert [s.num_input_trajectories for s in cfg.stages[5:]] == [6, 6] and all(s.sample_num_input_trajectories for s in cfg.stages[5:])
    assert [s.prune_keep_fraction for s in cfg.stages] == [None] * 6 + [0.2]
    assert [s.lambda_opacity for s in cfg.stages] == [0.0] * 6 + [0.1]
    assert (cfg.optim.lr, cfg.optim.weight_decay, cfg.optim.warmup_steps, cfg.optim.grad_clip) == (1e-4, 0.01, 100, 1.0)
    assert (cfg.loss.perceptual, cfg.loss.lambda_perceptual, cfg.loss.lambda_depth) == ("lpips", 0.5, 0.05)
    assert cfg.seed == 42 and cfg.precision == "bf16" and cfg.render.far == 500.0
    model = load_decoder_cfg(cfg.model)
    assert (model.width, model.depth, model.codec) == (512, 16, "cosmos")


def test_dynamic_recipe_is_lyras_stages_8_and_9():
    cfg = load_train_cfg(REPO / "configs/train/lyra_dynamic.yaml")
    assert [82_000 + e for e in itertools.accumulate(s.steps for s in cfg.stages)] == DYNAMIC_ENDS
    assert [s.prune_keep_fraction for s in cfg.stages] == [None, 0.2]
    assert all(s.num_input_frames == 121 and s.inputs == "latents" and s.num_input_trajectories == 6 for s in cfg.stages)
    assert load_decoder_cfg(cfg.model).time_embedding
