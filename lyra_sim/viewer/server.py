"""The viser web viewer of a world: :class:`WorldViewer` draws a :class:`~lyra_sim.viewer.world.ViewWorld`
and :func:`view` is ``lyra-sim view`` from Python.

What it draws (scene-tree names in brackets; everything in the viewer frame, the sim frame of a
world: Z up, metres):

- the Gaussians of each placed scene (``/envs/<name>/splats``), DC colour only, through
  viser's Gaussian splat renderer, for the chosen time of a 4D world (GUI slider ``time``);
- the collider (``/envs/<name>/collider``): off by default, GUI checkbox ``show collider``,
  wireframe or translucent (``collider style``), blue so it never reads as a splat;
- the spawn points (``/envs/<name>/spawn/<k>``): small yellow spheres on the floor;
- the robot (``/envs/<name>/robot_<k>``): a proxy of lyra-sim's built-in humanoid made of the
  asset's own capsules and box soles (:data:`lyra_sim.sim.humanoid.LINKS`, the same sizes and
  positions, no joints), standing at the spawn point chosen in ``robot at spawn point`` (a
  composed world: where its draws put each robot; Isaac assets are drawn with the same proxy);
- the teacher's camera paths (``/envs/<name>/cameras/...``) as frustums and a line, when the
  world recorded them;
- a composed world's ``re-draw randomization`` button: a new seed, the world re-composed by
  :func:`lyra_sim.sim.compose_world`, scenes and robots moved to the new draws.

The GUI handles are kept in :attr:`WorldViewer.gui` (tests drive them as a user would).
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import math
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lyra_sim.errors import InvalidInputError
from lyra_sim.viewer.world import DEFAULT_MAX_SPLATS, Placement, ViewWorld, load_world

log = logging.getLogger(__name__)

COLLIDER_COLOR = (40, 110, 255)
SPAWN_COLOR = (255, 215, 0)
ROBOT_COLOR = (225, 225, 230)
CAMERA_COLOR = (255, 120, 0)
SPAWN_RADIUS = 0.06
"""Spawn point marker radius, metres."""
MAX_FRUSTUMS = 12
"""Frustums drawn per camera path (evenly spaced; the path's line shows every camera)."""


def check_port(host: str, port: int) -> None:
    """Refuse a port another program listens on (viser would silently move to the next one, and
    the printed URL would point at that other program).

    Raises:
        InvalidInputError: the port is taken, out of range, or ``host`` cannot be listened on.
    """
    if not 0 <= port <= 65535:
        raise InvalidInputError(f"port {port} is out of range; give 1-65535 (0: any free port)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise InvalidInputError(f"cannot listen on {host}: {err.strerror}; give --host an address of this machine "
                                "(127.0.0.1, 0.0.0.0)") from None
    for family, kind, proto, _, addr in infos:
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free to use
            try:
                s.bind(addr)
            except OSError as err:
                if err.errno == errno.EADDRINUSE:
                    raise InvalidInputError(f"port {port} on {host} is in use by another program; "
                                            f"stop it or pass a free one, e.g. --port {port + 1 if port < 65535 else 8080}") from None
                raise InvalidInputError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def _wxyz(rotation: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) of a 3x3 rotation (scale divided out)."""
    import viser.transforms as vtf

    r = np.asarray(rotation, np.float64)
    r = r / np.cbrt(np.linalg.det(r))
    return vtf.SO3.from_matrix(r).wxyz


def humanoid_proxy() -> tuple[np.ndarray, np.ndarray]:
    """(vertices [V, 3], faces [F, 3]) of lyra-sim's humanoid in its standing pose: each link's
    collision capsule or box sole where ``lyra_sim/assets/humanoid.usda`` puts it (asset frame:
    Z up, metres, origin on the floor between the feet). A proxy: drawn without joints."""
    import trimesh

    from lyra_sim.sim.humanoid import LINKS

    parts = []
    for link in LINKS:
        if link.box is not None:
            part = trimesh.creation.box(extents=link.box)
        else:
            part = trimesh.creation.capsule(height=link.height, radius=link.radius, count=[12, 12])
            if link.axis == "X":
                part.apply_transform(trimesh.transformations.rotation_matrix(math.pi / 2, [0, 1, 0]))
            elif link.axis == "Y":
                part.apply_transform(trimesh.transformations.rotation_matrix(math.pi / 2, [1, 0, 0]))
        part.apply_translation(link.center)
        parts.append(part)
    mesh = trimesh.util.concatenate(parts)
    return np.asarray(mesh.vertices, np.float32), np.asarray(mesh.faces, np.int32)


class WorldViewer:
    """A running viser server showing ``world`` (see the module docstring).

    Args:
        world: what to show (:func:`lyra_sim.viewer.world.load_world`).
        host, port: where to listen; port 0 picks a free one (see :attr:`port`).
        time: the instant of a 4D world shown first (the nearest decoded time; None: the first).

    Raises:
        InvalidInputError: the port is in use or the host cannot be listened on.
    """

    def __init__(self, world: ViewWorld, host: str = "127.0.0.1", port: int = 8080, time: float | None = None):
        check_port(host, port)
        import viser

        self.world = world
        self.host = host
        with contextlib.redirect_stdout(io.StringIO()):  # viser's banner; view() prints the URL itself
            self.server = viser.ViserServer(host=host, port=port, verbose=False)
        self.port = self.server.get_port()
        if port and self.port != port:  # taken between our check and viser's bind
            self.server.stop()
            raise InvalidInputError(f"port {port} on {host} is in use by another program; pass a free one with --port")
        self._lock = threading.RLock()
        self._time_index = self._nearest_time(time)
        self._placements = list(world.placements)
        self._splat_handles: list = []
        self._collider_handles: list = []
        self._robot_handles: list = []
        self._robot_mesh = humanoid_proxy()
        self.seed = world.seed
        self.gui: dict = {}
        self.scene = self.server.scene
        self.scene.set_up_direction(world.up)
        self._build_gui()
        self._draw_all()
        self._set_initial_camera()

    # ------------------------------------------------------------------ public
    @property
    def url(self) -> str:
        """Where a browser on this machine opens the viewer."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"http://{host if ':' not in host else '[' + host + ']'}:{self.port}"

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        self.server.stop()

    def wait(self) -> None:
        """Block until Ctrl-C (KeyboardInterrupt, re-raised), then stop the server (:meth:`stop_within`)."""
        try:
            while True:
                time.sleep(0.5)
        finally:
            self.stop_within(5.0)

    def stop_within(self, seconds: float) -> bool:
        """Stop the server from a helper thread, waiting at most ``seconds``; whether it stopped.

        viser's stop joins its server threads, which can hang on a lingering connection; a
        viewer stopped by Ctrl-C must still end (the CLI then exits without waiting for them)."""
        stopper = threading.Thread(target=self.stop, daemon=True)
        stopper.start()
        stopper.join(seconds)
        return not stopper.is_alive()

    # ------------------------------------------------------------------ GUI
    def _nearest_time(self, t: float | None) -> int:
        times = self.world.times
        if not times or t is None:
            return 0
        return int(np.argmin([abs(x - t) for x in times]))

    def _build_gui(self) -> None:
        gui, w = self.server.gui, self.world
        summary = [f"**{w.kind} world**: `{w.source.name}`"] if w.kind != "splat" else [f"**splat file**: `{w.source.name}`"]
        summary += [f"- {n}" for n in w.notes]
        gui.add_markdown("\n".join(summary))
        self.gui["splats"] = gui.add_checkbox("show Gaussians", initial_value=True)
        self.gui["splats"].on_update(lambda _: self._set_visible(self._splat_handles, self.gui["splats"].value))
        has_collider = any(s.collider is not None for s in w.scenes)
        if has_collider:
            self.gui["collider"] = gui.add_checkbox("show collider", initial_value=False)
            self.gui["collider_style"] = gui.add_dropdown("collider style", ("wireframe", "translucent"), initial_value="wireframe")
            self.gui["collider"].on_update(lambda _: self._set_visible(self._collider_handles, self.gui["collider"].value))
            self.gui["collider_style"].on_update(lambda _: self._draw_colliders())
        if any(len(s.spawn_points) for s in w.scenes):
            self.gui["spawn"] = gui.add_checkbox("show spawn points", initial_value=True)
            self.gui["spawn"].on_update(lambda _: self._draw_spawn_points())
        if w.kind != "composed" and len(w.scenes[0].spawn_points):
            options = ("none",) + tuple(str(i) for i in range(len(w.scenes[0].spawn_points)))
            self.gui["robot_spawn"] = gui.add_dropdown("robot at spawn point", options, initial_value="0")
            self.gui["robot_spawn"].on_update(lambda _: self._draw_robots())
        if any(s.camera_paths for s in w.scenes):
            self.gui["cameras"] = gui.add_checkbox("show camera paths", initial_value=True)
            self.gui["cameras"].on_update(lambda _: self._draw_cameras())
        if len(w.times) > 1:
            self.gui["time"] = gui.add_slider("time", 0, len(w.times) - 1, 1, self._time_index,
                                              marks=tuple((i, f"{t:g}") for i, t in enumerate(w.times)),
                                              hint="the decoded instants of this 4D world")
            self.gui["time"].on_update(lambda _: self._set_time(int(self.gui["time"].value)))
        if w.redraw is not None:
            self.gui["seed"] = gui.add_number("seed", int(w.seed or 0), step=1)
            self.gui["redraw"] = gui.add_button("re-draw randomization", hint="a new seed, re-composed as `lyra-sim world` does")
            self.gui["redraw"].on_click(lambda _: self.redraw())

    def redraw(self, seed: int | None = None) -> None:
        """Re-compose a composed world with ``seed`` (None: the next one) and redraw it."""
        if self.world.redraw is None:
            raise InvalidInputError("only a composed world (lyra-sim world) can be re-drawn")
        with self._lock:
            seed = int(self.seed or 0) + 1 if seed is None else int(seed)
            self._placements = self.world.redraw(seed)
            self.seed = seed
            if "seed" in self.gui:
                self.gui["seed"].value = seed
            self._draw_all()

    def _set_time(self, index: int) -> None:
        with self._lock:
            if index != self._time_index:
                self._time_index = index
                self._draw_splats()

    # ------------------------------------------------------------------ drawing
    @staticmethod
    def _set_visible(handles: list, visible: bool) -> None:
        for h in handles:
            h.visible = visible

    def _pose(self, p: Placement) -> dict:
        return {"wxyz": _wxyz(p.matrix[:3, :3]), "position": p.matrix[:3, 3]}

    def _draw_all(self) -> None:
        with self._lock:
            self.scene.remove_by_name("/envs")
            self._splat_handles, self._collider_handles, self._robot_handles = [], [], []
            self._draw_splats()
            self._draw_colliders()
            self._draw_spawn_points()
            self._draw_robots()
            self._draw_cameras()

    def _draw_splats(self) -> None:
        for h in self._splat_handles:
            h.remove()
        self._splat_handles = []
        visible = self.gui["splats"].value
        for p in self._placements:
            splats = self.world.scenes[p.scene].load_splats(self._time_index)
            if splats is None or not len(splats):
                continue
            s = splats.with_gain(p.gain)
            self._splat_handles.append(self.scene.add_gaussian_splats(
                f"/envs/{p.name}/splats", s.centers, s.covariances, s.rgbs, s.opacities, visible=visible, **self._pose(p)))

    def _draw_colliders(self) -> None:
        for h in self._collider_handles:
            h.remove()
        self._collider_handles = []
        if "collider" not in self.gui:
            return
        wire = self.gui["collider_style"].value == "wireframe"
        for p in self._placements:
            col = self.world.scenes[p.scene].collider
            if col is None:
                continue
            self._collider_handles.append(self.scene.add_mesh_simple(
                f"/envs/{p.name}/collider", col[0].astype(np.float32), col[1].astype(np.int32), color=COLLIDER_COLOR,
                wireframe=wire, opacity=None if wire else 0.45, side="double", cast_shadow=False, receive_shadow=False,
                visible=self.gui["collider"].value, **self._pose(p)))

    def _draw_spawn_points(self) -> None:
        self.scene.remove_by_name("/envs/spawn")
        show = "spawn" in self.gui and self.gui["spawn"].value
        for p in self._placements:
            self.scene.remove_by_name(f"/envs/{p.name}/spawn")
            if not show:
                continue
            m = p.matrix
            for k, x in enumerate(self.world.scenes[p.scene].spawn_points):
                self.scene.add_icosphere(f"/envs/{p.name}/spawn/{k}", radius=SPAWN_RADIUS, color=SPAWN_COLOR, subdivisions=2,
                                         position=m[:3, :3] @ x + m[:3, 3], cast_shadow=False)

    def _robot_matrices(self, p: Placement) -> list[np.ndarray]:
        if self.world.kind == "composed":
            return p.robots
        choice = self.gui["robot_spawn"].value if "robot_spawn" in self.gui else "none"
        if choice == "none":
            return []
        spawn = self.world.scenes[p.scene].spawn_points[int(choice)]
        m = np.eye(4)
        m[:3, 3] = spawn
        return [p.matrix @ m]

    def _draw_robots(self) -> None:
        for h in self._robot_handles:
            h.remove()
        self._robot_handles = []
        v, f = self._robot_mesh
        for p in self._placements:
            for k, m in enumerate(self._robot_matrices(p)):
                self._robot_handles.append(self.scene.add_mesh_simple(
                    f"/envs/{p.name}/robot_{k}", v, f, color=ROBOT_COLOR, wxyz=_wxyz(m[:3, :3]), position=m[:3, 3]))

    def _draw_cameras(self) -> None:
        for p in self._placements:
            self.scene.remove_by_name(f"/envs/{p.name}/cameras")
            if "cameras" not in self.gui or not self.gui["cameras"].value:
                continue
            m = p.matrix
            for path in self.world.scenes[p.scene].camera_paths:
                c2w = m @ path.c2w
                c2w[:, :3, :3] /= np.cbrt(np.linalg.det(m[:3, :3]))
                self.scene.add_spline_catmull_rom(f"/envs/{p.name}/cameras/{path.name}/line", c2w[:, :3, 3],
                                                  color=CAMERA_COLOR, thickness=2.0, thickness_units="screen")
                for i in np.unique(np.linspace(0, len(c2w) - 1, min(MAX_FRUSTUMS, len(c2w))).round().astype(int)):
                    self.scene.add_camera_frustum(f"/envs/{p.name}/cameras/{path.name}/{i:04d}", fov=path.fov_y, aspect=path.aspect,
                                                  scale=0.12, color=CAMERA_COLOR, wxyz=_wxyz(c2w[i, :3, :3]),
                                                  position=c2w[i, :3, 3], cast_shadow=False)

    def _set_initial_camera(self) -> None:
        lo, hi = self.world.bounds()
        center = 0.5 * (lo + hi)
        size = float(max(np.linalg.norm(hi - lo), 1e-3))
        cam = self.server.initial_camera
        cam.look_at = center
        if self.world.up == "+z":
            cam.position = center + np.array([-0.55, -0.55, 0.45]) * size
        else:  # a capture in OpenCV axes: from behind the first camera (-z), a little above (-y)
            cam.position = center + np.array([0.0, -0.25, -0.9]) * size


def _let_ctrl_c_through() -> None:
    """Make SIGINT raise KeyboardInterrupt here even if the parent ignored or blocked it: both are
    inherited by a child process, Python installs its handler only where SIGINT is not ignored,
    and native libraries some launchers load block it (CI caught a viewer started from such a
    test process that Ctrl-C could not stop). The banner promises Ctrl-C stops the viewer."""
    if threading.current_thread() is threading.main_thread():
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        signal.signal(signal.SIGINT, signal.default_int_handler)


def view(path: str | Path, host: str = "127.0.0.1", port: int = 8080, time: float | None = None,
         max_splats: int = DEFAULT_MAX_SPLATS, block: bool = True,
         say: Callable[[str], None] | None = None, warn: Callable[[str], None] | None = None) -> WorldViewer:
    """Show a world (a folder from ``lyra-sim generate``/``export``, a world from ``lyra-sim
    world``) or a splat file in the browser; says the URL.

    Args:
        block: wait until Ctrl-C, then stop the server; False returns the running
            :class:`WorldViewer` (stop it with ``.stop()``; its URL is ``.url``).
        say: called with the URL line once the server listens. Defaults to None: a WARNING
            record on the ``lyra_sim.viewer.server`` logger, which Python shows on stderr even
            where logging is not configured (a blocking call must say where to look).
        warn: called with each note about the world and with "stopped". Defaults to None: INFO
            records on the same logger.

    Raises:
        InvalidInputError: unreadable path, not a world or splat file, port in use.

    Example:
        >>> v = view("out/room", port=0, block=False)  # doctest: +SKIP
        >>> v.url, v.stop()  # doctest: +SKIP
    """
    world = load_world(path, max_splats=max_splats)
    viewer = WorldViewer(world, host=host, port=port, time=time)
    if block:
        _let_ctrl_c_through()
    say = say or log.warning
    warn = warn or log.info
    try:  # from the moment the URL is out, Ctrl-C is the normal way to stop
        say(f"lyra-sim view: {viewer.url}  ({world.kind} world {world.source}; Ctrl-C to stop)")
        for note in world.notes:
            warn(f"lyra-sim view: note: {note}")
        if block:
            viewer.wait()
    except KeyboardInterrupt:
        viewer.stop_within(5.0)
        warn("lyra-sim view: stopped")
    return viewer
