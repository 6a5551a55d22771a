"""``lyra-sim check``: is a world simulation-ready? OpenUSD validators and a real PhysX drop test.

Validation (usd-core only): every registered ``UsdValidation`` validator (stage metadata,
composition, UsdPhysics collider/rigid-body checks, USDZ packaging, ...), plus the
ParticleField rules stock validators skip (equal array lengths, opacity range, unit
quaternions, SH length; NVIDIA's VG.035), plus UsdPhysics' own parse: there must be a physics
scene and at least one static mesh collider.

Drop test (needs ``ovphysx``: PhysX on CPU, a test/optional dependency): the world's physics
prims (Gaussians left out) are copied into a test stage; at each spawn point a humanoid-sized
capsule (kept upright by a huge inertia, like a balancing robot) and, in a second run, a box
are dropped from a little above their resting height; after ``seconds`` of simulation each
must be at rest at the expected height: on the collider, not through it, not stuck above it.
The expected height is the spawn point's ground plane (its normal tilts it on a slope) raised by
the highest collider surface above it under the body's footprint (sampled from the mesh
itself), so a slightly uneven floor is judged by where a body can really rest; on a slope the
box is set down turned to the ground plane.

The check says "passed" only when at least one body was dropped and every one came to rest: a
world without spawn points fails (a robot has nowhere to start), and without ovphysx the drop
test is "skipped" with the reason, never passed.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from lyra_sim.errors import ExportError
from lyra_sim.export.config import PhysicsCheckCfg
from lyra_sim.export.spawn import SpawnPoint
from lyra_sim.export.usd_gaussians import check_gaussian_prim, gaussian_prims
from lyra_sim.export.usd_physics import read_spawn_points

_SCHEMAS_REGISTERED = False


@dataclass
class ValidationIssue:
    validator: str
    severity: str
    message: str


@dataclass
class DropResult:
    """One dropped body. Heights in metres (sim frame)."""

    body: str
    spawn_index: int
    expected_z: float
    final_z: float
    speed: float
    passed: bool


DropTestStatus = Literal["passed", "failed", "skipped", "not run"]


@dataclass
class PhysicsCheckResult:
    """Everything ``lyra-sim check`` found.

    Attributes:
        validation: problems reported by the validators (errors and warnings).
        drops: one entry per dropped body (empty when the drop test did not run).
        drop_test: "passed" (at least one body dropped, all at rest at the expected height),
            "failed" (a body did not come to rest, or there is no spawn point to drop one at),
            "skipped" (PhysX is not installed, or the drop test was not asked for) or "not run".
        reason: why the drop test was skipped or could not drop anything (None otherwise).
    """

    path: str
    validation: list[ValidationIssue] = field(default_factory=list)
    drops: list[DropResult] = field(default_factory=list)
    drop_test: DropTestStatus = "not run"
    reason: str | None = None

    @property
    def errors(self) -> list[ValidationIssue]:
        return [i for i in self.validation if i.severity == "error"]

    @property
    def status(self) -> Literal["passed", "failed", "skipped"]:
        """"failed" on a validation error or a failed drop test; "passed" only when the validators
        found no error and the drop test passed; "skipped" when the drop test did not run."""
        if self.errors or self.drop_test == "failed":
            return "failed"
        return "passed" if self.drop_test == "passed" else "skipped"

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def summary(self) -> str:
        ok = sum(d.passed for d in self.drops)
        drops = f"drop test {self.drop_test}" + (f": {self.reason}" if self.reason else "")
        if self.drops:
            drops += f" ({ok}/{len(self.drops)} bodies at rest at the expected height)"
        return f"{len(self.errors)} validation errors, {len(self.validation) - len(self.errors)} warnings; {drops}"

    def to_dict(self) -> dict:
        return {"status": self.status, "reason": self.reason, "summary": self.summary(), "path": self.path,
                "validation": [asdict(i) for i in self.validation], "drop_test": self.drop_test,
                "drops": [asdict(d) for d in self.drops]}


# ------------------------------------------------------------------------------------ validation
def validate_stage(stage) -> list[ValidationIssue]:
    """Run every OpenUSD validator plus lyra-sim's ParticleField and physics checks."""
    from pxr import UsdPhysics, UsdValidation

    issues = []
    registry = UsdValidation.ValidationRegistry()
    context = UsdValidation.ValidationContext(registry.GetOrLoadAllValidators())
    for err in context.Validate(stage):
        severity = "error" if err.GetType() == UsdValidation.ValidationErrorType.Error else "warning"
        issues.append(ValidationIssue(err.GetName() or "usdValidation", severity, err.GetMessage()))
    for prim in gaussian_prims(stage):
        issues += [ValidationIssue("lyraSim:ParticleField", "error", m) for m in check_gaussian_prim(prim)]
    load = getattr(UsdPhysics, "UsdPhysicsLoadStageFromPrimRange", None) or UsdPhysics.LoadUsdPhysicsFromRange
    parsed = load(stage, ["/"])
    kinds = {str(k).rsplit(".", 1)[-1]: v for k, v in parsed.items()}
    if "Scene" not in kinds:
        issues.append(ValidationIssue("lyraSim:Physics", "error", "no UsdPhysics.Scene: nothing would simulate"))
    if "MeshShape" not in kinds:
        issues.append(ValidationIssue("lyraSim:Physics", "error", "no mesh collider: a robot would fall through the world"))
    return issues


# ------------------------------------------------------------------------------------ drop test
def physics_stage(world: Path, out: Path) -> None:
    """Copy the world without its Gaussians (PhysX ignores them; they would only cost time)."""
    from pxr import Usd

    stage = Usd.Stage.Open(str(world))
    for prim in gaussian_prims(stage):
        prim.SetActive(False)
    stage.Flatten().Export(str(out))


def _collider_samples(stage) -> np.ndarray:
    """Dense surface samples of every static mesh collider of ``stage`` (world frame), [P, 3]."""
    from pxr import Usd, UsdGeom, UsdPhysics

    from lyra_sim.export.mesh_ops import sample_surface

    out = []
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    for prim in stage.Traverse():
        if not (prim.IsA(UsdGeom.Mesh) and prim.HasAPI(UsdPhysics.CollisionAPI)) or prim.HasAPI(UsdPhysics.RigidBodyAPI):
            continue
        mesh = UsdGeom.Mesh(prim)
        pts = np.asarray(mesh.GetPointsAttr().Get(), np.float64)
        counts = np.asarray(mesh.GetFaceVertexCountsAttr().Get())
        idx = np.asarray(mesh.GetFaceVertexIndicesAttr().Get())
        if len(pts) == 0 or not (counts == 3).all():
            continue
        m = np.array(cache.GetLocalToWorldTransform(prim), np.float64).T
        pts = pts @ m[:3, :3].T + m[:3, 3]
        faces = idx.reshape(-1, 3)
        area = 0.5 * np.linalg.norm(np.cross(pts[faces[:, 1]] - pts[faces[:, 0]], pts[faces[:, 2]] - pts[faces[:, 0]]), axis=1).sum()
        out.append(sample_surface(pts, faces, int(min(2_000_000, max(10_000, area / 0.02**2))), seed=2)[0])
    return np.concatenate(out) if out else np.zeros((0, 3))


def _support_height(samples: np.ndarray, point: SpawnPoint, radius: float, window: float = 0.3) -> float:
    """Where a body of footprint ``radius`` dropped at ``point`` comes to rest: the height at the
    point's (x, y) of its ground plane (through the point, normal ``point.normal``) raised by the
    highest collider surface above that plane under the footprint, within ``window`` of it (the
    point's own height if there is none)."""
    n = np.asarray(point.normal, np.float64)
    d = samples - np.asarray(point.position, np.float64)
    above = (d @ n) / n[2]  # vertical height above the plane
    near = (np.hypot(d[:, 0], d[:, 1]) <= radius) & (np.abs(above) <= window)
    return float(point.position[2] + (above[near].max() if near.any() else 0.0))


def _add_bodies(path: Path, points: list[SpawnPoint], kind: str, cfg: PhysicsCheckCfg) -> list[tuple[str, float]]:
    """Add one dynamic body per spawn point; returns (prim path, expected resting z of its centre).

    The capsule stands upright (as a balancing robot would): on ground tilted by t its sphere
    touches the plane where the plane's normal passes through the sphere's centre, radius / cos t
    above the plane. The box is turned to lie flat on the local plane, its centre half an edge
    along the normal. Both start ``drop_height`` straight above where they should rest."""
    from pxr import Gf, Usd, UsdGeom, UsdPhysics

    stage = Usd.Stage.Open(str(path))
    samples = _collider_samples(stage)
    UsdGeom.Scope.Define(stage, "/World/DropTest")
    bodies = []
    for i, point in enumerate(points):
        x, y, _ = (float(v) for v in point.position)
        n = np.asarray(point.normal, np.float64)
        z = _support_height(samples, point, cfg.capsule_radius if kind == "capsule" else cfg.box_size / 2)
        prim_path = f"/World/DropTest/{kind}_{i:03d}"
        if kind == "capsule":
            geom = UsdGeom.Capsule.Define(stage, prim_path)
            geom.CreateRadiusAttr(cfg.capsule_radius)
            geom.CreateHeightAttr(cfg.capsule_height)
            geom.CreateAxisAttr(UsdGeom.Tokens.z)
            centre = np.array([x, y, z + cfg.capsule_radius / n[2] + cfg.capsule_height / 2])
            geom.AddTranslateOp().Set(Gf.Vec3d(*centre[:2], centre[2] + cfg.drop_height))
        else:
            geom = UsdGeom.Cube.Define(stage, prim_path)
            geom.CreateSizeAttr(cfg.box_size)
            centre = np.array([x, y, z]) + n * cfg.box_size / 2
            geom.AddTranslateOp().Set(Gf.Vec3d(*centre[:2], centre[2] + cfg.drop_height))
            geom.AddOrientOp().Set(Gf.Quatf(Gf.Rotation(Gf.Vec3d(0, 0, 1), Gf.Vec3d(*n)).GetQuat()))
        prim = geom.GetPrim()
        UsdPhysics.RigidBodyAPI.Apply(prim)
        UsdPhysics.CollisionAPI.Apply(prim)
        mass = UsdPhysics.MassAPI.Apply(prim)
        if kind == "capsule":
            mass.CreateMassAttr(70.0)
            mass.CreateDiagonalInertiaAttr(Gf.Vec3f(1e6, 1e6, 1e6))  # stays upright, like a balancing robot
        else:
            mass.CreateMassAttr(5.0)
        bodies.append((prim_path, float(centre[2])))
    stage.Save()
    return bodies


def _import_ovphysx():
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
    ovphysx, ovstage, physx_schema_paths = _import_ovphysx()
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


def drop_test(world: str | Path, points: list[SpawnPoint], cfg: PhysicsCheckCfg | None = None) -> list[DropResult]:
    """Drop a capsule and a box at each spawn point onto the world's collider (two runs)."""
    cfg = cfg or PhysicsCheckCfg()
    _import_ovphysx()
    results = []
    steps = max(1, round(cfg.seconds / cfg.dt))
    with tempfile.TemporaryDirectory(prefix="lyra-check-") as tmp:
        for kind in ("capsule", "box"):
            path = Path(tmp) / f"drop_{kind}.usda"
            physics_stage(Path(world), path)
            bodies = _add_bodies(path, points, kind, cfg)
            state = simulate(path, steps, cfg.dt)
            for i, (prim_path, rest) in enumerate(bodies):
                if prim_path not in state:
                    results.append(DropResult(kind, i, rest, float("nan"), float("nan"), False))
                    continue
                pos, vel = state[prim_path]
                speed = float(np.linalg.norm(vel))
                ok = abs(pos[2] - rest) <= cfg.height_tolerance and speed <= cfg.max_speed
                results.append(DropResult(kind, i, rest, float(pos[2]), speed, bool(ok)))
    return results


def check_world(path: str | Path, cfg: PhysicsCheckCfg | None = None, drop: bool = True) -> PhysicsCheckResult:
    """Validate the world at ``path`` and, when ovphysx is installed, run the drop test.

    Raises:
        ExportError: the file does not exist or OpenUSD cannot open it.
    """
    from pxr import Usd

    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    stage = Usd.Stage.Open(str(path))
    if stage is None:
        raise ExportError(f"{path}: OpenUSD cannot open it")
    result = PhysicsCheckResult(str(path), validate_stage(stage))
    if not drop:
        result.drop_test, result.reason = "skipped", "not asked for"
        return result
    points = read_spawn_points(stage)
    if not points:
        # Nothing to drop is not a pass: a world a robot cannot be placed in fails its purpose.
        result.drop_test, result.reason = "failed", "no spawn points"
        return result
    try:
        _import_ovphysx()
    except ExportError as err:
        result.drop_test, result.reason = "skipped", str(err)
        return result
    result.drops = drop_test(path, points, cfg)
    result.drop_test = "passed" if result.drops and all(d.passed for d in result.drops) else "failed"
    return result


# ------------------------------------------------------------------------ 4D worlds
@dataclass
class MovingDropResult:
    """A box dropped onto the top of one instant's kinematic collider. Heights in metres.

    Attributes:
        time: the instant (normalised).
        box_edge: the box's edge, fitted to the collider's top patch (metres).
        expected_z / final_z: resting height of the box centre expected / simulated.
    """

    time: float
    body: str
    box_edge: float
    expected_z: float
    final_z: float
    speed: float
    passed: bool


def _flattest_patch(vertices: np.ndarray, faces: np.ndarray, radius: float) -> tuple[np.ndarray, float, float] | None:
    """(centre xy, height, fraction of the disc covered) of the upward-facing disc of ``radius``
    with the most surface under it (where a dropped box can rest), or None if nothing faces up."""
    from scipy.spatial import cKDTree

    from lyra_sim.export.mesh_ops import sample_surface

    area = float(0.5 * np.linalg.norm(np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]],
                                               vertices[faces[:, 2]] - vertices[faces[:, 0]]), axis=1).sum())
    density = 40_000 / max(area, 1e-9)  # samples per m^2
    pts, nrm = sample_surface(vertices, faces, 40_000, seed=4)
    up = pts[nrm[:, 2] > np.cos(np.radians(15.0))]
    if len(up) == 0:
        return None
    tree = cKDTree(up[:, :2])
    cand = up[:: max(1, len(up) // 2000)]
    best, best_count = None, -1
    for c, near in zip(cand, tree.query_ball_point(cand[:, :2], radius)):
        count = int((np.abs(up[near, 2] - c[2]) < 0.02).sum())
        if count > best_count:
            best, best_count = c, count
    return best[:2], float(best[2]), best_count / (density * np.pi * radius**2)


def moving_drop_test(dynamic_world: str | Path, cfg: PhysicsCheckCfg | None = None, box_edge: float = 0.12,
                     min_cover: float = 0.8) -> list[MovingDropResult]:
    """For each kinematic collider of a 4D world (``scene_dynamic.usdc``), drop a box onto its top
    with the world placed at that collider's time (:func:`lyra_sim.pipeline.dynamic.stage_at_time`):
    it must come to rest on the moving geometry, which proves the body is solid, in place and
    current at its time. The box (``box_edge`` metres) is dropped on the upward-facing disc of
    its size with the most surface under it; a collider with no disc at least ``min_cover``
    covered (thin legs, no flat top) is not tested.
    """
    from pxr import Gf, Usd, UsdGeom, UsdPhysics

    from lyra_sim.pipeline.dynamic import kinematic_bodies, stage_at_time

    cfg = cfg or PhysicsCheckCfg()
    _import_ovphysx()
    steps = max(1, round(cfg.seconds / cfg.dt))
    results = []
    with tempfile.TemporaryDirectory(prefix="lyra-check-4d-") as tmp:
        stage = Usd.Stage.Open(str(dynamic_world))
        for t, body in kinematic_bodies(stage):
            path = stage_at_time(dynamic_world, t, Path(tmp) / f"t_{t:.3f}.usdc")
            at = Usd.Stage.Open(str(path))
            for prim in gaussian_prims(at):
                prim.SetActive(False)
            mesh = UsdGeom.Mesh(at.GetPrimAtPath(f"{body}/collider"))
            m = np.array(UsdGeom.XformCache(Usd.TimeCode.Default()).GetLocalToWorldTransform(mesh.GetPrim()), np.float64).T
            pts = np.asarray(mesh.GetPointsAttr().Get(), np.float64) @ m[:3, :3].T + m[:3, 3]
            faces = np.asarray(mesh.GetFaceVertexIndicesAttr().Get()).reshape(-1, 3)
            top = _flattest_patch(pts, faces, box_edge / 2)
            if top is None or top[2] < min_cover:
                continue
            (x, y), z, _ = top
            edge = float(box_edge)
            cube = UsdGeom.Cube.Define(at, "/World/DropTest/box")
            cube.CreateSizeAttr(edge)
            rest = z + edge / 2
            cube.AddTranslateOp().Set(Gf.Vec3d(float(x), float(y), rest + cfg.drop_height))
            UsdPhysics.RigidBodyAPI.Apply(cube.GetPrim())
            UsdPhysics.CollisionAPI.Apply(cube.GetPrim())
            UsdPhysics.MassAPI.Apply(cube.GetPrim()).CreateMassAttr(1.0)
            at.GetRootLayer().Export(str(path))
            state = simulate(path, steps, cfg.dt)
            if "/World/DropTest/box" not in state:
                results.append(MovingDropResult(t, body, edge, rest, float("nan"), float("nan"), False))
                continue
            pos, vel = state["/World/DropTest/box"]
            speed = float(np.linalg.norm(vel))
            ok = abs(pos[2] - rest) <= cfg.height_tolerance and speed <= cfg.max_speed
            results.append(MovingDropResult(t, body, edge, rest, float(pos[2]), speed, bool(ok)))
    return results
