"""Scene listing and the held-out split that training and evaluation share."""

import pytest

from lyra_sim.data.scene_list import list_scenes, split_holdout
from lyra_sim.errors import DatasetError, InvalidInputError


def test_split_holdout_keeps_at_least_one_training_scene():
    scenes = list("abcde")
    assert split_holdout(scenes, 0) == (list("abcde"), [])
    assert split_holdout(scenes, 2) == (list("abc"), list("de"))
    for bad in (-1, 5, 6):
        with pytest.raises(InvalidInputError, match="leaves no training scene"):
            split_holdout(scenes, bad)


def test_list_scenes_refuses_a_root_without_scenes(tmp_path):
    with pytest.raises(DatasetError, match="holds no scene"):
        list_scenes([tmp_path])
    with pytest.raises(DatasetError, match="does not exist"):
        list_scenes([tmp_path / "missing"])
