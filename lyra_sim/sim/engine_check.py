"""``lyra-sim check --engine physx|newton|all``: one world checked in one or two physics engines.

Each engine asked for runs the same two tests on the same test stages: the drop test (a capsule
and a box at every spawn point must come to rest at the expected height,
:func:`lyra_sim.export.drop_test.drop_test`) and the stand test (the built-in humanoid under its
PD hold must stand 2 s at every spawn point, :func:`lyra_sim.sim.stand_test.stand_test`). Where
both engines ran, every (test, spawn point) on which they disagree (one says rests or stands,
the other not) is listed in ``disagreements``.

Status honesty: an engine that is not installed is "skipped" with the reason, one not asked for
is "skipped" with "not asked for"; the whole check is "passed" only when the validators found
no error, at least one engine ran, and every engine that ran passed every test.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Literal

from lyra_sim.errors import ExportError, InvalidInputError
from lyra_sim.export.config import PhysicsCheckCfg
from lyra_sim.export.drop_test import DropResult, Engine, drop_test
from lyra_sim.export.physics_check import check_world
from lyra_sim.export.usd_validation import ValidationIssue
from lyra_sim.progress import track
from lyra_sim.sim.stand_test import StandResult, StandTestCfg, stand_test

ENGINES: tuple[Engine, ...] = ("physx", "newton")
ENGINE_CHOICES = (*ENGINES, "all")
DEFAULT_ENGINE = "physx"
"""PhysX alone by default: it checks a world in about 3 s, Newton (XPBD at 2 ms steps on CPU) in
about 30 s more, and in 2 min more the first time Warp compiles its kernels."""

Status = Literal["passed", "failed", "skipped"]


def parse_engines(choice: str) -> tuple[Engine, ...]:
    """The engines ``choice`` ("physx", "newton" or "all") names.

    Raises:
        InvalidInputError: any other value.
    """
    name = str(choice).strip().lower()
    if name == "all":
        return ENGINES
    if name in ENGINES:
        return (name,)
    raise InvalidInputError(f"unknown physics engine {choice!r}; choose one of {', '.join(ENGINE_CHOICES)}")


@dataclass
class EngineResult:
    """One engine's tests of one world.

    Attributes:
        status: "passed" (every body at rest and every humanoid standing, at least one of each),
            "failed" (something fell, slid or sank, or the engine could not load the world) or
            "skipped" (not installed, or not asked for).
        reason: why it was skipped or failed without results (None otherwise).
        seconds: wall time of the engine's runs.
    """

    engine: Engine
    status: Status = "skipped"
    reason: str | None = None
    drops: list[DropResult] = field(default_factory=list)
    stands: list[StandResult] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.drops and not self.stands:
            return f"{self.engine} {self.status}" + (f": {self.reason}" if self.reason else "")
        rest = sum(d.passed for d in self.drops)
        stood = sum(s.passed for s in self.stands)
        return (f"{self.engine} {self.status}: {rest}/{len(self.drops)} bodies at rest, "
                f"humanoid stands at {stood}/{len(self.stands)} spawn points")

    def to_dict(self) -> dict:
        return {"status": self.status, "reason": self.reason, "summary": self.summary(), "seconds": round(self.seconds, 2),
                "drops": [asdict(d) for d in self.drops], "stands": [asdict(s) for s in self.stands]}


@dataclass
class WorldCheck:
    """Everything ``lyra-sim check`` found in one world.

    Attributes:
        validation: the OpenUSD validators' findings.
        engines: one entry per engine (``physx``, ``newton``), asked for or not.
        asked: the engines asked for, in order.
        disagreements: {"test", "spawn_index", "physx", "newton"} for every test both engines
            ran whose verdicts differ ("humanoid stands", "capsule rests", "box rests").
        reason: why nothing could be tested at all ("no spawn points"), else None.
    """

    path: str
    validation: list[ValidationIssue]
    engines: dict[str, EngineResult]
    asked: tuple[Engine, ...]
    disagreements: list[dict] = field(default_factory=list)
    reason: str | None = None

    @property
    def errors(self) -> list[ValidationIssue]:
        return [i for i in self.validation if i.severity == "error"]

    @property
    def status(self) -> Status:
        ran = [self.engines[e] for e in self.asked if self.engines[e].status != "skipped"]
        if self.errors or self.reason or any(r.status == "failed" for r in ran):
            return "failed"
        return "passed" if ran else "skipped"

    @property
    def status_reason(self) -> str | None:
        """Why the check is not a plain pass of every engine asked for (None when it is)."""
        if self.reason:
            return self.reason
        notes = [f"{e} {self.engines[e].status}: {self.engines[e].reason}" for e in self.asked
                 if self.engines[e].status != "passed" and self.engines[e].reason]
        return "; ".join(notes) or None

    def summary(self) -> str:
        parts = [f"{len(self.errors)} validation errors, {len(self.validation) - len(self.errors)} warnings"]
        parts += [self.engines[e].summary() for e in self.asked] if not self.reason else [self.reason]
        if len([e for e in self.asked if self.engines[e].status != "skipped"]) == 2:
            parts.append(f"{len(self.disagreements)} disagreements")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        """The ``physics_check`` entry of report.json. ``drop_test`` and ``drops`` repeat the first
        engine asked for (the keys reports had before there were two engines)."""
        first = self.engines[self.asked[0]]
        drop_test = "failed" if self.reason or first.status == "failed" and not first.drops else first.status
        if first.drops:
            drop_test = "passed" if all(d.passed for d in first.drops) else "failed"
        return {"status": self.status, "reason": self.status_reason, "summary": self.summary(), "path": self.path,
                "validation": [asdict(i) for i in self.validation], "engines_asked": list(self.asked),
                "engines": {name: r.to_dict() for name, r in self.engines.items()},
                "disagreements": self.disagreements,
                "drop_test": drop_test, "drops": [asdict(d) for d in first.drops]}


def disagreements(a: EngineResult, b: EngineResult) -> list[dict]:
    """Every (test, spawn point) that both ``a`` and ``b`` ran and judged differently."""
    def verdicts(r: EngineResult) -> dict[tuple[str, int], bool]:
        out = {(f"{d.body} rests", d.spawn_index): d.passed for d in r.drops}
        out.update({("humanoid stands", s.spawn_index): s.passed for s in r.stands})
        return out

    va, vb = verdicts(a), verdicts(b)
    return [{"test": test, "spawn_index": i, a.engine: va[(test, i)], b.engine: vb[(test, i)]}
            for test, i in sorted(set(va) & set(vb)) if va[(test, i)] != vb[(test, i)]]


def _run_engine(path: Path, points, engine: Engine, cfg: PhysicsCheckCfg, stand_cfg: StandTestCfg) -> EngineResult:
    result = EngineResult(engine)
    if engine == "newton":
        from lyra_sim.export.newton_runner import require_newton as require
    else:
        from lyra_sim.export.physx_runner import require_ovphysx as require
    try:
        require()
    except ExportError as err:
        result.reason = str(err)
        return result
    t0 = time.perf_counter()
    try:
        result.drops = drop_test(path, points, cfg, engine)
        result.stands = stand_test(path, points, engine, stand_cfg)
    except ExportError as err:  # installed, but it cannot load this world: the world fails in it
        result.status, result.reason = "failed", str(err)
    else:
        ok = result.drops and result.stands and all(d.passed for d in result.drops) and all(s.passed for s in result.stands)
        result.status = "passed" if ok else "failed"
    result.seconds = time.perf_counter() - t0
    return result


def check_engines(path: str | Path, engines: str | tuple[Engine, ...] = DEFAULT_ENGINE, cfg: PhysicsCheckCfg | None = None,
                  stand_cfg: StandTestCfg | None = None, progress: Callable[[str], None] | None = None) -> WorldCheck:
    """Validate the world file ``path`` and run the drop and stand tests in each engine of ``engines``
    (a choice for :func:`parse_engines` or a tuple of engine names).

    Args:
        progress: called with one line before each engine runs (they take seconds to minutes).

    Raises:
        InvalidInputError: an unknown engine.
        ExportError: the file does not exist or OpenUSD cannot open it.
    """
    from pxr import Usd

    from lyra_sim.export.usd_physics import read_spawn_points

    asked = parse_engines(engines) if isinstance(engines, str) else tuple(engines)
    for e in asked:
        parse_engines(e)
    cfg = cfg or PhysicsCheckCfg()
    stand_cfg = stand_cfg or StandTestCfg(seconds=cfg.seconds, newton=cfg.newton)
    path = Path(path)
    validated = check_world(path, cfg, drop=False)  # validators only; raises on a missing/unreadable file
    results = {e: EngineResult(e, "skipped", "not asked for (lyra-sim check --engine newton|all)") for e in ENGINES}
    check = WorldCheck(str(path), validated.validation, results, asked)
    points = read_spawn_points(Usd.Stage.Open(str(path)))
    if not points:
        # Nothing to drop or stand is not a pass: a world a robot cannot be placed in fails its purpose.
        check.reason = "no spawn points"
        for e in asked:
            results[e] = EngineResult(e, "failed", "no spawn points")
        return check
    for e in track(asked, f"physics check ({len(points)} spawn points)"):
        if progress:
            note = " (a first run compiles Warp's kernels: 1-2 min)" if e == "newton" else ""
            progress(f"{e}: dropping bodies and standing the humanoid at {len(points)} spawn points{note}")
        results[e] = _run_engine(path, points, e, cfg, stand_cfg)
    if all(results[e].status != "skipped" for e in ENGINES):
        check.disagreements = disagreements(results["physx"], results["newton"])
    return check
