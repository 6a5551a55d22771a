"""One configuration for ``lyra-sim generate``: teacher, decoder, export, previews.

Loaded like every lyra-sim config (:func:`lyra_sim.config.load_structured`): the defaults
below, then a YAML file (``configs/generate/*.yaml``), then dotted ``key=value`` overrides
(``teacher.width=320 export.collider.voxel_size=0.05``). The resolved config is written next
to the outputs as ``config.yaml``, so ``lyra-sim generate --config OUT/config.yaml`` remakes
the same world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lyra_sim.cameras.trajectory_names import LYRA_TRAJECTORIES
from lyra_sim.export.config import ColliderCfg, ExportCfg
from lyra_sim.refine.config import RefineCfg

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "generate"


@dataclass
class TeacherCfg:
    """Which teacher renders the input along the camera paths, and at what size (the
    ``teacher:`` key of a generate config)."""

    name: str = "procedural"
    """"procedural" (embedded, weight-free) or "gen3c" (local weights); see
    :mod:`lyra_sim.teachers.registry`. Defaults to "procedural"."""
    weights: str | None = None
    """Local weights folder of a teacher that needs one. Defaults to None."""
    num_frames: int = 25
    """Frames per trajectory; 1 + k * the codec's temporal compression (8): 9, 17, 25, ...,
    121 (Lyra). Defaults to 25."""
    width: int = 160
    """Frame width in pixels; a multiple of 16 (codec 8x8 blocks x patch 2). Defaults to 160."""
    height: int = 96
    """Frame height in pixels; a multiple of 16. Defaults to 96."""
    trajectories: list[str] = field(default_factory=lambda: list(LYRA_TRAJECTORIES))
    """Camera paths (Lyra's six by default). Defaults to all six."""
    movement_factor: float = 1.0
    """Scales how far each path moves (GEN3C's movement distance factor). Defaults to 1.0."""
    options: dict = field(default_factory=dict)
    """Teacher-specific settings (procedural: ``shadows``; gen3c: ``num_steps``, ``offload``, ...).
    Defaults to {} (procedural: shadows on)."""


@dataclass
class GenerateDecoderCfg:
    """Which latent Gaussian decoder ``generate`` uses and how it reads the teacher's videos
    (the ``decoder:`` key of a generate config). The decoder's architecture is a
    :class:`lyra_sim.models.DecoderCfg`, stored in its folder."""

    weights: str = "embedded"
    """A decoder folder (``lyra-sim train`` output) or "embedded" (shipped in the package; its
    time-conditioned twin is used for dynamic scenes when one is shipped). Defaults to "embedded"."""
    fuse: Literal["per_trajectory", "joint"] = "per_trajectory"
    """"joint": all trajectories in one token sequence (Lyra's multi-view fusion; what a decoder
    trained on several input trajectories expects); "per_trajectory": decode each trajectory
    alone and concatenate the Gaussians (what the embedded decoder, trained on one trajectory at
    a time, expects; same frame, 7x faster on CPU). Defaults to "per_trajectory"."""
    image_size: list[int] | None = field(default_factory=lambda: [48, 80])
    """Decode at [H, W] (frames are resized; latents re-encoded); None uses the teacher's size.
    Defaults to [48, 80], the size the embedded decoder was trained at (decoding there gives
    its model-card quality; larger sizes give more, wider-blurred Gaussians and slower previews)."""
    keep_fraction: float | None = 0.5
    """Opacity pruning: keep this fraction of the Gaussians (Lyra keeps 0.2 of 121-frame
    outputs); None keeps all. Defaults to 0.5."""
    inputs: Literal["auto", "latents", "frames"] = "auto"
    """"latents": the teacher's own latents (its codec must be the decoder's); "frames": encode
    the teacher's frames with the decoder's codec; "auto": latents when they fit. Defaults to "auto"."""


@dataclass
class PreviewCfg:
    """What a person looks at: a fly-through video and a contact sheet (the ``preview:`` key
    of a generate config)."""

    enabled: bool = True
    """Write preview.mp4 and preview.png. Defaults to True."""
    frames: int = 24
    """Fly-through length in frames. Defaults to 24 (the CPU rasteriser takes about 1-2 s per
    160x96 frame of the embedded decoder's wide splats; raise it on a GPU)."""
    width: int = 160
    """Fly-through width. Defaults to 160."""
    height: int = 96
    """Fly-through height. Defaults to 96."""
    fps: int = 12
    """Video frame rate. Defaults to 12."""
    trajectory: str = "clockwise"
    """A Lyra path name, "orbit", or "auto" (see ``lyra-sim render``). Defaults to "clockwise"."""
    views: int = 3
    """Columns of the contact sheet (teacher frame / render / depth / collider rows). Defaults to 3."""


@dataclass
class GenerateCfg:
    """Everything ``lyra-sim generate`` does (every stage's settings; see the module docstring)."""

    seed: int = 0
    """The same request, config and seed give the same scene.ply bytes. Defaults to 0."""
    device: str = "auto"
    """"auto" (cuda if available), "cpu" or "cuda". Defaults to "auto"."""
    teacher: TeacherCfg = field(default_factory=TeacherCfg)
    """The teacher. Defaults to TeacherCfg()."""
    decoder: GenerateDecoderCfg = field(default_factory=GenerateDecoderCfg)
    """The decoder. Defaults to GenerateDecoderCfg()."""
    collider_depth: Literal["auto", "rendered", "decoded", "teacher"] = "auto"
    """Depth fused into the collision proxy. "rendered" (= "auto"): the surface depth of the
    world's own (refined) Gaussians rendered at the teacher's cameras, so what the robot sees is
    what it stands on; "decoded": the decoder's per-pixel depth head (Lyra's output path; one
    value per 4x4 pixels, metres off for the embedded decoder); "teacher": the teacher's depth,
    for comparison only (no real teacher has exact depth). The teacher's depth is otherwise used
    only to supervise refinement and to score the collider (``collider_accuracy``).
    Defaults to "auto"."""
    use_teacher_frame: bool = True
    """When the teacher knows gravity and metres (the procedural teacher does), place the world
    with them instead of estimating them from the collider. Defaults to True."""
    physics_check: bool = True
    """Drop test bodies and stand the humanoid at the spawn points (when the engine is
    installed; the report says "skipped" otherwise). Defaults to True."""
    physics_engine: str = "physx"
    """Engine(s) of the physics check: "physx", "newton" or "all" (see ``lyra-sim check
    --engine``; Newton adds about 30 s per world on CPU). Defaults to "physx"."""
    times: list[float] | None = None
    """Dynamic scenes (``--video`` or ``dynamic``): decode one scene per time in [0, 1].
    Defaults to None."""
    dynamic: bool = False
    """Ask the teacher for a moving scene and decode it with the time-conditioned decoder.
    Defaults to False."""
    export: ExportCfg = field(default_factory=lambda: ExportCfg(
        usd_format="usdz", previews=False,
    collider=ColliderCfg(render_width=160, render_height=96, resolution=320, max_depth_ratio=4.0)))
    """USD, collider, gravity/scale, spawn points (``lyra-sim export``'s settings); a single
    ``scene.usdz`` by default; preview.png replaces export's report.png; the collider's surface
    depth is rendered at the teacher's default frame size (160x96: one value per teacher pixel)
    and fused at 320 voxels along the longest side (about 3 cm in a room: measured 5.6 cm Chamfer
    vs 6.8 cm at 192 on a fresh bedroom), leaving out depth beyond 4x the median (the teacher's
    paths see the horizon outdoors). Defaults to ExportCfg(usd_format="usdz", previews=False,
    collider=ColliderCfg(160x96, resolution 320, max_depth_ratio 4))."""
    preview: PreviewCfg = field(default_factory=PreviewCfg)
    """Previews. Defaults to PreviewCfg()."""
    refine: RefineCfg = field(default_factory=RefineCfg)
    """Refinement of the decoded Gaussians against the teacher's frames and depth, between
    decode and export (static worlds); ``refine.steps=0`` keeps the feed-forward result.
    Defaults to RefineCfg()."""


EXPORT_TWINS = {
    "export.alignment.use_teacher_frame": "use_teacher_frame",
    "export.device": "device",
    "export.moving.times": "times",
    "export.overwrite": None,
}
"""Fields of ``export`` that generate sets from elsewhere -> the generate field that holds the
setting (None: the ``overwrite`` argument of the run, ``--overwrite``). ``config.yaml`` leaves
them out; an old file that holds them still loads (:func:`one_value_each`)."""


def _get(obj, dotted: str):
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _set(obj, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        obj = getattr(obj, part)
    setattr(obj, last, value)


def one_value_each(cfg: GenerateCfg) -> GenerateCfg:
    """Make each setting live in one field of ``cfg`` (in place; returns it).

    An ``export.*`` twin of :data:`EXPORT_TWINS` left at its default is reset to it (the
    generate field governs); one set while its generate field is at the default moves there
    (an old config that said it only under ``export``); one that agrees with its generate
    field is accepted. ``export.overwrite`` is the run's ``overwrite`` argument, never a
    setting: it is reset.

    Raises:
        InvalidInputError: a twin and its generate field both set, to different values.
    """
    from lyra_sim.errors import InvalidInputError

    defaults = GenerateCfg()
    for twin, owner in EXPORT_TWINS.items():
        value, default = _get(cfg, twin), _get(defaults, twin)
        if owner is not None and value != default:
            mine = _get(cfg, owner)
            if mine == _get(defaults, owner):
                _set(cfg, owner, list(value) if isinstance(value, (list, tuple)) else value)
            elif (list(mine) if isinstance(mine, (list, tuple)) else mine) != (list(value) if isinstance(value, (list, tuple)) else value):
                raise InvalidInputError(f"the generate config sets {owner}={mine} and {twin}={value}; {owner} is the "
                                        f"setting (drop {twin} from the config)")
        _set(cfg, twin, default)
    return cfg


def load_generate_cfg(path: str | Path | None = None, overrides=()) -> GenerateCfg:
    """:class:`GenerateCfg` from defaults, then ``path`` (YAML), then ``key=value`` overrides;
    each setting in one field (:func:`one_value_each`)."""
    from lyra_sim.config import load_structured

    cfg = load_structured(GenerateCfg, path, overrides, what="generate config", hint="see configs/generate/")
    return one_value_each(cfg)


def config_yaml(cfg: GenerateCfg) -> str:
    """``cfg`` as the YAML ``load_generate_cfg`` reads back, each setting once: the ``export.*``
    twins of :data:`EXPORT_TWINS` are left out (their generate fields hold the values)."""
    from omegaconf import OmegaConf

    data = OmegaConf.to_container(OmegaConf.structured(cfg))
    for twin in EXPORT_TWINS:
        *parents, last = twin.split(".")
        node = data
        for part in parents:
            node = node[part]
        node.pop(last, None)
    return OmegaConf.to_yaml(OmegaConf.create(data))
