"""The time-sampled (4D) USD: Gaussians per time, kinematic colliders per time, read back."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from pxr import Usd, UsdGeom

from lyra_sim.errors import InvalidInputError
from lyra_sim.export import CollisionProxy, MovingCollider
from lyra_sim.export.usd_dynamic import read_time_sampled_gaussians, write_time_sampled_gaussians
from lyra_sim.export.usd_kinematic import kinematic_bodies, stage_at_time


def _box(centre) -> CollisionProxy:
    v = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], np.float64) * 0.5 + np.asarray(centre)
    f = np.array([[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4],
                  [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]], np.int64)
    return CollisionProxy(v, f)


def test_time_samples_and_kinematic_bodies_round_trip(room_scene, tmp_path):
    scenes, times = [room_scene[:50], room_scene[50:80]], [0.0, 1.0]
    colliders = [MovingCollider(t, _box((i, 0, 0))) for i, t in enumerate(times)]
    path = write_time_sampled_gaussians(scenes, times, SimpleNamespace(sim_from_scene=torch.eye(4, dtype=torch.float64)),
                                        tmp_path / "scene_dynamic.usdc", static_world="", num_frames=9,
                                        moving_colliders=colliders)
    back = read_time_sampled_gaussians(path)
    assert [t for t, _ in back] == times
    for (_, got), want in zip(back, scenes):
        assert len(got) == len(want)
        torch.testing.assert_close(got.means, want.means.float())
        torch.testing.assert_close(got.opacities, want.opacities.float().clamp(0, 1))
    stage = Usd.Stage.Open(str(path))
    assert (stage.GetStartTimeCode(), stage.GetEndTimeCode()) == (0.0, 8.0)
    bodies = kinematic_bodies(stage)
    assert [t for t, _ in bodies] == times
    at_one = Usd.Stage.Open(str(stage_at_time(path, 1.0, tmp_path / "at_1.usda")))
    z = [UsdGeom.Xformable(at_one.GetPrimAtPath(b)).GetOrderedXformOps()[0].Get()[2] for _, b in bodies]
    assert z == [-1000.0, 0.0]  # the t=0 body is parked, the t=1 body in place


def test_times_must_increase(room_scene, tmp_path):
    with pytest.raises(InvalidInputError, match="increase"):
        write_time_sampled_gaussians([room_scene, room_scene], [1.0, 0.0], SimpleNamespace(sim_from_scene=torch.eye(4)),
                                     tmp_path / "x.usdc", static_world="")
