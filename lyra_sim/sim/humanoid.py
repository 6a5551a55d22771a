"""lyra-sim's own articulated humanoid: capsule links, box soles, revolute and ball joints, PD drives.

The Unitree H1/G1 assets live in Isaac Sim's asset store, which CPU tests and offline users
cannot reach; this small humanoid stands in for them. It is authored in plain UsdPhysics, so
PhysX (Isaac Sim, or ``ovphysx`` on CPU) simulates it as a floating-base articulation:

    pelvis (articulation root) -- waist (revolute, pitch) -- torso -- neck (revolute) -- head
      |-- hip (D6: roll, pitch, yaw) -- thigh -- knee (revolute) -- shin -- ankle (D6: roll, pitch) -- foot
      `-- (on torso) shoulder (ball: D6, three rotations) -- upper arm -- elbow (revolute) -- forearm

The legs have six degrees of freedom each, as a person's (and Unitree's G1) do. With pitch-only
legs (the first version) any left/right difference of the leg targets had nothing to give
but the soles: both feet planted, the pelvis cannot roll or yaw over them, so the drives pushed
the feet round on the floor and the body pivoted over (``bench/humanoid_slip.py``).

Frame and units: Z up, metres, kilograms, seconds; the asset origin is on the floor between
the feet, so placing the robot's prim at a floor point stands it there. The articulation root
(the link whose pose a simulator reports and sets as the robot's root pose, e.g. Isaac Lab's
``root_pose`` and ``init_state``) is the pelvis, :data:`PELVIS_HEIGHT` (0.96 m) above that
origin: a root pose puts the robot standing at a floor point p when it is p + PELVIS_HEIGHT
(``RobotSpec.root_offset`` carries it to every caller). Standing height
1.74 m, mass 60.4 kg. Every link is an Xform at its capsule's centre (no rotation) holding the
collision/visual capsule; joint frames are unrotated, so a revolute joint's axis token is the
world axis of the standing pose. Drive targets are 0: the standing pose.

UsdPhysics spherical joints take no drive (PhysX maps drives only onto revolute, prismatic and
D6 joints), so the shoulders are D6 joints with translation locked and three limited, driven
rotations, which PhysX simulates as an articulation spherical joint. An undriven ball joint
cannot be damped either: a ragdoll's arm hanging off its body then swung as a pendulum for
seconds.

The packaged asset ``lyra_sim/assets/humanoid.usda`` is written by this module; regenerate it
with ``python -m lyra_sim.sim.humanoid`` (a test checks the file matches this code).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

ASSET_PATH = Path(__file__).resolve().parent.parent / "assets" / "humanoid.usda"
ROOT_PATH = "/Humanoid"


@dataclass(frozen=True)
class CapsuleLink:
    """One rigid link: a capsule at ``center`` (metres, asset frame), or a box sole when ``box``
    gives its (x, y, z) size in metres."""

    name: str
    center: tuple[float, float, float]
    axis: Literal["X", "Y", "Z"]
    radius: float
    height: float  # length of the cylinder part; the capsule is ``height + 2 * radius`` long
    mass: float  # kilograms
    box: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class JointSpec:
    """One joint between two links, anchored at ``anchor`` (metres, asset frame).

    Revolute: ``axis`` is the rotation axis, ``limits`` (lower, upper) in degrees. Spherical (a
    D6 joint): ``axis`` is the twist axis ("-Z": along a hanging limb), ``limits`` (swing, twist)
    half-angles in degrees, the swing limit applying about each of the two axes across the limb.
    D6 (``kind="d6"``): rotations about the world-aligned axes ``rotations`` names, each with its
    (lower, upper) limits in degrees; ``axis`` and ``limits`` are unused, the other rotations and
    all translations are locked. ``drive`` is (stiffness N m/rad, damping N m s/rad) per rotation
    axis, or None.
    """

    name: str
    kind: Literal["revolute", "spherical", "d6"]
    parent: str
    child: str
    anchor: tuple[float, float, float]
    axis: Literal["X", "Y", "Z", "-Z"]
    limits: tuple[float, float]
    drive: tuple[float, float] | None = None
    rotations: tuple[tuple[Literal["rotX", "rotY", "rotZ"], float, float], ...] = ()


def _mirror(name: str, side: str, y: float) -> tuple[str, float]:
    return f"{side}_{name}", (y if side == "left" else -y)


def _links() -> list[CapsuleLink]:
    links = [
        CapsuleLink("pelvis", (0.0, 0.0, 0.96), "Y", 0.09, 0.24, 8.0),
        CapsuleLink("torso", (0.0, 0.0, 1.29), "Z", 0.13, 0.22, 18.0),
        CapsuleLink("head", (0.0, 0.0, 1.635), "Z", 0.09, 0.03, 4.0),
    ]
    for side in ("left", "right"):
        for name, x, z, axis, r, h, m, y in (
            ("thigh", 0.0, 0.70, "Z", 0.065, 0.27, 7.0, 0.12),
            ("shin", 0.0, 0.30, "Z", 0.05, 0.30, 3.5, 0.12),
            ("foot", 0.0, 0.03, "X", 0.0, 0.0, 1.2, 0.12),
            ("upper_arm", 0.0, 1.325, "Z", 0.045, 0.20, 2.0, 0.27),
            ("forearm", 0.0, 1.04, "Z", 0.04, 0.20, 1.5, 0.27),
        ):
            full, yy = _mirror(name, side, y)
            # A capsule touches the floor along one line, which PhysX resolves with a single contact
            # point, so capsule feet let the body pitch freely about the line through both feet. Box
            # soles give four corners. They are centred under the ankle, which is under the centre
            # of mass: a sole reaching further forward than back left 0.10 m behind the centre of
            # mass, so a TSDF floor rippled by a few cm tipped the stance over backwards.
            box = (0.28, 0.10, 0.06) if name == "foot" else None
            links.append(CapsuleLink(full, (x, yy, z), axis, r, h, m, box))
    return links


def _joints() -> list[JointSpec]:
    joints = [
        JointSpec("waist", "revolute", "pelvis", "torso", (0.0, 0.0, 1.05), "Y", (-20.0, 60.0), (1500.0, 150.0)),
        JointSpec("neck", "revolute", "torso", "head", (0.0, 0.0, 1.53), "Y", (-45.0, 45.0), (60.0, 6.0)),
    ]
    for side in ("left", "right"):
        y_leg = 0.12 if side == "left" else -0.12
        y_arm = 0.27 if side == "left" else -0.27
        s = f"{side}_"
        # Stiffness must beat gravity's toppling stiffness m*g*h about each joint (about the
        # ankles: 58 kg * 9.81 m/s^2 * 0.9 m = 510 N m/rad), or the standing pose tips over.
        joints += [
            # Positive rotation about +Y swings a hanging link backwards (-X): knee flexion is positive.
            # Hip: roll (about +X, forward), pitch (+Y) and yaw (+Z, about the leg); ankle: roll and
            # pitch. Roll limits are mirrored so "outward" has the same bound on both sides.
            JointSpec(s + "hip", "d6", "pelvis", s + "thigh", (0.0, y_leg, 0.90), "Y", (0.0, 0.0), (2500.0, 250.0),
                      (("rotX", -30.0, 45.0) if side == "left" else ("rotX", -45.0, 30.0),
                       ("rotY", -120.0, 30.0), ("rotZ", -40.0, 40.0))),
            JointSpec(s + "knee", "revolute", s + "thigh", s + "shin", (0.0, y_leg, 0.50), "Y", (0.0, 140.0), (2500.0, 250.0)),
            JointSpec(s + "ankle", "d6", s + "shin", s + "foot", (0.0, y_leg, 0.10), "Y", (0.0, 0.0), (4000.0, 400.0),
                      (("rotX", -25.0, 25.0), ("rotY", -45.0, 45.0))),
            JointSpec(s + "shoulder", "spherical", "torso", s + "upper_arm", (0.0, y_arm, 1.47), "-Z", (90.0, 80.0), (30.0, 3.0)),
            JointSpec(s + "elbow", "revolute", s + "upper_arm", s + "forearm", (0.0, y_arm, 1.18), "Y", (-140.0, 0.0), (30.0, 3.0)),
        ]
    return joints


LINKS: tuple[CapsuleLink, ...] = tuple(_links())
JOINTS: tuple[JointSpec, ...] = tuple(_joints())
ROOT_LINK = "pelvis"
STANDING_HEIGHT = max(link.center[2] + link.radius + (link.height / 2 if link.axis == "Z" else 0.0) for link in LINKS)
"""Top of the head above the floor, metres."""
PELVIS_HEIGHT = next(link.center[2] for link in LINKS if link.name == ROOT_LINK)
"""Height of the root link (the pelvis, the articulation root) above the asset origin and the
floor when standing, metres: 0.96."""
ANKLE_PITCH_JOINTS = tuple(f"joints/{j.name}" for j in JOINTS if j.name.endswith("_ankle"))
"""The ankle joints (their pitch about +Y turns the toes down for positive angles: the revolute
drive, or a D6 joint's ``rotY`` drive) below the robot's root."""


@dataclass
class HumanoidCfg:
    """What :func:`author_humanoid` writes."""

    drives: bool = True
    """PD drives holding the standing pose; False gives a ragdoll (no stiffness, only
    ``ragdoll_damping``). Defaults to True."""

    ragdoll_damping: float = 1.0
    """Viscous damping of every joint of the ragdoll (``drives=False``), N m s/rad: an unpowered
    joint still resists motion. Defaults to 1.0 (as :attr:`lyra_sim.sim.WorldCfg.ragdoll_joint_damping`)."""

    stiffness_scale: float = 1.0
    """Multiplies every drive stiffness and damping. Defaults to 1.0."""

    self_collisions: bool = False
    """Let non-adjacent links collide with each other. Defaults to False."""

    max_torque: float = 600.0
    """Largest torque a drive may apply, N m. Defaults to 600."""

    armature: float = 0.1
    """Reflected rotor inertia added to every joint axis, kg m^2 (PhysX's joint armature: a geared
    motor's rotor inertia times the gear ratio squared). Without it PhysX at 60 Hz is unstable
    with these light links: the feet (about 0.01 kg m^2 about the ankle) on stiff ankle drives
    let the standing body tip slowly about the ankles although the drive torque is far above
    gravity's (stiffer drives do not help), and the undriven arms (a spherical shoulder's twist
    about the slender arm) blow up to NaN in some ragdoll falls. Defaults to 0.1."""


def author_humanoid(stage, path: str = ROOT_PATH, cfg: HumanoidCfg | None = None):
    """Author the humanoid under ``path`` (an Xform) on ``stage``; returns that Xform.

    Links are ``{path}/{link}`` (rigid bodies with mass, the capsule or box sole a child
    ``collision`` prim), joints ``{path}/joints/{joint}``; the articulation root is ``{path}/pelvis``.
    """
    from pxr import Gf, Sdf, UsdGeom, UsdPhysics

    cfg = cfg or HumanoidCfg()
    root = UsdGeom.Xform.Define(stage, path)
    centers = {}
    for link in LINKS:
        xf = UsdGeom.Xform.Define(stage, f"{path}/{link.name}")
        xf.AddTranslateOp().Set(Gf.Vec3d(*link.center))
        prim = xf.GetPrim()
        UsdPhysics.RigidBodyAPI.Apply(prim)
        UsdPhysics.MassAPI.Apply(prim).CreateMassAttr(float(link.mass))
        if link.box is not None:
            geom = UsdGeom.Cube.Define(stage, f"{path}/{link.name}/collision")
            geom.CreateSizeAttr(1.0)
            geom.CreateExtentAttr([Gf.Vec3f(-0.5), Gf.Vec3f(0.5)])
            geom.AddScaleOp().Set(Gf.Vec3f(*link.box))
        else:
            geom = UsdGeom.Capsule.Define(stage, f"{path}/{link.name}/collision")
            geom.CreateRadiusAttr(float(link.radius))
            geom.CreateHeightAttr(float(link.height))
            geom.CreateAxisAttr(link.axis)
            half = link.height / 2 + link.radius
            lo = [-link.radius] * 3
            hi = [link.radius] * 3
            i = "XYZ".index(link.axis)
            lo[i], hi[i] = -half, half
            geom.CreateExtentAttr([Gf.Vec3f(*lo), Gf.Vec3f(*hi)])
        geom.CreateDisplayColorAttr([Gf.Vec3f(0.75, 0.78, 0.82)])
        UsdPhysics.CollisionAPI.Apply(geom.GetPrim())
        centers[link.name] = Gf.Vec3f(*link.center)
        if link.name == ROOT_LINK:
            UsdPhysics.ArticulationRootAPI.Apply(prim)
            # PhysX's articulation settings (codeless PhysxSchema: plain usd-core needs no plugin to
            # author them). Links that touch in the standing pose (forearms beside the pelvis) would
            # push each other forever, so self-collision is off, as in Isaac Sim's humanoid assets.
            prim.AddAppliedSchema("PhysxArticulationAPI")
            prim.CreateAttribute("physxArticulation:enabledSelfCollisions", Sdf.ValueTypeNames.Bool).Set(cfg.self_collisions)
    UsdGeom.Scope.Define(stage, f"{path}/joints")
    for spec in JOINTS:
        joint_path = f"{path}/joints/{spec.name}"
        anchor = Gf.Vec3f(*spec.anchor)
        if spec.kind == "revolute":
            joint = UsdPhysics.RevoluteJoint.Define(stage, joint_path)
            joint.CreateLowerLimitAttr(float(spec.limits[0]))
            joint.CreateUpperLimitAttr(float(spec.limits[1]))
            joint.CreateAxisAttr(spec.axis)
            axes = ("angular",)
        else:
            # A D6 joint: a limit with low > high locks its axis; a spherical joint's rotX twists
            # about the limb.
            joint = UsdPhysics.Joint.Define(stage, joint_path)
            if spec.kind == "spherical":
                swing, twist = (float(v) for v in spec.limits)
                free = {"rotX": (-twist, twist), "rotY": (-swing, swing), "rotZ": (-swing, swing)}
            else:
                free = {axis: (float(low), float(high)) for axis, low, high in spec.rotations}
            locked = (1.0, -1.0)
            for axis in ("transX", "transY", "transZ", "rotX", "rotY", "rotZ"):
                low, high = free.get(axis, locked)
                limit = UsdPhysics.LimitAPI.Apply(joint.GetPrim(), axis)
                limit.CreateLowAttr(low)
                limit.CreateHighAttr(high)
            axes = tuple(a for a in ("rotX", "rotY", "rotZ") if a in free)
        if cfg.armature > 0.0:
            # PhysxSchema's multiple-apply PhysxJointAxisAPI, one instance per joint axis ("angular"
            # for a revolute joint); codeless, so plain usd-core authors it without a plugin.
            for axis in axes:
                joint.GetPrim().AddAppliedSchema(f"PhysxJointAxisAPI:{axis}")
                joint.GetPrim().CreateAttribute(f"physxJointAxis:{axis}:armature", Sdf.ValueTypeNames.Float).Set(float(cfg.armature))
        # PhysX twists a spherical joint about the joint frame's X axis, so the frame is turned to
        # put X along the limb (-Z: 90 degrees about Y).
        frame = Gf.Quatf(1.0) if spec.axis != "-Z" else Gf.Quatf(math.sqrt(0.5), 0.0, math.sqrt(0.5), 0.0)
        joint.CreateBody0Rel().SetTargets([f"{path}/{spec.parent}"])
        joint.CreateBody1Rel().SetTargets([f"{path}/{spec.child}"])
        joint.CreateLocalPos0Attr(anchor - centers[spec.parent])
        joint.CreateLocalPos1Attr(anchor - centers[spec.child])
        joint.CreateLocalRot0Attr(frame)
        joint.CreateLocalRot1Attr(frame)
        if spec.drive is not None:
            kp, kd = spec.drive
            if cfg.drives:
                kp, kd = kp * cfg.stiffness_scale, kd * cfg.stiffness_scale
            else:
                kp, kd = 0.0, cfg.ragdoll_damping
            for axis in axes:
                drive = UsdPhysics.DriveAPI.Apply(joint.GetPrim(), axis)
                drive.CreateTypeAttr("force")
                drive.CreateTargetPositionAttr(0.0)
                # UsdPhysics angular drives are per degree: N m/deg and N m s/deg.
                drive.CreateStiffnessAttr(float(kp * math.pi / 180.0))
                drive.CreateDampingAttr(float(kd * math.pi / 180.0))
                drive.CreateMaxForceAttr(float(cfg.max_torque))
    return root


def humanoid_stage(cfg: HumanoidCfg | None = None):
    """An in-memory stage holding only the humanoid, Z up, metres, defaultPrim ``/Humanoid``."""
    from pxr import Usd, UsdGeom, UsdPhysics

    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.SetStageKilogramsPerUnit(stage, 1.0)
    root = author_humanoid(stage, ROOT_PATH, cfg)
    stage.SetDefaultPrim(root.GetPrim())
    stage.GetRootLayer().documentation = (
        "lyra-sim humanoid: capsule links, revolute/spherical joints, PD drives to the standing pose. "
        "Generated by `python -m lyra_sim.sim.humanoid`; do not edit by hand."
    )
    return stage


def humanoid_usda(cfg: HumanoidCfg | None = None) -> str:
    """The asset as USDA text (what ``lyra_sim/assets/humanoid.usda`` holds for the defaults)."""
    stage = humanoid_stage(cfg)  # keep the stage alive: its layer is only weakly held
    return stage.GetRootLayer().ExportToString()


def write_humanoid(path: str | Path = ASSET_PATH, cfg: HumanoidCfg | None = None, overwrite: bool = False) -> Path:
    """Write the humanoid asset to ``path`` atomically."""
    from lyra_sim.io.atomic import atomic_output

    with atomic_output(path, overwrite) as tmp:
        Path(tmp).write_text(humanoid_usda(cfg))
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Regenerate lyra-sim's packaged humanoid USD.")
    parser.add_argument("--out", type=Path, default=ASSET_PATH, help=f"output USDA (default: {ASSET_PATH})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info("wrote %s", write_humanoid(args.out, overwrite=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
