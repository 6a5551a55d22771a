"""Lyra's frame/trajectory sampling rules, checked over many draws."""

import numpy as np
import pytest

from lyra_sim.data.sampling import (
    ViewSamplingCfg,
    context_window,
    mirror_frame_indices,
    sample_target_frames,
    sample_views,
)
from lyra_sim.errors import InvalidInputError

STATIC = [str(i) for i in range(6)]
DYNAMIC = [str(i) for i in range(12)]


def test_static_inputs_span_a_gap_within_bounds():
    cfg = ViewSamplingCfg(num_input_frames=17, num_target_frames=9, min_gap=45, max_gap=121, num_input_trajectories=6)
    rng = np.random.default_rng(0)
    gaps, counts = [], []
    for _ in range(300):
        s = sample_views(rng, 121, STATIC, cfg)
        counts.append(len(s.input_trajectories))
        assert len(set(s.input_trajectories)) == len(s.input_trajectories)  # no repeats
        assert s.target_trajectories == s.input_trajectories  # targets from every selected trajectory
        starts, ends = s.input_frames[:, 0], s.input_frames[:, -1]
        assert len(set(starts)) == 1 and len(set(ends)) == 1  # one shared gap
        gap = ends[0] - starts[0]
        gaps.append(gap)
        assert 45 <= gap <= 120 and 0 <= starts[0] and ends[0] <= 120
        for row in s.input_frames:
            assert len(row) == 17 and np.all(np.diff(row) > 0)  # sorted, distinct, endpoints included
        assert np.all(s.target_frames == s.target_frames[0])
        t = s.target_frames[0]
        assert len(t) == 9 and len(set(t)) == 9 and t.min() >= starts[0] and t.max() <= ends[0]
    # The gap is clamped to num_frames - 1 = 120, so the top of [45, 121] piles up there.
    assert min(gaps) < 60 and max(gaps) == 120
    # The number of input trajectories is uniform in 1..6.
    assert set(counts) == set(range(1, 7))
    # Each trajectory draws its own in-between frames.
    s = sample_views(np.random.default_rng(5), 121, STATIC, ViewSamplingCfg(num_input_frames=17, num_input_trajectories=3, sample_num_input_trajectories=False))
    assert len(s.input_trajectories) == 3 and not np.array_equal(s.input_frames[0], s.input_frames[1])


def test_context_window_clamps_to_num_input_frames():
    cfg = ViewSamplingCfg(num_input_frames=30, min_gap=5, max_gap=10)
    rng = np.random.default_rng(1)
    for _ in range(50):
        start, end = context_window(rng, 60, cfg)
        assert end - start == 30 and 0 <= start and end <= 59


def test_exponential_targets_lean_late():
    rng = np.random.default_rng(2)
    candidates = np.arange(100)
    uniform = np.concatenate([sample_target_frames(rng, candidates, 5, "uniform") for _ in range(2000)])
    expo = np.concatenate([sample_target_frames(rng, candidates, 5, "exponential") for _ in range(2000)])
    # Uniform: mean ~49.5. exp(3x) weights: E[x] = 1/(1 - e^-3) - 1/3 = 0.719 for one draw;
    # without replacement among 5 it is a little lower.
    assert abs(uniform.mean() - 49.5) < 2.0
    assert expo.mean() > 62.0
    assert (expo >= 50).mean() > 0.75 > (uniform >= 50).mean() + 0.2


def test_dynamic_targets_are_all_cameras_at_one_input_time():
    cfg = ViewSamplingCfg(num_input_frames=9, min_gap=10, max_gap=20, num_input_trajectories=6)
    rng = np.random.default_rng(3)
    for _ in range(100):
        s = sample_views(rng, 40, DYNAMIC, cfg, dynamic=True)
        assert set(s.input_trajectories) <= set(STATIC)  # inputs never come from flipped copies
        assert np.all(s.input_frames == s.input_frames[0])  # one set of input frames
        assert s.target_trajectories == DYNAMIC and s.target_frames.shape == (12, 1)
        assert len(set(s.target_frames[:, 0])) == 1 and s.target_frames[0, 0] in s.input_frames[0]


def test_dynamic_without_flipped_supervision_targets_only_the_forward_half():
    cfg = ViewSamplingCfg(num_input_frames=9, min_gap=10, max_gap=20, num_input_trajectories=6, flipped_supervision=False)
    rng = np.random.default_rng(3)
    for _ in range(20):
        s = sample_views(rng, 40, DYNAMIC, cfg, dynamic=True)
        assert s.target_trajectories == STATIC and s.target_frames.shape == (6, 1)
        assert s.target_frames[0, 0] in s.input_frames[0]


def test_short_videos_use_all_or_mirrored_frames():
    cfg = ViewSamplingCfg(num_input_frames=9, num_target_frames=4)
    s = sample_views(np.random.default_rng(0), 9, STATIC, cfg)
    assert np.array_equal(s.input_frames[0], np.arange(9))
    s = sample_views(np.random.default_rng(0), 5, STATIC, cfg)
    assert s.input_frames.shape[1] == 9 and s.input_frames.max() <= 4
    assert np.array_equal(mirror_frame_indices(9, 4, 0), [0, 1, 2, 3, 2, 1, 0, 1, 2])
    with pytest.raises(InvalidInputError, match="mirror_short_videos"):
        sample_views(np.random.default_rng(0), 5, STATIC, ViewSamplingCfg(num_input_frames=9, mirror_short_videos=False))


def test_deterministic_given_the_generator_seed():
    cfg = ViewSamplingCfg(num_input_frames=5, num_target_frames=3, min_gap=6, max_gap=12, num_input_trajectories=4)
    a = sample_views(np.random.default_rng([7, 0, 3]), 30, STATIC, cfg)
    b = sample_views(np.random.default_rng([7, 0, 3]), 30, STATIC, cfg)
    c = sample_views(np.random.default_rng([7, 0, 4]), 30, STATIC, cfg)
    assert a.input_trajectories == b.input_trajectories and np.array_equal(a.input_frames, b.input_frames)
    assert np.array_equal(a.target_frames, b.target_frames)
    assert not (np.array_equal(a.input_frames, c.input_frames) and a.input_trajectories == c.input_trajectories)


def test_input_pool_and_config_checks():
    cfg = ViewSamplingCfg(num_input_frames=3, num_target_frames=2, min_gap=3, max_gap=5, num_input_trajectories=6, input_trajectories=("2", "4"))
    for seed in range(20):
        assert set(sample_views(np.random.default_rng(seed), 20, STATIC, cfg).input_trajectories) <= {"2", "4"}
    with pytest.raises(InvalidInputError, match="not in the scene"):
        sample_views(np.random.default_rng(0), 20, STATIC, ViewSamplingCfg(input_trajectories=("9",)))
    with pytest.raises(InvalidInputError):
        ViewSamplingCfg(min_gap=10, max_gap=5)
    with pytest.raises(InvalidInputError):
        ViewSamplingCfg(target_sampling="linear")
