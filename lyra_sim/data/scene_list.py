"""Which scenes a training run or an evaluation reads, in one order, and the held-out split.

Training (``data.roots``, ``data.holdout_scenes``) and ``lyra-sim eval`` (``--data``,
``--holdout``) both list scenes here, so "the last k scenes" are the same k scenes in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lyra_sim.data.layout import LyraScene, find_scenes
from lyra_sim.errors import DatasetError, InvalidInputError


def list_scenes(roots: Sequence[str | Path]) -> list[LyraScene]:
    """Every scene of ``roots`` (each searched as :func:`~lyra_sim.data.layout.find_scenes`
    does), sorted by (folder, key).

    Raises:
        DatasetError: a root does not exist or holds no scene.
    """
    found: list[tuple[Path, str]] = []
    for root in roots:
        hits = find_scenes(root)
        if not hits:
            raise DatasetError(root, "holds no scene (no <traj>/rgb/<key>.mp4 here or one level down); make data with `lyra-sim sdg`")
        found += hits
    return [LyraScene(r, k) for r, k in sorted(found, key=lambda rk: (str(rk[0]), rk[1]))]


def split_holdout(scenes: list[LyraScene], holdout: int) -> tuple[list[LyraScene], list[LyraScene]]:
    """(training scenes, held-out scenes): the last ``holdout`` of ``scenes`` (in
    :func:`list_scenes` order) are held out of training, for ``lyra-sim eval --holdout``.

    Raises:
        InvalidInputError: ``holdout`` is negative or leaves no training scene. (Training and
            evaluation used to check this apart; eval also accepted holding out every scene,
            which no training run can have done.)
    """
    if not 0 <= holdout < len(scenes):
        raise InvalidInputError(f"holding out the last {holdout} of {len(scenes)} scenes leaves no training scene "
                                "(data.holdout_scenes / --holdout must be in [0, number of scenes))")
    return scenes[: len(scenes) - holdout], scenes[len(scenes) - holdout :]
