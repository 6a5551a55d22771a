"""``lyra-sim view``: a local web viewer (viser) of a world or a splat file.

:func:`load_world` reads what is shown into numpy (:mod:`.world`); :class:`WorldViewer` serves it
(:mod:`.server`); :func:`view` does both and waits for Ctrl-C. viser is imported only when a
viewer starts, so importing this package is cheap.
"""

from __future__ import annotations

from lyra_sim.viewer.world import DEFAULT_MAX_SPLATS, Splats, ViewWorld, load_world, write_camera_paths


def view(path, host: str = "127.0.0.1", port: int = 8080, time: float | None = None,
         max_splats: int = DEFAULT_MAX_SPLATS, block: bool = True, say=None, warn=None):
    """See :func:`lyra_sim.viewer.server.view`."""
    from lyra_sim.viewer.server import view as _view

    return _view(path, host=host, port=port, time=time, max_splats=max_splats, block=block, say=say, warn=warn)


__all__ = ["DEFAULT_MAX_SPLATS", "Splats", "ViewWorld", "load_world", "view", "write_camera_paths"]
