"""Per-environment draws: determinism, independence of environments, coverage, replay through JSON."""

import numpy as np
import pytest

from lyra_sim.errors import InvalidInputError
from lyra_sim.sim.randomize import GaussianColorCfg, RandomizationCfg, WorldDraws, draw_world

POOL = [[0.5, 0.6, 0.4, 0.9], [0.8, 0.3, 0.7]]  # spawn clearances of two scenes


def test_same_seed_same_draws_other_seed_other_draws():
    a = draw_world(16, POOL, 2, RandomizationCfg(seed=7))
    assert a == draw_world(16, POOL, 2, RandomizationCfg(seed=7))
    b = draw_world(16, POOL, 2, RandomizationCfg(seed=8))
    assert [e.scene_yaw for e in a.envs] != [e.scene_yaw for e in b.envs]


def test_an_environment_depends_only_on_seed_and_index():
    few = draw_world(3, POOL, 1, RandomizationCfg(seed=1))
    many = draw_world(40, POOL, 1, RandomizationCfg(seed=1))
    assert many.envs[:3] == few.envs


def test_draws_cover_their_ranges_and_respect_constraints():
    cfg = RandomizationCfg(seed=0)
    cfg.scene.choice = "random"
    draws = draw_world(400, POOL, 2, cfg).envs
    assert {e.scene for e in draws} == {0, 1}
    yaws = np.array([e.scene_yaw for e in draws])
    assert yaws.min() < -150 and yaws.max() > 150
    assert all(abs(v) <= cfg.scene.offset_range for e in draws for v in e.scene_offset)
    for e in draws:
        spawns = [r.spawn for r in e.robots]
        assert len(set(spawns)) == 2 and all(0 <= s < len(POOL[e.scene]) for s in spawns)  # distinct points
        for r in e.robots:
            assert np.hypot(*r.offset) <= min(cfg.robot.position_jitter, 0.5 * POOL[e.scene][r.spawn]) + 1e-12
        assert e.dynamic_friction <= e.static_friction
        assert cfg.material.static_friction_range[0] <= e.static_friction <= cfg.material.static_friction_range[1]
        assert cfg.lighting.color_temperature_range[0] <= e.light_color_temperature <= cfg.lighting.color_temperature_range[1]
        assert e.gaussian_gain == (1.0, 1.0, 1.0)  # colour jitter is off by default
    every_spawn = {(e.scene, r.spawn) for e in draws for r in e.robots}
    assert len(every_spawn) == sum(len(p) for p in POOL)


def test_cycle_uses_every_scene_and_spawn_point_in_order():
    cfg = RandomizationCfg()
    cfg.robot.spawn_choice = "cycle"
    draws = draw_world(8, [[1.0] * 4], 1, cfg).envs
    assert [e.robots[0].spawn for e in draws] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert [e.scene for e in draw_world(5, POOL, 1).envs] == [0, 1, 0, 1, 0]


def test_colour_jitter_draws_gains_in_range():
    cfg = RandomizationCfg(gaussian_color=GaussianColorCfg(enabled=True, gain_range=(0.8, 1.2)))
    gains = np.array([e.gaussian_gain for e in draw_world(50, POOL, 0, cfg).envs])
    assert gains.min() >= 0.8 and gains.max() <= 1.2 and gains.std() > 0.05


def test_draws_round_trip_through_json():
    draws = draw_world(5, POOL, 2, RandomizationCfg(seed=3))
    assert WorldDraws.from_json(draws.to_json()) == draws
    with pytest.raises(InvalidInputError, match="not a lyra-sim draws record"):
        WorldDraws.from_json('{"seed": 1}')


def test_bad_requests_are_clear_errors():
    with pytest.raises(InvalidInputError, match="spawn point"):
        draw_world(2, [[1.0]], 2)
    with pytest.raises(InvalidInputError, match="num_envs"):
        draw_world(0, POOL, 1)
    cfg = RandomizationCfg()
    cfg.material.restitution_range = (0.5, 0.1)
    with pytest.raises(InvalidInputError, match="upper bound below"):
        draw_world(1, POOL, 1, cfg)
