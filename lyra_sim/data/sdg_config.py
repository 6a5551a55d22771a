"""``lyra-sim sdg``'s configuration (:class:`SdgCfg`), apart from the writer so a bad setting is
refused before torch loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


@dataclass
class SdgCfg:
    """What ``lyra-sim sdg`` makes (``--config FILE`` and ``key=value`` overrides; each flag of the
    command sets the field of the same name, ``--no-shadows`` sets ``shadows: false``)."""

    teacher: str = "procedural"
    """Teacher that renders the scenes; "procedural" (the embedded one) is the only one so far.
    Defaults to "procedural"."""
    prompts: str | None = None
    """Text file, one prompt per line (see ``configs/prompts/``); scene i uses prompt
    i mod (number of prompts). Required (from the command line or the config). Defaults to None."""
    num_scenes: int | None = None
    """Scenes in the whole run (all shards together). Required (from the command line or the
    config). Defaults to None."""
    out: str | None = None
    """Dataset root; scene i goes to ``out/<i:06d>/``. Required (from the command line or the
    config). Defaults to None."""
    shard: str | None = None
    """"k/N": make only the scenes with index mod N == k (:class:`~lyra_sim.io.shards.Shard`);
    None makes all. Defaults to None."""
    seed: int = 0
    """Base seed; scene i uses seed + i. Defaults to 0."""
    frames: int = 49
    """Frames per trajectory (Lyra: 121). Defaults to 49."""
    width: int = 320
    """Frame width in pixels. Defaults to 320."""
    height: int = 176
    """Frame height in pixels. Defaults to 176."""
    movement: float = 1.0
    """Trajectory movement factor (unitless scale of the camera motion). Defaults to 1."""
    dynamic: bool = False
    """Moving scenes, 12 trajectories (6 + time-flipped copies). Defaults to False."""
    trajectories: list[str] | None = None
    """Subset of Lyra's camera paths (names of ``LYRA_TRAJECTORIES``, e.g. [left, right, zoom_out];
    the flag takes them comma-separated); None uses all six. Defaults to None."""
    codec: str = "dct"
    """Latent codec: dct | dct-t1 | dct-t4 | dct-t8 ("dct" is dct-t8). Defaults to "dct"."""
    shadows: bool = True
    """Trace shadow rays (false is about 1.5x faster). Defaults to True."""

    def request_defaults(self) -> dict:
        """The :class:`~lyra_sim.teachers.base.TeacherRequest` fields shared by every scene of the
        run (``request_defaults`` of :func:`generate_dataset`)."""
        defaults = {"num_frames": self.frames, "width": self.width, "height": self.height, "dynamic": self.dynamic,
                    "movement_factor": self.movement}
        if self.trajectories:
            defaults["trajectories"] = tuple(self.trajectories)
        return defaults


def load_sdg_cfg(path: str | Path | None = None, overrides: Sequence[str] = ()) -> SdgCfg:
    """:class:`SdgCfg` from defaults, then a YAML file (``lyra-sim sdg --config FILE``), then
    ``key=value`` overrides."""
    from lyra_sim.config import load_structured

    return load_structured(SdgCfg, path, list(overrides), what="sdg config")
