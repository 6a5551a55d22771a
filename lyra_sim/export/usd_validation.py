"""Is a world valid OpenUSD? Every registered validator plus lyra-sim's own rules (usd-core only).

Every registered ``UsdValidation`` validator (stage metadata, composition, UsdPhysics
collider/rigid-body checks, USDZ packaging, ...), plus the ParticleField rules stock validators
skip (equal array lengths, opacity range, unit quaternions, SH length; NVIDIA's VG.035), plus
UsdPhysics' own parse: there must be a physics scene and at least one static mesh collider.
"""

from __future__ import annotations

from dataclasses import dataclass

from lyra_sim.export.usd_prims import check_gaussian_prim, gaussian_prims


@dataclass
class ValidationIssue:
    """One problem a validator found: its name, "error" or "warning", and what it says."""

    validator: str
    severity: str
    message: str


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
