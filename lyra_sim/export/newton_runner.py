"""Step a USD world in Newton (NVIDIA's Warp-based physics, Isaac Lab 3's engine) and record its bodies.

The second engine of ``lyra-sim check --engine newton|all``, beside PhysX
(:mod:`lyra_sim.export.physx_runner`), with the same interface: a USD file in, every body's
sampled position and velocity out. ``ModelBuilder.add_usd`` reads the file: the world's
``/World/Collider`` becomes a static triangle-mesh shape, the Gaussians (visual only) are
skipped, robots come in as articulations with their UsdPhysics PD drives. Newton steps it with
XPBD and its own collision pipeline (:class:`~lyra_sim.export.config.NewtonCfg`); MuJoCo's
contacts treat a triangle mesh as its convex hull, which throws a robot out of a room.

Prims named in ``worlds`` (a robot, a dropped body) each get a Newton world of their own, so they
collide with the static world but never with each other, whatever the spacing of spawn points.

Warp compiles its CPU kernels to C++ on first use (about 45 s on a quiet 2-core machine, 2 min on a
busy one; 10-15 MB under ``$WARP_CACHE_PATH``, default ``~/.cache/warp``) and reuses them after.
``newton`` is optional: without it :func:`require_newton` raises
:class:`~lyra_sim.errors.ExportError` saying how to install it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lyra_sim.errors import ExportError
from lyra_sim.export.config import NewtonCfg
from lyra_sim.export.physx_runner import BodyTrajectory

INSTALL = 'pip install "newton==1.8.*" newton-usd-schemas (or pip install -e ".[newton]")'


def require_newton():
    """The ``(newton, warp)`` modules, Warp's banner silenced; an :class:`ExportError` saying how
    to install them when they are missing."""
    try:
        import warp
        import newton
    except ImportError as err:
        raise ExportError(f"Newton is not installed ({err}); the Newton check needs it. Install: {INSTALL}") from None
    # Warp logs every kernel module it loads at INFO: dozens of lines per check.
    warp.config.log_level = max(warp.config.log_level, warp.LOG_WARNING)
    return newton, warp


def build_model(path: Path, worlds: tuple[str, ...] | list[str] = (), cfg: NewtonCfg | None = None):
    """A finalized Newton model of the USD file ``path``: everything outside ``worlds`` in the
    global world (static colliders), each prim of ``worlds`` (with its children) in a world of
    its own. Body labels are their prim paths."""
    newton, _ = require_newton()
    cfg = cfg or NewtonCfg()
    builder = newton.ModelBuilder()
    # Self-collision off, as PhysX is told by the humanoid's physxArticulation:enabledSelfCollisions
    # (forearms touch the pelvis in the standing pose).
    builder.add_usd(str(path), ignore_paths=list(worlds), enable_self_collisions=False)
    for root in worlds:
        builder.begin_world(label=root)
        builder.add_usd(str(path), root_path=root, enable_self_collisions=False)
        builder.end_world()
    return builder.finalize(device=cfg.device)


def simulate_trajectories(path: Path, steps: int, dt: float, every: int | None = None, worlds: tuple[str, ...] | list[str] = (),
                          cfg: NewtonCfg | None = None) -> tuple[np.ndarray, dict[str, BodyTrajectory]]:
    """Step the USD file ``path`` in Newton, sampling every body's state as it goes (the
    counterpart of :func:`lyra_sim.export.physx_runner.simulate_trajectories`).

    Args:
        steps: physics steps of ``dt`` seconds.
        every: sample after every ``every`` steps (and always after the last); None samples
            only the final state.
        worlds: prim paths simulated apart from each other (see the module docstring).
        cfg: solver settings (its ``dt`` is not used: ``dt`` is).

    Returns:
        (times [T] in seconds, {prim path: :class:`BodyTrajectory`}): body-origin positions and
        centre-of-mass linear velocities, world frame.

    Raises:
        ExportError: Newton is not installed, or it cannot read the file.
    """
    newton, wp = require_newton()
    cfg = cfg or NewtonCfg()
    try:
        model = build_model(Path(path), worlds, cfg)
    except (ValueError, RuntimeError, KeyError) as err:  # Newton's USD importer reports bad content so
        raise ExportError(f"{path}: Newton cannot load it: {err}") from None
    with wp.ScopedDevice(cfg.device):
        solver = newton.solvers.SolverXPBD(model, iterations=cfg.iterations)
        state, next_state, control = model.state(), model.state(), model.control()
        newton.eval_fk(model, model.joint_q, model.joint_qd, state)
        pipeline = newton.CollisionPipeline(model)
        contacts = pipeline.contacts()
        every = steps if not every else every
        positions, velocities, times = [], [], []
        for step in range(1, steps + 1):
            pipeline.collide(state, contacts)
            state.clear_forces()
            solver.step(state, next_state, control, contacts, dt)
            state, next_state = next_state, state
            if step % every == 0 or step == steps:
                positions.append(state.body_q.numpy()[:, :3].astype(np.float64))
                velocities.append(state.body_qd.numpy()[:, :3].astype(np.float64))
                times.append(step * dt)
    labels = list(model.body_label)
    if not positions:
        return np.zeros(0), {}
    pos, vel = np.stack(positions, axis=1), np.stack(velocities, axis=1)  # [B, T, 3]
    return np.asarray(times), {name: BodyTrajectory(pos[i], vel[i]) for i, name in enumerate(labels)}


def simulate(path: Path, steps: int, dt: float, worlds: tuple[str, ...] | list[str] = (),
             cfg: NewtonCfg | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Step ``path`` in Newton and return {body path: (position, linear velocity)} after the last step."""
    _, bodies = simulate_trajectories(path, steps, dt, worlds=worlds, cfg=cfg)
    return {name: (traj.position[-1], traj.linear_velocity[-1]) for name, traj in bodies.items()}
