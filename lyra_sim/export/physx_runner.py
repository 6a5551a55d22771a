"""Step a USD world in real PhysX on CPU (``ovphysx``) and record its bodies.

``ovphysx`` (with ``ovstage``, ``warp-lang`` and ``physx-usd-schemas``) is a test/optional
dependency; without it :func:`simulate_trajectories` raises
:class:`~lyra_sim.errors.ExportError` saying how to install it. The drop tests of
``lyra-sim check`` (:mod:`lyra_sim.export.drop_test`) and the robot runs of
:mod:`lyra_sim.sim.physics` both step their worlds here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lyra_sim.errors import ExportError
from lyra_sim.export.usd_prims import gaussian_prims

_SCHEMAS_REGISTERED = False


def physics_stage(world: Path, out: Path) -> None:
    """Copy the world file ``world`` to ``out`` flattened and without its Gaussians (PhysX
    ignores them; they would only cost time)."""
    from pxr import Usd

    stage = Usd.Stage.Open(str(world))
    for prim in gaussian_prims(stage):
        prim.SetActive(False)
    stage.Flatten().Export(str(out))


def require_ovphysx():
    """The ``(ovphysx, ovstage, physx_schema_paths)`` modules; an :class:`ExportError` saying how to
    install them when they are missing."""
    try:
        import ovphysx
        import ovstage
        from ovphysx.samples.python_samples.schema_support import physx_schema_paths
    except ImportError as err:
        raise ExportError(
            f"PhysX on CPU (ovphysx) is not installed ({err}); the drop test needs it. "
            "Install: pip install --no-deps ovphysx ovstage warp-lang physx-usd-schemas"
        ) from None
    except FileNotFoundError as err:
        raise ExportError(f"ovphysx is installed but its PhysX schemas are not: {err}; pip install physx-usd-schemas") from None
    return ovphysx, ovstage, physx_schema_paths


@dataclass
class BodyTrajectory:
    """Recorded states of one simulated body (a rigid body or an articulation link).

    Attributes:
        position: [T, 3] world position, metres, one row per sample of :func:`simulate_trajectories`.
        linear_velocity: [T, 3] centre-of-mass velocity, m/s.
    """

    position: np.ndarray
    linear_velocity: np.ndarray


def simulate_trajectories(path: Path, steps: int, dt: float, every: int | None = None) -> tuple[np.ndarray, dict[str, BodyTrajectory]]:
    """Step the USD file ``path`` in PhysX (CPU), sampling every body's state as it goes.

    Rigid bodies and articulation links are both recorded (a robot's links are articulation
    links, not standalone rigid bodies).

    Args:
        steps: physics steps of ``dt`` seconds.
        every: sample after every ``every`` steps (and always after the last); None samples
            only the final state.

    Returns:
        (times [T] in seconds, {prim path: :class:`BodyTrajectory`}).

    Raises:
        ExportError: ovphysx or the PhysX schemas are not installed.
    """
    global _SCHEMAS_REGISTERED
    ovphysx, ovstage, physx_schema_paths = require_ovphysx()
    from ovphysx.types import ObjectScope, SimObjectType

    try:  # ovphysx hands results over as Warp arrays; keep Warp's banner out of our output
        import warp

        warp.config.quiet = True
    except ImportError:  # pragma: no cover - warp-lang is an ovphysx dependency
        pass
    if not _SCHEMAS_REGISTERED:
        ovstage.population.register_usd_schemas([str(p) for p in physx_schema_paths()])
        _SCHEMAS_REGISTERED = True
    ovphysx.PhysX.set_cpu_mode(True)
    physx = ovphysx.PhysX()
    stage = ovstage.Stage("lyra-sim-check")
    samples: list[dict[str, dict[str, np.ndarray]]] = []
    times: list[float] = []
    every = steps if not every else every

    def read_state(names) -> dict[str, dict[str, np.ndarray]]:
        columns: dict[str, dict[str, np.ndarray]] = {}
        for kind in (SimObjectType.RIGID_BODY, SimObjectType.ARTICULATION_LINK):
            for attr in ("position", "linearVelocity"):
                with physx.read_sync(kind, [attr], scope=ObjectScope.ALL) as read:
                    for group in read.groups:
                        if group.is_delete or group.is_array or not group.tensors:
                            continue
                        values = np.array(group.tensors[0].numpy(), dtype=np.float64, copy=True).reshape(group.prim_count, -1)
                        for row, name in enumerate(names.get_path_strings(group.prim_list)):
                            columns.setdefault(name, {})[attr] = values[row]
                    read = group = None  # drop every view before the next read or destroy()
        return columns

    try:
        ovstage.population.open_usd(stage, str(path), ordinal=1, domains=ovstage.PopulationDomain.ALL)
        stage.advance_write_floor(ordinal=1).wait()
        with warnings.catch_warnings():
            # With Newton installed (its newton-usd-schemas plugin), ovphysx warns that newton:*
            # attributes may be dropped; our worlds author none.
            warnings.filterwarnings("ignore", message="attach_ovstage: the Newton USD schema", category=RuntimeWarning)
            physx.wait_task(physx.attach_ovstage(stage, read_ordinal=1))
        with warnings.catch_warnings(), ovstage.PathDictionary(stage) as names:
            # "ovphysx is in CPU-only mode, but the installed Warp was built with CUDA": harmless here.
            warnings.simplefilter("ignore", RuntimeWarning)
            for step in range(1, steps + 1):
                physx.step_sync(dt)
                if step % every == 0 or step == steps:
                    samples.append(read_state(names))
                    times.append(step * dt)
    finally:
        if physx.is_stage_attached(stage):
            physx.wait_task(physx.detach_ovstage())
        stage.destroy()
        physx.destroy()
    bodies = set.intersection(*(set(k for k, v in s.items() if len(v) == 2) for s in samples)) if samples else set()
    result = {name: BodyTrajectory(np.stack([s[name]["position"] for s in samples]),
                                   np.stack([s[name]["linearVelocity"] for s in samples])) for name in sorted(bodies)}
    return np.asarray(times), result


def simulate(path: Path, steps: int, dt: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Step the USD file ``path`` in PhysX (CPU) and return {body path: (position, linear velocity)}
    after the last step (rigid bodies and articulation links)."""
    _, bodies = simulate_trajectories(path, steps, dt)
    return {name: (traj.position[-1], traj.linear_velocity[-1]) for name, traj in bodies.items()}
