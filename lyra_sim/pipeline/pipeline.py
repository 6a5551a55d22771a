"""``LyraPipeline``: prompt / image / video -> teacher -> decoder -> Gaussians -> sim-ready world.

Stages (each timed in ``report.json``):

1. **teacher**: render the input along the camera paths (frames, cameras, latents, depth);
2. **decode**: the latent Gaussian decoder turns the latents + camera rays into pixel-aligned
   Gaussians and a decoded depth map per frame (:mod:`lyra_sim.pipeline.decode`); opacity
   pruning; a self-consistency score (Gaussians rendered at the teacher's cameras vs its frames);
3. **refine**: the decoded Gaussians optimised against the teacher's frames and depth
   (:mod:`lyra_sim.refine`; static worlds; ``refine.steps=0`` skips it);
4. **export**: ``scene.ply``, USD Gaussians + a collider fused from the Gaussians' own surface
   depth + gravity and metric scale + spawn points in one ``scene.usdz``
   (:func:`lyra_sim.export.export_scene`), scored against the teacher's geometry when it has
   one (``collider_accuracy``);
5. **physics**: drop test bodies at the spawn points with PhysX (where ``ovphysx`` installs);
6. **previews**: ``preview.png`` (contact sheet) and ``preview.mp4`` (fly-through).

Everything is written into a staging folder that becomes ``out_dir`` only when every stage has
succeeded (:func:`lyra_sim.io.atomic_directory`): a failed run leaves nothing half-written and
an existing world is never replaced without ``overwrite``.

``LyraPipeline.from_pretrained(dir)`` / ``save_pretrained(dir)`` store the config
(``pipeline.yaml``) and the decoder (``decoder/``), like diffusers pipelines; "embedded" is the
bundled default, which needs no download.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from lyra_sim.errors import InvalidInputError, MissingWeightsError
from lyra_sim.gaussians import GaussianScene
from lyra_sim.models.embedded import EMBEDDED_NAME, is_embedded_name
from lyra_sim.pipeline.config import GenerateCfg, config_yaml, load_generate_cfg, one_value_each
from lyra_sim.pipeline.decode import DecodedScene, decode_videos
from lyra_sim.pipeline.inputs import check_prompt, check_request, read_image, read_video
from lyra_sim.progress import ProgressFn, report, using

log = logging.getLogger(__name__)

PIPELINE_CONFIG = "pipeline.yaml"
PIPELINE_DECODER = "decoder"

STAGES = ("teacher", "decode", "refine", "export", "physics", "previews")
"""The stages, in order, as reported to ``on_stage`` and in ``report.json``."""


@dataclass
class GenerateResult:
    """What :meth:`LyraPipeline.__call__` made.

    Attributes:
        out_dir: the output folder.
        files: output name -> path (``ply``, ``usd``, ``collider_obj``, ``preview_png``, ...).
        report: the contents of ``report.json`` (export report + ``generate`` section).
        scenes: the decoded Gaussians in the scene frame (one; one per time when dynamic).
        timings: seconds per stage.
    """

    out_dir: Path
    files: dict[str, Path]
    report: dict
    scenes: list[GaussianScene] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def view(self, **kwargs):
        """Open the world in the web viewer (:func:`lyra_sim.viewer.view`; ``host``, ``port``,
        ``block`` ...), e.g. after ``LyraPipeline.from_pretrained()(...)``."""
        from lyra_sim.viewer import view

        return view(self.out_dir, **kwargs)


class LyraPipeline:
    """The whole method with one config (see the module docstring).

    Args:
        cfg: every stage's settings.
        decoder: an already loaded decoder (else loaded from ``cfg.decoder.weights``).
        teacher: an already built teacher, any object with the :class:`~lyra_sim.teachers.Teacher`
            protocol (else built from ``cfg.teacher``; ``cfg.teacher.name`` must still say what
            inputs it takes).
    """

    def __init__(self, cfg: GenerateCfg | None = None, decoder=None, teacher=None):
        self.cfg = cfg or GenerateCfg()
        self._decoder = decoder
        self._teacher = teacher

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def from_pretrained(cls, path: str | Path = EMBEDDED_NAME, overrides: Sequence[str] = ()) -> LyraPipeline:
        """A pipeline from a folder written by :meth:`save_pretrained`, or "embedded" (the default).

        Raises:
            MissingWeightsError: the folder has no ``pipeline.yaml``.
        """
        if is_embedded_name(path):
            return cls(load_generate_cfg(None, overrides))
        folder = Path(path)
        if not (folder / PIPELINE_CONFIG).is_file():
            raise MissingWeightsError(f"{folder}: no {PIPELINE_CONFIG} here; expected a folder written by "
                                      "LyraPipeline.save_pretrained (pipeline.yaml + decoder/), or 'embedded'")
        cfg = load_generate_cfg(folder / PIPELINE_CONFIG, overrides)
        if (folder / PIPELINE_DECODER).is_dir() and cfg.decoder.weights in (PIPELINE_DECODER, f"./{PIPELINE_DECODER}"):
            cfg.decoder.weights = str(folder / PIPELINE_DECODER)
        return cls(cfg)

    def save_pretrained(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write ``pipeline.yaml`` and ``decoder/`` (the decoder's config + safetensors) to ``path``.

        Teacher weights are referenced by path, never copied.
        """
        from lyra_sim.io import atomic_directory
        from lyra_sim.models import save_decoder

        cfg = _copy_cfg(self.cfg)
        cfg.decoder.weights = PIPELINE_DECODER
        with atomic_directory(path, overwrite) as staging:
            save_decoder(self.decoder, staging / PIPELINE_DECODER)
            (staging / PIPELINE_CONFIG).write_text(config_yaml(cfg))
        return Path(path)

    @property
    def device(self) -> torch.device:
        want = self.cfg.device
        if want == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if want.startswith("cuda") and not torch.cuda.is_available():
            raise InvalidInputError(f"device {want!r} asked for, but torch sees no CUDA GPU here; use --device cpu")
        return torch.device(want)

    @property
    def decoder(self):
        """The latent Gaussian decoder (loaded on first use)."""
        if self._decoder is None:
            self._decoder = _load_decoder(self.cfg.decoder.weights, self.cfg.dynamic, self.device)
        return self._decoder

    def teacher(self):
        """The teacher as configured (weights are checked before anything runs)."""
        from lyra_sim.teachers.registry import load_teacher

        if self._teacher is not None:
            return self._teacher
        t = self.cfg.teacher
        return load_teacher(t.name, t.weights, device=self.device, **dict(t.options))

    # ------------------------------------------------------------------ the run
    def __call__(
        self,
        out_dir: str | Path,
        prompt: str | None = None,
        image: str | Path | torch.Tensor | None = None,
        video: str | Path | torch.Tensor | None = None,
        seed: int | None = None,
        overwrite: bool = False,
        on_stage: Callable[[str, float | None], None] | None = None,
        on_preview_frame: Callable[[int, int], None] | None = None,
        on_refine_step: Callable[[int, int, float], None] | None = None,
        progress: ProgressFn | None = None,
    ) -> GenerateResult:
        """Make a world in ``out_dir``.

        Args:
            prompt / image / video: the input (at least one; what the teacher accepts).
                Images: a path or [3, H, W] in [0, 1]; videos: a path or [T, 3, H, W].
            seed: overrides ``cfg.seed``.
            overwrite: replace an existing ``out_dir`` (only once the new world is complete).
            on_stage: called with (stage, None) when a stage starts and (stage, seconds) when it ends.
            on_preview_frame: called with (frame index, frame count) while the fly-through renders.
            on_refine_step: called with (step, steps, loss) while refinement runs.
            progress: ``fn(stage, done, total)`` for every long loop (:mod:`lyra_sim.progress`):
                ``"generate"`` counts the finished stages of :data:`STAGES`, and the stages'
                own loops report theirs (``"teacher frames"``, ``"refine steps"``, ``"depth
                views"``, ``"preview frames"`` ...). None: log stage starts and ends on the
                ``lyra_sim.pipeline`` logger (INFO).

        Raises:
            InvalidInputError: bad input (empty prompt, unreadable image, one-frame video, ...).
            MissingWeightsError: the teacher or decoder weights are not where the config says.
            OutputExistsError: ``out_dir`` holds files and ``overwrite`` is False.
        """
        from lyra_sim.io import atomic_directory
        from lyra_sim.teachers.registry import teacher_info

        cfg = one_value_each(_copy_cfg(self.cfg))  # a GenerateCfg built in Python: its export twins too
        if seed is not None:
            cfg.seed = int(seed)
        prompt = check_prompt(prompt)
        image_t = read_image(image) if isinstance(image, (str, Path)) else image
        video_t = read_video(video) if isinstance(video, (str, Path)) else video
        if video_t is not None and video_t.shape[0] < 2:
            raise InvalidInputError("the video has 1 frame; a video teacher needs at least 2 (use --image for a single picture)")
        info = teacher_info(cfg.teacher.name)
        check_request(info, prompt, image_t, video_t, cfg.dynamic)
        if cfg.dynamic and not cfg.times:
            raise InvalidInputError("a dynamic scene needs the times to decode, e.g. --times 0,0.5,1")
        if cfg.times and not all(0.0 <= t <= 1.0 for t in cfg.times):
            raise InvalidInputError(f"--times must lie in [0, 1], got {cfg.times}")
        cfg.refine.check()
        if cfg.physics_check:
            from lyra_sim.sim.engine_check import parse_engines

            parse_engines(cfg.physics_engine)  # a typo fails before any work
        teacher = self.teacher()  # missing weights fail here, before any output exists
        decoder = self.decoder

        timings: dict[str, float] = {}

        def stage(name: str):
            return _Stage(name, timings, on_stage)

        with using(progress, log), atomic_directory(out_dir, overwrite) as staging:
            with stage("teacher"):
                output = _run_teacher(teacher, cfg, prompt, image_t, video_t)
            with stage("decode"):
                decoded, forward = _decode(decoder, output, cfg)
                quality = [_self_consistency(d) for d in decoded]
            with stage("refine"):
                refined = _refine(decoded, output, cfg, on_refine_step)
            with stage("export"):
                files, export = _export(decoded, output, cfg, staging, teacher)
            with stage("physics"):
                physics = _physics_check(files, cfg) if cfg.physics_check else {"status": "skipped", "reason": "physics_check is off (physics_check=false)"}
            with stage("previews"):
                if cfg.preview.enabled:
                    files.update(_previews(decoded[0], export, cfg, staging, on_preview_frame))
            report = _report(export.report, cfg, prompt, image_t, video_t, output, decoded, forward, quality, physics, timings, files)
            report["refine"] = refined
            report["collider_accuracy"] = _collider_accuracy(export, output, cfg)
            _write_report(report, staging / "report.json")
            (staging / "config.yaml").write_text(config_yaml(cfg))
            files["report_json"], files["config"] = staging / "report.json", staging / "config.yaml"
        out = Path(out_dir)
        files = {k: (out / Path(v).relative_to(staging)) for k, v in files.items()}
        return GenerateResult(out, files, report, [d.scene for d in decoded], timings)


def generate(out_dir: str | Path, prompt: str | None = None, image=None, video=None, config: str | Path | None = None,
             overrides: Sequence[str] = (), seed: int | None = None, overwrite: bool = False, view: bool = False,
             **kwargs) -> GenerateResult:
    """One call from a prompt / image / video to a world in ``out_dir`` (see :class:`LyraPipeline`).

    ``view=True`` then opens the world in the web viewer (:func:`lyra_sim.viewer.view`, default
    host and port; logs the URL) and returns after Ctrl-C. ``kwargs`` go to
    :meth:`LyraPipeline.__call__` (``progress=fn(stage, done, total)``; without it the stages
    are logged on ``lyra_sim.pipeline``).

    Example:
        >>> result = generate("out/room", prompt="a living room")  # doctest: +SKIP
        >>> result.files["usd"], result.report["spawn_points"]["count"]  # doctest: +SKIP
    """
    pipe = LyraPipeline(load_generate_cfg(config, overrides))
    result = pipe(out_dir, prompt=prompt, image=image, video=video, seed=seed, overwrite=overwrite, **kwargs)
    if view:
        from lyra_sim.viewer import view as view_world

        view_world(result.out_dir)
    return result


# ---------------------------------------------------------------------------------- stages
class _Stage:
    def __init__(self, name: str, timings: dict, callback):
        self.name, self.timings, self.callback = name, timings, callback

    def __enter__(self):
        if self.name == STAGES[0]:  # later stages start where the previous one's end was reported
            report("generate", 0, len(STAGES))
        log.info("stage %s: started", self.name)
        self.t0 = time.perf_counter()
        if self.callback:
            self.callback(self.name, None)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.timings[self.name] = round(time.perf_counter() - self.t0, 3)
            log.info("stage %s: done in %.1f s", self.name, self.timings[self.name])
            report("generate", STAGES.index(self.name) + 1, len(STAGES))
            if self.callback:
                self.callback(self.name, self.timings[self.name])
        return False


def _copy_cfg(cfg: GenerateCfg) -> GenerateCfg:
    from omegaconf import OmegaConf

    return OmegaConf.to_object(OmegaConf.structured(cfg))


def _load_decoder(weights: str, dynamic: bool, device: torch.device):
    from lyra_sim.models import load_decoder
    from lyra_sim.models.embedded import embedded_or_path

    folder = embedded_or_path(weights, dynamic)
    model = load_decoder(folder, device=device).eval()
    if dynamic and not model.cfg.time_embedding:
        raise InvalidInputError(f"{folder} is a static decoder; a dynamic scene needs a time-conditioned one "
                                "(train configs/train/embedded_dynamic_cpu.yaml, or decoder.weights=embedded)")
    if not dynamic and model.cfg.time_embedding:
        raise InvalidInputError(f"{folder} is a time-conditioned (dynamic) decoder; pass --dynamic --times ..., "
                                "or a static decoder")
    return model


def _run_teacher(teacher, cfg: GenerateCfg, prompt, image, video):
    from lyra_sim.teachers import TeacherRequest

    t = cfg.teacher
    request = TeacherRequest(prompt=prompt, image=image, video=video, trajectories=tuple(t.trajectories), num_frames=t.num_frames,
                             width=t.width, height=t.height, seed=cfg.seed, movement_factor=t.movement_factor, dynamic=cfg.dynamic)
    return teacher.generate(request)


def _decode(decoder, output, cfg: GenerateCfg) -> tuple[list[DecodedScene], list]:
    torch.manual_seed(cfg.seed)
    videos = output.trajectories
    if cfg.dynamic:
        forward = [v for v in videos if not v.name.endswith("_flipped")]
        times = forward[0].times if forward[0].times is not None else torch.linspace(0, 1, len(forward[0]))
        return decode_videos(decoder, forward, cfg.decoder, output.codec, times, list(cfg.times)), forward
    return decode_videos(decoder, videos, cfg.decoder, output.codec), videos


def _self_consistency(decoded: DecodedScene, max_views: int = 6) -> dict:
    """PSNR/SSIM of the Gaussians rendered at a few input cameras vs the teacher's frames."""
    from lyra_sim.eval.image import psnr, ssim
    from lyra_sim.render import render

    pool = torch.tensor(decoded.score_views) if decoded.score_views else torch.arange(len(decoded.cameras))
    idx = pool[torch.linspace(0, len(pool) - 1, min(max_views, len(pool))).round().long()]
    preds = []
    for i in idx.tolist():
        with torch.no_grad():
            preds.append(render(decoded.scene, decoded.cameras[i], background=(1.0, 1.0, 1.0)).rgb[0].permute(2, 0, 1).clamp(0, 1))
    pred, target = torch.stack(preds), decoded.frames[idx]
    return {"views": len(idx), "psnr_db": round(float(psnr(pred, target).mean()), 3), "ssim": round(float(ssim(pred, target).mean()), 4)}


def _refine(decoded: list[DecodedScene], output, cfg: GenerateCfg, on_step) -> dict:
    """Refine the decoded Gaussians in place (``decoded[k].scene``); the report section.

    A static world is refined against every frame of the (forward) trajectories. A 4D world is
    refined once per decoded time, against the teacher's frames *of that instant*
    (:func:`_targets_at_time`: one frame of each trajectory, the motion-reversed copies
    included, 12 views for Lyra's six paths), so each time's Gaussians fit what was there then.
    """
    from lyra_sim.refine import refine_gaussians

    if cfg.refine.steps == 0:
        return {"steps": 0, "status": "skipped", "reason": "refine.steps=0 (the feed-forward Gaussians)"}
    if not cfg.dynamic:
        trajs = [t for t in output.trajectories if not t.name.endswith("_flipped")]
        result = refine_gaussians(decoded[0].scene, _refine_targets(output, trajs, None), cfg.refine, on_step=on_step)
        decoded[0].scene = result.scene
        return {"status": "done", **result.summary()}
    per_time = []
    total = cfg.refine.steps * len(decoded)
    for k, (t, d) in enumerate(zip(cfg.times, decoded)):
        step_cb = None if on_step is None else (lambda i, n, loss, k=k: on_step(k * cfg.refine.steps + i, total, loss))
        # Later instants start from the previous instant's refined Gaussians: what did not move
        # stays the very same splats (so the kinematic colliders see no false motion), what
        # moved is carved where the teacher now sees through it and seeded where it arrived.
        start = d.scene if k == 0 else decoded[k - 1].scene
        result = refine_gaussians(start, _refine_targets(output, output.trajectories, float(t)), cfg.refine, on_step=step_cb)
        d.scene = result.scene
        per_time.append({"time": float(t), "start": "decoded" if k == 0 else "previous time", **result.summary()})
    return {"status": "done", "views_per_time": len(output.trajectories), "per_time": per_time}


def _refine_targets(output, trajectories, time: float | None):
    """:class:`RefineTargets` from the teacher's trajectories: every frame (``time`` None), or
    the frame of each trajectory nearest to ``time`` (a 4D world's instant)."""
    from lyra_sim.cameras import Cameras
    from lyra_sim.refine import RefineTargets

    if time is None:
        picks = [(t, torch.arange(len(t))) for t in trajectories]
    else:
        picks = []
        for t in trajectories:
            times = t.times if t.times is not None else torch.linspace(0, 1, len(t))
            picks.append((t, (times - time).abs().argmin().reshape(1)))
    has_depth = all(t.depth is not None for t, _ in picks)
    has_mask = has_depth and all(t.mask is not None for t, _ in picks)  # else RefineTargets uses depth > 0
    cams = Cameras.cat([Cameras(t.cameras.c2w[i], t.cameras.K[i], t.cameras.width, t.cameras.height) for t, i in picks])
    return RefineTargets(torch.cat([t.frames[i] for t, i in picks]).float(), cams,
                         torch.cat([t.depth[i] for t, i in picks]).float() if has_depth else None,
                         torch.cat([t.mask[i] for t, i in picks]) if has_mask else None, bool(output.depth_is_metric))


def _collider_accuracy(export, output, cfg: GenerateCfg) -> dict | str:
    """The collider against the teacher's ground-truth geometry (sim frame), when it has one.

    A 4D world is scored per decoded time: the static collider plus that time's kinematic
    collider against the ground-truth mesh of that instant, over what the teacher's frames of
    that instant saw."""
    from lyra_sim.eval.collider import collider_accuracy

    if export.collider is None:
        return "not computed: no collider"
    if not output.meshes:
        return "not computed: the teacher has no ground-truth geometry"
    if any(t.depth is None for t in output.trajectories):
        return "not computed: the teacher has no depth to tell visible geometry"
    sim_from_scene = export.alignment.sim_from_scene
    if not cfg.dynamic:  # every frame of the forward trajectories (no frames copied: cameras and depth only)
        from lyra_sim.cameras import Cameras

        forward = [t for t in output.trajectories if not t.name.endswith("_flipped")]
        cams, depth = Cameras.cat([t.cameras for t in forward]), torch.cat([t.depth for t in forward]).float()
        mesh = output.meshes[0]
        return collider_accuracy(export.collider, sim_from_scene, mesh.vertices, mesh.faces, cams, depth)
    import numpy as np

    from lyra_sim.export.collider import CollisionProxy

    per_time = []
    mesh_times = output.mesh_times if output.mesh_times is not None else torch.zeros(len(output.meshes))
    moving = {round(m.time, 6): m for m in export.moving_colliders}
    for t in cfg.times:
        mesh = output.meshes[int((mesh_times - float(t)).abs().argmin())]
        world = export.collider
        piece = moving.get(round(float(t), 6))
        if piece is not None and not piece.empty:
            v0 = len(world.vertices)
            world = CollisionProxy(np.concatenate([world.vertices, piece.proxy.vertices]),
                                   np.concatenate([world.faces, piece.proxy.faces + v0]))
        targets = _refine_targets(output, output.trajectories, float(t))
        per_time.append({"time": float(t), **collider_accuracy(world, sim_from_scene, mesh.vertices, mesh.faces,
                                                                targets.cameras, targets.depth)})
    return {"per_time": per_time}


def _timed_depth(decoded: list[DecodedScene], output, cfg: GenerateCfg, teacher, source: str):
    """The same cameras' depth at several instants, for the kinematic colliders of a 4D world.

    ``source`` "rendered": the surface depth of each decoded (refined) time's Gaussians at
    ``cameras_per_trajectory`` cameras of every forward trajectory, the same depth the static
    collider is made from; "teacher": the teacher renders it exactly (at ``reference_times``
    instants plus the decoded times); "decoded": the decoder's depth at each decoded time.
    None when there is one instant only."""
    from lyra_sim.cameras import Cameras
    from lyra_sim.export.depth import render_depth_views
    from lyra_sim.export.moving import TimedDepth

    moving = cfg.export.moving
    forward = [v for v in output.trajectories if not v.name.endswith("_flipped")]
    cams = []
    for v in forward:
        idx = torch.linspace(0, len(v) - 1, min(moving.cameras_per_trajectory, len(v))).round().long()
        cams.append(Cameras(v.cameras.c2w[idx], v.cameras.K[idx], v.cameras.width, v.cameras.height))
    cams = Cameras.cat(cams)
    if source == "rendered" and len(decoded) > 1:
        col = cfg.export.collider
        small = cams.resized(col.render_width, col.render_height)
        views = [render_depth_views(d.scene, small, col.min_alpha, scale_factor=col.render_scale_factor) for d in decoded]
        depth = torch.stack([torch.where(v.valid(), v.depth, torch.zeros_like(v.depth)) for v in views])
        return TimedDepth(depth, small, [float(t) for t in cfg.times], "rendered")
    if source == "teacher" and hasattr(teacher, "depth_at_times"):
        grid = torch.linspace(0, 1, max(2, moving.reference_times)).tolist() if moving.reference_times > 1 else []
        times = sorted({round(float(t), 6) for t in list(grid) + list(cfg.times)})
        return TimedDepth(teacher.depth_at_times(output, cams, times), cams, times, "teacher")
    if len(decoded) < 2:
        return None
    return TimedDepth(torch.stack([d.depth.depth for d in decoded]), decoded[0].depth.cameras, list(cfg.times), "decoded")


def _export(decoded: list[DecodedScene], output, cfg: GenerateCfg, staging: Path, teacher=None):
    from lyra_sim.export import export_scene
    from lyra_sim.export.depth import SourceFrame, depth_views_from_teacher
    from lyra_sim.export.frame_record import frame_comments
    from lyra_sim.gaussians import write_ply
    from lyra_sim.teachers.registry import teacher_info

    first = decoded[0]
    files: dict[str, Path] = {}
    source = SourceFrame.from_teacher(output, name="generated")
    if not cfg.use_teacher_frame:
        source.world_from_scene = None
    depth = None  # "rendered"/"auto": export renders the Gaussians' surface depth at the teacher's cameras
    mode = cfg.collider_depth
    legacy_4d = mode == "auto" and cfg.dynamic
    if legacy_4d:
        # 4D worlds keep the old rule for their colliders (the teacher's depth when it is exact,
        # else decoded depth; report.json names it under generate.collider_depth) and the
        # 192-voxel fusion their moving-geometry margins (in voxels) were tuned at. Their
        # refined Gaussians' surface depth (collider_depth=rendered) is not yet good enough:
        # instants refined apart disagree by more than the margin on static surfaces, so "what
        # moved" covers the whole scene (measured on a sliding carton stack: 79,000 static faces
        # removed, 555-759 moving pieces, Chamfer 19-21 cm per time; see issue 15's note).
        mode = "teacher" if teacher_info(cfg.teacher.name).exact_depth else "decoded"
    if mode == "decoded":
        depth = first.depth
    elif mode == "teacher":
        depth = depth_views_from_teacher(output)
    # The staging folder is ours; the kinematic colliders are for the decoded times.
    export_cfg = replace(cfg.export, overwrite=True, moving=replace(cfg.export.moving, times=list(cfg.times or [])),
                         alignment=replace(cfg.export.alignment, use_teacher_frame=cfg.use_teacher_frame))
    if legacy_4d:
        export_cfg = replace(export_cfg, collider=replace(export_cfg.collider, resolution=min(export_cfg.collider.resolution, 192)))
    timed = None
    if cfg.dynamic and export_cfg.moving.enabled:
        timed = _timed_depth(decoded, output, cfg, teacher, "rendered" if depth is None else depth.source)
    result = export_scene(first.scene, staging, export_cfg, depth_views=depth, source=source, timed_depth=timed)
    # The PLYs record the frame the export chose, so `lyra-sim export scene.ply` rebuilds this world.
    # The collider settings too: generate's differ from export's defaults, and the spawn points
    # are found on that collider (a re-export at export's defaults found 0 against 8).
    col = result.report.get("collider") or {}
    collider = None if not col else {
        "voxel_size": col["voxel_size_scene_units"], "render_width": export_cfg.collider.render_width,
        "render_height": export_cfg.collider.render_height, "max_triangles": export_cfg.collider.max_triangles,
        "max_depth_ratio": export_cfg.collider.max_depth_ratio, "depth": col["depth_source"]}
    comments = frame_comments(result.alignment.sim_from_scene.numpy(), result.alignment.scale_source, source.input_camera,
                              collider)
    if len(decoded) == 1:
        files["ply"] = write_ply(first.scene, staging / "scene.ply", comments=comments)
    else:
        for t, d in zip(cfg.times, decoded):
            files[f"ply_t{t:g}"] = write_ply(d.scene, staging / f"scene_t{t:.3f}.ply", comments=comments)
    files.update({k: v for k, v in result.files.items() if isinstance(v, Path)})
    from lyra_sim.viewer.world import CAMERA_PATHS_FILE, write_camera_paths

    # The teacher's cameras in the sim frame, for `lyra-sim view`'s frustums.
    files["camera_paths"] = write_camera_paths(output.trajectories, result.alignment.sim_from_scene.numpy(), staging / CAMERA_PATHS_FILE)
    if len(decoded) > 1:
        from lyra_sim.export.usd_dynamic import write_time_sampled_gaussians

        files["usd_dynamic"] = write_time_sampled_gaussians([d.scene for d in decoded], list(cfg.times), result.alignment,
                                                             staging / "scene_dynamic.usdc", static_world=result.files["usd"].name,
                                                             num_frames=cfg.teacher.num_frames, moving_colliders=result.moving_colliders,
                                                             collider_cfg=export_cfg.collider, park_depth=export_cfg.moving.park_depth)
    return files, result


def _physics_check(files: dict[str, Path], cfg: GenerateCfg) -> dict:
    """The static world's check; a 4D world's kinematic colliders get a box dropped on each."""
    from dataclasses import asdict

    from lyra_sim.errors import ExportError
    from lyra_sim.export.drop_test import moving_drop_test
    from lyra_sim.sim.engine_check import check_engines

    usd = files["usd"]
    result = check_engines(usd, cfg.physics_engine).to_dict()
    result["path"] = usd.name  # not the staging folder's name
    if "usd_dynamic" in files:
        try:
            drops = moving_drop_test(files["usd_dynamic"])
        except ExportError as err:  # ovphysx missing
            result["moving_colliders"] = {"drops": [], "status": "skipped", "reason": str(err)}
        else:
            # As for the static world: "passed" needs at least one box dropped, and all at rest.
            status = ("passed" if all(d.passed for d in drops) else "failed") if drops else "skipped"
            reason = None if drops else "no kinematic collider has an upward patch a box can rest on"
            result["moving_colliders"] = {"drops": [asdict(d) for d in drops], "status": status, "reason": reason}
            if status == "failed":
                result["status"] = "failed"
    return result


def _previews(decoded: DecodedScene, export, cfg: GenerateCfg, staging: Path, on_frame) -> dict[str, Path]:
    from lyra_sim.pipeline.previews import write_contact_sheet, write_flythrough

    collider = None
    if export.collider is not None:
        collider = export.collider.transformed(torch.linalg.inv(export.alignment.sim_from_scene))
    # The last frame of evenly spaced trajectories: where the paths have moved farthest from the input view.
    T = decoded.frames_per_view
    V = len(decoded.cameras) // T
    picks = [(v + 1) * T - 1 for v in torch.linspace(0, V - 1, min(cfg.preview.views, V)).round().long().tolist()]
    files = {"preview_png": write_contact_sheet(decoded.scene, decoded.frames[picks], decoded.cameras[picks], collider,
                                                staging / "preview.png")}
    count = cfg.preview.frames
    files["preview_mp4"] = write_flythrough(decoded.scene, cfg.preview, staging / "preview.mp4",
                                            on_frame=(lambda i: on_frame(i, count)) if on_frame else None)
    return files


def _report(export_report: dict, cfg: GenerateCfg, prompt, image, video, output, decoded, forward, quality, physics, timings, files) -> dict:
    report = dict(export_report)
    report["physics_check"] = physics
    report["generate"] = {
        "input": {"prompt": prompt, "image": None if image is None else list(image.shape),
                  "video": None if video is None else list(video.shape)},
        "seed": cfg.seed,
        "teacher": {"name": cfg.teacher.name, "trajectories": [v.name for v in output.trajectories],
                    "frames": int(output.trajectories[0].frames.shape[0]),
                    "size": list(output.trajectories[0].frames.shape[-2:]), "codec": output.codec,
                    "depth_is_metric": bool(output.depth_is_metric)},
        "decoder": {"weights": cfg.decoder.weights, "fuse": cfg.decoder.fuse, "input_trajectories": len(forward),
                    "decode_size": list(decoded[0].frames.shape[-2:]), "keep_fraction": cfg.decoder.keep_fraction},
        "gaussians": [len(d.scene) for d in decoded],
        "times": cfg.times if cfg.dynamic else None,
        "self_consistency": quality,
        "collider_depth": (export_report.get("collider") or {}).get("depth_source", cfg.collider_depth),
        "stage_seconds": dict(timings),
        "files": sorted(Path(p).name for p in files.values()),
    }
    return report


def _write_report(report: dict, path: Path) -> None:
    from lyra_sim.export.report import write_report_json

    write_report_json(report, path, overwrite=True)
