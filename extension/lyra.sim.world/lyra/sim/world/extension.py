"""Kit extension: a window that wires buttons to :class:`lyra_sim.sim.open_stage.OpenStageWorld`.

No simulation or USD logic lives here: every button calls one method of ``OpenStageWorld`` (or
runs ``lyra-sim generate`` in a child process) on the stage open in Isaac Sim, and shows the
result or the error's message in the window's status line.
"""

from __future__ import annotations

import asyncio
import tempfile

import omni.ext
import omni.usd
from omni import ui
from omni.kit.menu.utils import MenuItemDescription, add_menu_items, remove_menu_items

from lyra_sim.errors import LyraSimError
from lyra_sim.sim.generate_command import generate_argv
from lyra_sim.sim.open_stage import OpenStageWorld
from lyra_sim.sim.randomize import RandomizationCfg

WINDOW_TITLE = "Lyra-Sim World"
MENU = "Window"


class LyraSimWorldExtension(omni.ext.IExt):
    """Window > Lyra-Sim World: load a generated scene, drop a humanoid, toggle colliders, re-randomize."""

    def on_startup(self, ext_id: str) -> None:
        self._ext_id = ext_id
        self._world: OpenStageWorld | None = None
        self._colliders_visible = False
        self._generating = None
        self._window = ui.Window(WINDOW_TITLE, width=440, height=380, visible=False)
        with self._window.frame, ui.VStack(spacing=4):
            with ui.HStack(height=22):
                ui.Label("Scene folder", width=90)
                self._folder = ui.StringField()
            ui.Button("Load scene", clicked_fn=self.load_scene)
            with ui.HStack(height=22):
                ui.Label("Prompt", width=90)
                self._prompt = ui.StringField()
            ui.Button("Generate from prompt", clicked_fn=self.generate)
            ui.Label("Generation runs `lyra-sim generate` in a separate process.", word_wrap=True)
            with ui.HStack(height=22):
                ui.Label("Robot", width=90)
                self._robot = ui.StringField()
                self._robot.model.set_value("builtin")
            with ui.HStack(height=22):
                ui.Label("Seed", width=90)
                self._seed = ui.IntField()
            ui.Button("Drop robot", clicked_fn=self.drop_robot)
            self._collider_button = ui.Button("Show colliders", clicked_fn=self.toggle_colliders)
            ui.Button("Re-randomize", clicked_fn=self.rerandomize)
            self._status = ui.Label("Pick a folder written by `lyra-sim export`.", word_wrap=True)
        self._menu = [MenuItemDescription(name=WINDOW_TITLE, onclick_fn=self.show_window)]
        add_menu_items(self._menu, MENU)

    def on_shutdown(self) -> None:
        remove_menu_items(self._menu, MENU)
        if self._generating is not None and not self._generating.done():
            self._generating.cancel()
        self._window.destroy()
        self._window = None
        self._world = None

    # ------------------------------------------------------------------------------- buttons
    def show_window(self, *_) -> None:
        self._window.visible = True

    def load_scene(self) -> None:
        folder = self._folder.model.get_value_as_string().strip()
        self._run(lambda w: f"Loaded {w.load_scene(folder)} from {folder}", new_world=True)

    def drop_robot(self) -> None:
        robot = self._robot.model.get_value_as_string().strip() or "builtin"
        self._run(lambda w: f"{robot} at {w.drop_robot(robot)}, spawn point {w.draw.robots[0].spawn}")

    def toggle_colliders(self) -> None:
        visible = not self._colliders_visible

        def toggle(w: OpenStageWorld) -> str:
            n = w.set_colliders_visible(visible)
            self._colliders_visible = visible
            self._collider_button.text = "Hide colliders" if visible else "Show colliders"
            return f"{n} collider(s) {'shown' if visible else 'hidden'}"

        self._run(toggle)

    def rerandomize(self) -> None:
        def again(w: OpenStageWorld) -> str:
            d = w.rerandomize()
            return (f"Draw {len(w.history) - 1}: scene yaw {d.scene_yaw:.0f} deg, friction {d.static_friction:.2f}"
                    + (f", spawn point {d.robots[0].spawn}" if d.robots else ""))

        self._run(again)

    def generate(self) -> None:
        prompt = self._prompt.model.get_value_as_string()
        out = self._folder.model.get_value_as_string().strip() or tempfile.mkdtemp(prefix="lyra-sim-")
        try:
            argv = generate_argv(prompt, out)
        except LyraSimError as err:
            self._status.text = str(err)
            return
        self._status.text = f"Generating into {out} ..."
        self._generating = asyncio.ensure_future(self.run_generate(argv, out))

    async def run_generate(self, argv: list[str], out: str) -> None:
        """Run ``argv`` (a ``lyra-sim generate`` command) without blocking Kit, then load ``out``."""
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        log, _ = await proc.communicate()
        if proc.returncode != 0:
            lines = log.decode(errors="replace").strip().splitlines()
            self._status.text = f"lyra-sim generate failed ({proc.returncode}): {lines[-1] if lines else 'no output'}"
            return
        self._folder.model.set_value(out)
        self.load_scene()

    # ------------------------------------------------------------------------------- plumbing
    def _run(self, action, new_world: bool = False) -> None:
        stage = omni.usd.get_context().get_stage()
        try:
            if new_world or self._world is None or self._world.stage is not stage:
                seed = self._seed.model.get_value_as_int()
                world = OpenStageWorld(stage, RandomizationCfg(seed=seed))
                if not new_world and self._world is not None and self._world.scene is not None:
                    world.load_scene(self._world.scene.directory)  # the user opened another stage
                self._world = world
            self._status.text = action(self._world)
        except LyraSimError as err:
            self._status.text = str(err)
