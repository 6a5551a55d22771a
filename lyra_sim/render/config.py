"""``lyra-sim render``'s configuration (:class:`RenderCfg`), apart from the renderer so a bad
setting is refused before torch loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from lyra_sim.errors import InvalidInputError


@dataclass
class RenderCfg:
    """What ``lyra-sim render`` renders and how (``--config FILE`` and ``key=value`` overrides;
    each flag of the command sets the field of the same name). ``--overwrite`` and ``--quiet``
    stay flags: they say how to run, not what to make."""

    scene: str | None = None
    """3DGS file to render: PLY (any SH degree), SuperSplat compressed PLY, ``.splat`` or ``.spz``;
    the command's positional SCENE when given. Required (from the command line or the config).
    Defaults to None."""
    out: str | None = None
    """Output directory (``--out``). Required (from the command line or the config). Defaults to None."""
    trajectory: str = "orbit"
    """Camera path: one of :data:`lyra_sim.render.flythrough.PREVIEW_TRAJECTORIES` ("orbit": a full circle around
    the content that keeps all of it in view; "auto": Lyra's spiral when the scene faces the first camera, else the
    orbit) or a path to a trajectory ``.npz`` (then size and field of view come from the file). Defaults to "orbit"."""
    frames: int = 60
    """Number of frames. Defaults to 60."""
    width: int = 512
    """Image width in pixels. Defaults to 512."""
    height: int = 384
    """Image height in pixels. Defaults to 384."""
    fov: float = 60.0
    """Vertical field of view in degrees. Defaults to 60."""
    movement: float = 1.0
    """Scale of Lyra trajectory motion (unitless factor). Defaults to 1."""
    up: tuple[float, float, float] = (0.0, -1.0, 0.0)
    """World up for orbits (x, y, z); (0, -1, 0) is the OpenCV camera frame, (0, 0, 1) a Z-up
    world. Defaults to (0, -1, 0)."""
    fps: int = 24
    """Video frame rate in frames per second. Defaults to 24."""
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """Background colour (r, g, b) in [0, 1]; the ``--background`` flag also takes white, black
    or gray. Defaults to (1, 1, 1) (white)."""
    device: str = "auto"
    """"auto" (cuda if available), "cpu" or "cuda". Defaults to "auto"."""
    write_frames: bool = True
    """Write the PNG frames as well as the MP4 and the contact sheet (``--no-frames``: false).
    Defaults to True."""


    def check(self) -> RenderCfg:
        """Raise InvalidInputError (one line, what to do) for settings that cannot render."""
        for name in ("frames", "width", "height", "fps"):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"render {name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.fov < 180:
            raise InvalidInputError(f"render fov must be in (0, 180) degrees, got {self.fov}")
        if not self.movement > 0:
            raise InvalidInputError(f"render movement must be > 0, got {self.movement}")
        if self.device not in ("auto", "cpu", "cuda") and not str(self.device).startswith("cuda:"):
            raise InvalidInputError(f"render device must be auto, cpu or cuda, got {self.device!r}")
        return self

def load_render_cfg(path: str | Path | None = None, overrides: Sequence[str] = ()) -> RenderCfg:
    """:class:`RenderCfg` from defaults, then a YAML file (``lyra-sim render --config FILE``),
    then ``key=value`` overrides."""
    from lyra_sim.config import load_structured

    return load_structured(RenderCfg, path, list(overrides), what="render config").check()
