"""``lyra-sim check``: is a world simulation-ready? OpenUSD validation and a real PhysX drop test.

:func:`check_world` runs the validators (:mod:`lyra_sim.export.usd_validation`, usd-core only)
and, when ``ovphysx`` is installed, the drop test (:mod:`lyra_sim.export.drop_test`, stepped by
:mod:`lyra_sim.export.physx_runner`), and gives one verdict.

The check says "passed" only when at least one body was dropped and every one came to rest: a
world without spawn points fails (a robot has nowhere to start), and without ovphysx the drop
test is "skipped" with the reason, never passed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from lyra_sim.errors import ExportError
from lyra_sim.export.config import PhysicsCheckCfg
from lyra_sim.export.drop_test import DropResult, drop_test
from lyra_sim.export.physx_runner import require_ovphysx
from lyra_sim.export.usd_physics import read_spawn_points
from lyra_sim.export.usd_validation import ValidationIssue, validate_stage


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
        require_ovphysx()
    except ExportError as err:
        result.drop_test, result.reason = "skipped", str(err)
        return result
    result.drops = drop_test(path, points, cfg)
    result.drop_test = "passed" if result.drops and all(d.passed for d in result.drops) else "failed"
    return result
