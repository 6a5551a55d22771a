"""Configuration of the export: one ``*Cfg`` dataclass per job, gathered in :class:`ExportCfg`.

Every field documents its unit and default. The dataclasses are plain (OmegaConf structured
configs take them as they are), so an export config YAML (``lyra-sim export --config FILE``)
and ``key=value`` overrides map onto them field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

GIB = 1 << 30

UsdFormat = Literal["usda", "usdc", "usdz"]
Approximation = Literal["none", "meshSimplification", "convexDecomposition", "convexHull", "sdf"]
FrameMode = Literal["sim", "source"]
UpHint = Literal["auto", "+x", "-x", "+y", "-y", "+z", "-z"]
ViewPlacement = Literal["auto", "trajectories", "lyra", "orbit", "interior"]


@dataclass
class UsdGaussiansCfg:
    """How Gaussians are written as ``UsdVol.ParticleField3DGaussianSplat``."""

    half: bool = False
    """Author the half-precision attributes (``positionsh``, ``scalesh``, ...) instead of float:
    half the size, about 3 significant digits. Defaults to False."""

    max_layer_bytes: int = 4 * GIB - 64 * (1 << 20)
    """Largest Gaussian data layer in bytes; more Gaussians are split into several prims, one
    ``.usdc`` layer each. A USDZ member must stay under 4 GiB (USD's zip has no ZIP64).
    Defaults to 4 GiB - 64 MiB."""

    sorting_mode_hint: Literal["zDepth", "cameraDistance", "rayHitDistance"] = "zDepth"
    """``sortingModeHint`` token; zDepth is how gsplat (and so Lyra) sorts. Defaults to "zDepth"."""

    projection_mode_hint: Literal["perspective", "tangential"] = "perspective"
    """``projectionModeHint`` token. Defaults to "perspective"."""

    color_space: str | None = "srgb_rec709_scene"
    """``colorSpace:name`` applied with ``Usd.ColorSpaceAPI`` (None: not authored). Lyra's colours
    are sRGB-encoded frames. Defaults to "srgb_rec709_scene"."""


@dataclass
class ColliderCfg:
    """The collision proxy: depth -> TSDF -> marching cubes -> cleanup -> simplification."""

    enabled: bool = True
    """Build a collider at all. Defaults to True."""

    voxel_size: float | None = None
    """TSDF voxel edge in scene units (before scaling). None: the fused geometry's extent divided
    by ``resolution``, but never finer than the depth pixels' footprint. Defaults to None."""

    resolution: int = 192
    """Voxels along the longest side when ``voxel_size`` is None. Defaults to 192."""

    max_depth_ratio: float | None = None
    """Pixels deeper than this many times the median valid depth are not fused (they still count
    as free space in the floater check): the collider covers the region where the depth is dense,
    and that region, not the farthest point seen, sets the grid and the voxel. For views along a
    camera path (generate sets 4: a street's depth reaches the horizon, and fused whole its grid
    spanned kilometres with 23 cm voxels). None, export's default, fuses every pixel: its
    automatic views circle the content or look out from its centre, where the median depth says
    little (a capture's interior views saw 30 % of their pixels cut and a 1.8 m collider).
    Defaults to None."""

    truncation_voxels: float = 3.0
    """TSDF truncation band, in voxels. Defaults to 3."""

    max_views: int = 96
    """Depth maps beyond this are subsampled evenly (neighbouring video frames are nearly the
    same view) for the free-space check; all of them are fused. Defaults to 96."""

    view_placement: ViewPlacement = "auto"
    """Cameras for rendering expected depth when no depth maps are given: "trajectories" (the
    scene's own cameras), "lyra" (Lyra's six trajectories from the first camera), "orbit",
    "interior" (looking out from inside the bounds), or "auto" (trajectories if known, Lyra's
    if the scene lies in front of the origin camera, else orbit + interior). Defaults to "auto"."""

    render_width: int = 160
    """Width of rendered depth maps in pixels. Defaults to 160."""

    render_height: int = 120
    """Height of rendered depth maps in pixels. Defaults to 120."""

    views_per_trajectory: int = 8
    """Rendered views per automatic trajectory. Defaults to 8."""

    min_alpha: float = 0.5
    """Rendered pixels with less accumulated opacity hold no surface (never fused); the surface
    depth itself is taken where the opacity crosses 0.5. Defaults to 0.5."""

    render_scale_factor: float = 1.0
    """Gaussians are rendered for depth with their scales times this. The surface depth is where
    a ray meets a splat (not its centre), so grazing floors are not lifted by splat size and
    thinner splats would only open holes; below 1 trades holes for speed on huge splats.
    Defaults to 1.0."""

    free_space_ratio: float = 1.0
    """A surface vertex that more views see *through* (observed depth beyond it by more than the
    truncation) than see it is a floater and is removed; this is the ratio see-through/seen
    above which it goes. Defaults to 1.0."""

    min_component_fraction: float = 0.002
    """Connected components with less than this fraction of the total area are dropped.
    Defaults to 0.002."""

    max_hole_edges: int = 32
    """Boundary loops with at most this many edges are filled. Defaults to 32."""

    max_triangles: int = 200_000
    """Triangle budget after simplification (quadric decimation). Defaults to 200000."""

    floor_flatten_voxels: float = 1.5
    """Floor flattening (sim frame only): collider vertices within this many voxels of the floor
    plane (z = 0: the fitted floor, or a metric teacher's) whose surface faces up are moved onto
    it, so a floor the plane fit calls flat is flat for the robots. TSDF fusion leaves a ripple of
    about half a voxel on a flat floor, enough to rock a standing humanoid on its soles; 1.5
    voxels covers that ripple with margin. Real geometry lower than this (a rug, a threshold) is
    flattened too. 0 turns it off. Defaults to 1.5."""

    floor_flatten_max_tilt_degrees: float = 45.0
    """Only vertices whose surface normal is within this angle of +Z are flattened (walls and
    the sides of furniture keep their shape down to the floor). Defaults to 45."""

    approximation: Approximation = "none"
    """``physics:approximation`` of the collider; "none" is the exact triangle mesh (static only).
    Defaults to "none"."""

    static_friction: float = 0.8
    """Physics material static friction. Defaults to 0.8."""

    dynamic_friction: float = 0.6
    """Physics material dynamic friction. Defaults to 0.6."""

    restitution: float = 0.0
    """Physics material restitution. Defaults to 0."""

    write_obj: bool = True
    """Also write ``collider.obj``. Defaults to True."""

    write_glb: bool = True
    """Also write ``collider.glb``. Defaults to True."""


@dataclass
class AlignmentCfg:
    """Gravity and metric scale: floor -> z = 0, floor normal -> +Z, metres."""

    frame: FrameMode = "sim"
    """"sim": Z-up metres, floor at z = 0; "source": keep the input frame (no alignment, no
    spawn points, no physics scene; for plain conversions). Defaults to "sim"."""

    up_hint: UpHint = "auto"
    """Rough up direction in the scene frame, to tell the floor from walls: "auto" uses the
    cameras' up (-y of the OpenCV input camera: the generated-scene convention) when they are
    known, else the geometry's thinnest axis. Defaults to "auto"."""

    max_tilt_degrees: float = 45.0
    """The floor normal is searched within this angle of the up hint. Defaults to 45."""

    camera_height: float | None = None
    """Height of the input camera above the floor in metres, which fixes the scale. None: 1.6 m,
    unless ``scale`` is given. A metric teacher overrides both. Defaults to None."""

    scale: float | None = None
    """Metres per scene unit, used when no metric teacher and no explicit ``camera_height``.
    Defaults to None."""

    default_camera_height: float = 1.6
    """The camera height assumed when neither ``camera_height`` nor ``scale`` is given, metres.
    Defaults to 1.6."""

    use_teacher_frame: bool = True
    """When the source knows ``world_from_scene`` (a metric teacher), use it instead of fitting
    the floor (the fit is still reported). Defaults to True."""

    floor_inlier_distance: float | None = None
    """Floor-fit inlier half-width in scene units; None: 1.5 x the collider's median edge length
    (its resolution), within 0.5 % to 2 % of its extent. Defaults to None."""

    min_floor_inlier_fraction: float = 0.05
    """A floor fit that rests on fewer of the collider's surface samples than this (within the
    final inlier band, normals agreeing) is not trusted silently: when it decides the frame,
    ``report.json`` says ``frame.status: "uncertain"`` with the reason and the fraction, and
    ``lyra-sim export`` names the flags that fix it on stderr (the world is still written). A
    room's floor holds 10-30 % of its surface; a blob of Gaussians with no support plane, well
    under 1 %. Defaults to 0.05."""

    object_floor_fraction: float = 0.01
    """A capture whose best floor fit holds less of its surface than this (or none at all) has
    no floor: it is taken for an object (a person, a car, a statue) and stood on a ground plane
    under its lowest points, its up from the prior and its principal axes
    (:mod:`lyra_sim.export.orientation`). Between this and ``min_floor_inlier_fraction`` the fit
    is kept and reported uncertain. Defaults to 0.01."""

    min_confidence: float = 0.5
    """Each of the frame's confidences (``report.json`` ``frame.confidence``: up axis, floor,
    scale; 0..1 with the evidence named, :mod:`lyra_sim.export.orientation`) below this makes
    ``frame.status`` "uncertain", and ``lyra-sim export`` names the flag that fixes it on
    stderr. A floor fit at ``min_floor_inlier_fraction`` scores 0.5; an assumed camera height,
    0.25. Defaults to 0.5."""

    cameras: str | None = None
    """Camera poses of the capture (``--cameras``): a nerfstudio ``transforms.json``, COLMAP
    text ``images.txt``/``cameras.txt`` or their folder, or a Lyra pose ``.npz``
    (:mod:`lyra_sim.cameras.readers`), in the splat's frame. They give the up axis, the camera
    height above the floor (so the scale with ``camera_height``) and the fusion views, and win
    over the file's frame record. None: no poses. Defaults to None."""

    use_recorded_frame: bool = True
    """When the scene file records the sim frame it was made in (the PLY ``generate`` writes:
    :mod:`lyra_sim.export.frame_record`), use it instead of fitting the floor, so a re-export
    gives the same world. An explicit ``up_hint``, ``camera_height`` or ``scale`` (``--up``,
    ``--camera-height``, ``--scale``) wins over the record: the floor is then fitted as for any
    file. Defaults to True."""


@dataclass
class SpawnCfg:
    """Robot spawn points on walkable ground (:mod:`lyra_sim.export.spawn`). Defaults fit a
    humanoid (Unitree H1/G1 class)."""

    enabled: bool = True
    """Find spawn points. Defaults to True."""

    num_points: int = 8
    """At most this many points. Defaults to 8."""

    robot_radius: float = 0.35
    """Clearance radius of the robot's footprint, metres. Defaults to 0.35."""

    robot_height: float = 1.8
    """Head-room needed above the ground, metres. Defaults to 1.8."""

    min_spacing: float = 1.0
    """Preferred least distance between spawn points, metres. Defaults to 1.0."""

    fill_spacing: float | None = None
    """When fewer than ``num_points`` fit ``min_spacing`` apart (a small room: room_a's 2.6 m^2
    of ground with full clearance held 3), more are added at least this far from every point
    picked, metres; None: twice ``robot_radius``, footprints that do not overlap. Set it to
    ``min_spacing`` to never go closer. Defaults to None."""

    cell_size: float = 0.05
    """Grid cell of the ground map, metres; the finest used (see ``max_cells``). Defaults to 0.05."""

    max_cells: int = 1_000_000
    """Most ground-map cells over the collider's XY bounding box: a larger world gets cells
    larger than ``cell_size`` (an 80 m capture: 8 cm), so the map costs what a 50 m one does (the
    80 m ground of a 10k-splat capture took 6 s to map at 5 cm). Defaults to 1000000."""

    floor_tolerance: float = 0.06
    """Surface in a ground cell lower than this below its ground is a drop (a pit or a ledge)
    and blocks the cell, metres. Defaults to 0.06."""

    max_step_height: float = 0.12
    """Geometry lower than this above the ground is walkable (not an obstacle), and ground
    surfaces of neighbouring cells this close in height are one ground, metres. Defaults to 0.12."""

    max_slope_degrees: float = 15.0
    """Steepest ground a robot may start on: the slope of the plane fitted to the ground under
    its footprint, degrees. Defaults to 15."""

    max_floor_roughness: float = 0.03
    """Highest minus lowest ground under the footprint (clutter lower than ``max_step_height``
    included), measured from the plane fitted under it, at most, metres. 3 cm: a body dropped on
    a 7 cm bump under a spawn point slid off it in the drop test. Defaults to 0.03."""

    max_candidates: int = 100_000
    """Most ground cells whose footprint is fitted: beyond it, candidates are thinned to a regular
    sub-lattice of the cells (every k-th row and column), so a capture spanning a hundred metres
    costs what a room does (a 10k-splat capture of 100 m took 107 s to fit 2 M footprints).
    Spawn points are then at most k cells apart from where a full search would put them.
    Defaults to 100000."""


@dataclass
class MovingColliderCfg:
    """Kinematic colliders for moving geometry in 4D worlds (:mod:`lyra_sim.export.moving`)."""

    enabled: bool = True
    """Make them (dynamic scenes only). Defaults to True."""

    times: list[float] | None = None
    """Times (in [0, 1]) that get a kinematic collider; None: every compared instant (the
    pipeline sets the decoded times). Defaults to None."""

    reference_times: int = 9
    """Instants compared to find what moves (evenly spaced in [0, 1], plus the requested times),
    where the teacher can render depth at any time (the procedural teacher); otherwise the
    decoded times are the instants. Defaults to 9."""

    cameras_per_trajectory: int = 7
    """Cameras of each trajectory rendered at every reference instant (evenly spaced along it).
    Defaults to 7."""

    margin_voxels: float = 3.0
    """A pixel is moving at an instant when its depth is nearer than at another instant by more
    than this many collider voxels (the TSDF truncation band). Defaults to 3."""

    min_points: int = 20
    """An instant with fewer moving pixels has no kinematic collider. Defaults to 20."""

    point_radius_voxels: float = 1.5
    """Collider faces within this many voxels of moving points are moving (and leave the static
    collider). Defaults to 1.5."""

    grow_rings: int = 1
    """Rings of neighbouring triangles added around the moving ones (closes the seam where a
    moving piece meets the static floor). Defaults to 1."""

    min_triangles: int = 12
    """Connected moving pieces smaller than this are dropped as noise. Defaults to 12."""

    max_triangles: int = 20_000
    """Triangle budget per instant. Defaults to 20000."""

    park_depth: float = 1000.0
    """While another instant is current, instant i's collider waits (i + 1) x this far below the
    world, metres (a kinematic body keeps its shape, so switching instants moves bodies; each
    waits in its own spot). Defaults to 1000."""


@dataclass
class NewtonCfg:
    """How Newton (:mod:`lyra_sim.export.newton_runner`) steps a world on CPU: XPBD with
    Newton's own collision pipeline. MuJoCo's contacts would collide our non-convex colliders
    as their convex hull (bodies end up metres above the floor), so they are never used."""

    dt: float = 1.0 / 500.0
    """Physics step, seconds. XPBD's joint drives need small steps: at 1/200 s a standing
    humanoid sagged 8 cm more than at 1/500 s. Defaults to 1/500."""

    iterations: int = 10
    """XPBD constraint iterations per step. Defaults to 10."""

    device: str = "cpu"
    """Warp device ("cpu", or "cuda:0" where a GPU is present). Defaults to "cpu"."""


@dataclass
class PhysicsCheckCfg:
    """The drop test of ``lyra-sim check`` (PhysX, and Newton with ``--engine newton|all``)."""

    capsule_radius: float = 0.25
    """Humanoid stand-in capsule radius, metres. Defaults to 0.25."""

    capsule_height: float = 1.2
    """Length of the capsule's cylinder (total height adds 2 radii), metres. Defaults to 1.2."""

    box_size: float = 0.3
    """Edge of the dropped boxes, metres. Defaults to 0.3."""

    drop_height: float = 0.3
    """Bodies start this far above their expected resting height, metres. Defaults to 0.3."""

    seconds: float = 2.0
    """Simulated time. Defaults to 2.0."""

    dt: float = 1.0 / 60.0
    """Physics step, seconds. Defaults to 1/60."""

    height_tolerance: float = 0.05
    """A body rests "at the expected height" within this, metres. Defaults to 0.05."""

    max_speed: float = 0.05
    """A body "at rest" moves slower than this at the end, m/s. Defaults to 0.05."""

    newton: NewtonCfg = field(default_factory=NewtonCfg)
    """Newton's solver and step; PhysX steps at ``dt``. Defaults to NewtonCfg()."""


@dataclass
class ExportCfg:
    """Everything :func:`lyra_sim.export.export_scene` does."""

    usd_format: UsdFormat = "usdz"
    """Root layer format: "usdz" (one ``scene.usdz`` package, what ``generate`` writes and
    Isaac Sim opens or references as one file), or the layered form, "usda" (a text root +
    binary Gaussian layer(s), editable) or "usdc". Defaults to "usdz"."""

    gaussians: UsdGaussiansCfg = field(default_factory=UsdGaussiansCfg)
    """Gaussian authoring. Defaults to UsdGaussiansCfg()."""

    collider: ColliderCfg = field(default_factory=ColliderCfg)
    """Collision proxy. Defaults to ColliderCfg()."""

    alignment: AlignmentCfg = field(default_factory=AlignmentCfg)
    """Gravity and scale. Defaults to AlignmentCfg()."""

    spawn: SpawnCfg = field(default_factory=SpawnCfg)
    """Spawn points. Defaults to SpawnCfg()."""

    moving: MovingColliderCfg = field(default_factory=MovingColliderCfg)
    """Kinematic colliders for what moves (only when the export is given depth over time: a 4D
    world). Defaults to MovingColliderCfg()."""

    nurec: bool = False
    """Also write the legacy NuRec USDZ (``scene.nurec.usdz``) for Isaac Sim 5.x. Defaults to False."""

    previews: bool = True
    """Write ``report.png`` (collider over a render). Defaults to True."""

    gravity: float = 9.81
    """PhysicsScene gravity magnitude, m/s^2. Defaults to 9.81."""

    overwrite: bool = False
    """Replace existing outputs. Defaults to False."""

    device: str | None = None
    """Torch device for rendering and fusion (None: the scene's). Defaults to None."""


def apply_overrides(cfg: ExportCfg, overrides: dict | list[str]) -> ExportCfg:
    """``cfg`` updated from a nested dict (a YAML file) or ``key=value`` strings with dotted keys
    (``collider.voxel_size=0.05``); values are parsed as YAML scalars.

    Raises:
        InvalidInputError: an unknown key, or a value of the wrong kind.
    """
    from lyra_sim.config import load_structured

    return load_structured(cfg, None, overrides, what="export setting")


def load_export_cfg(path=None, overrides: list[str] = ()) -> ExportCfg:
    """:class:`ExportCfg` from defaults, then a YAML file (``lyra-sim export --config FILE``), then overrides."""
    from lyra_sim.config import load_structured

    return load_structured(ExportCfg, path, list(overrides), what="export config")
