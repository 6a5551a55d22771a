"""The ``lyra-sim`` command line.

Subcommands:
    generate a prompt / image / video -> a simulation-ready world (teacher, decoder, export, previews)
    render   fly-through PNG frames, an MP4 and a contact sheet of a 3DGS PLY
    sdg      synthetic training data: a teacher renders prompts into Lyra-layout scenes
    info     what a 3DGS PLY holds: count, SH degree, bounds, opacity and scale statistics
    train    self-distil the latent Gaussian decoder from teacher scenes (stages, checkpoints, DDP)
    eval     score a decoder on held-out scenes: PSNR/SSIM/LPIPS, depth AbsRel, Chamfer/F-score
    export   a 3DGS PLY -> a simulation-ready USD world (Gaussians, collider, gravity, scale, spawn points)
    check    validate a world USD and drop bodies on its collider with PhysX (ovphysx, CPU)
    world    compose exported scenes and robots into one world USD with N randomized environments

Every subcommand refuses to overwrite outputs unless ``--overwrite`` is given, and reports
errors a user can fix as one line (exit code 2) instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lyra_sim.errors import InvalidInputError, LyraSimError


def _parse_color(text: str) -> tuple[float, float, float]:
    named = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0), "gray": (0.5, 0.5, 0.5)}
    if text in named:
        return named[text]
    try:
        r, g, b = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"colour must be white, black, gray or 'r,g,b' in [0, 1], got {text!r}") from None
    return (r, g, b)


def _parse_vec3(text: str) -> tuple[float, float, float]:
    try:
        x, y, z = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'x,y,z', got {text!r}") from None
    return (x, y, z)


def _cmd_render(args: argparse.Namespace) -> int:
    import torch
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from lyra_sim.gaussians import read_ply
    from lyra_sim.render.flythrough import preview_cameras, render_flythrough

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    t0 = time.perf_counter()
    scene = read_ply(args.scene, device=device)
    cameras = preview_cameras(
        scene, args.trajectory, args.frames, args.width, args.height, args.fov, args.movement, up=args.up
    )
    columns = [TextColumn("[bold]rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, disable=args.quiet) as progress:
        task = progress.add_task("render", total=len(cameras))
        files = render_flythrough(
            scene,
            cameras,
            args.out,
            fps=args.fps,
            background=args.background,
            overwrite=args.overwrite,
            write_frames=not args.no_frames,
            on_frame=lambda i: progress.advance(task),
        )
    if not args.quiet:
        print(f"{len(scene):,} Gaussians, {len(cameras)} frames of {cameras.width}x{cameras.height} on {device} "
              f"in {time.perf_counter() - t0:.1f} s")
        print(f"video:         {files.video}")
        print(f"contact sheet: {files.contact_sheet}")
        if files.frames:
            print(f"frames:        {files.frames[0].parent}/frame_*.png")
    return 0


def _cmd_convert_gen3c(args: argparse.Namespace) -> int:
    from lyra_sim.teachers.gen3c_convert import convert_gen3c_checkpoint

    start = time.time()
    out = convert_gen3c_checkpoint(args.ckpt_dir, args.out_dir, overwrite=args.overwrite, trust_torchscript=args.trust_torchscript)
    print(f"wrote {out}/transformer and {out}/vae in {time.time() - start:.0f} s; "
          f"add a depth model in {out}/depth and use it with --teacher gen3c --weights {out}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    import torch

    from lyra_sim.gaussians import read_ply, read_ply_header

    header = read_ply_header(args.scene)
    scene = read_ply(args.scene)
    print(f"file:       {args.scene} ({Path(args.scene).stat().st_size / 1e6:.1f} MB, {header.format})")
    print(f"gaussians:  {len(scene):,}")
    print(f"sh degree:  {scene.sh_degree}")
    if len(scene) == 0:
        return 0
    lo, hi = scene.bounds().tolist()
    qlo, qhi = scene.bounds(quantile=0.01).tolist()
    fmt = lambda v: "(" + ", ".join(f"{x:.3f}" for x in v) + ")"  # noqa: E731
    print(f"bounds:     min {fmt(lo)}  max {fmt(hi)}")
    print(f"bounds 98%: min {fmt(qlo)}  max {fmt(qhi)}")
    s = scene.scales.max(-1).values
    print(f"scale:      median {s.median():.4g}, 99th pct {torch.quantile(s[:1_000_000], 0.99):.4g}, max {s.max():.4g} (largest axis)")
    print("opacity:")
    counts = torch.histc(scene.opacities, bins=10, min=0.0, max=1.0)
    width = 40
    for i, c in enumerate(counts.tolist()):
        bar = "#" * int(round(width * c / max(counts.max().item(), 1)))
        print(f"  {i / 10:.1f}-{(i + 1) / 10:.1f} {int(c):>10,} {bar}")
    return 0


def _generate_cfg_from_args(args: argparse.Namespace):
    from lyra_sim.pipeline import load_generate_cfg
    from lyra_sim.pipeline.config import REPO_CONFIGS

    path = args.config if args.config else (REPO_CONFIGS / "default.yaml" if (REPO_CONFIGS / "default.yaml").is_file() else None)
    cfg = load_generate_cfg(path, args.overrides)
    # Flags given on the command line win over the config file and the overrides.
    if args.teacher is not None:
        cfg.teacher.name = args.teacher
    if args.weights is not None:
        cfg.teacher.weights = str(args.weights)
    if args.decoder is not None:
        cfg.decoder.weights = str(args.decoder)
    if args.device is not None:
        cfg.device = args.device
    if args.seed is not None:
        cfg.seed = args.seed
    if args.times is not None:
        try:
            cfg.times = [float(t) for t in args.times.split(",") if t.strip()]
        except ValueError:
            raise InvalidInputError(f"--times must be comma-separated numbers in [0, 1], e.g. 0,0.5,1; got {args.times!r}") from None
    if args.dynamic or args.video is not None:
        cfg.dynamic = True
    return cfg


def _cmd_generate(args: argparse.Namespace) -> int:
    from rich.console import Console

    from lyra_sim.pipeline import STAGES, LyraPipeline
    from lyra_sim.pipeline.batch import generate_batch, parse_shard, read_prompts

    given = [x for x in (args.prompt, args.image, args.video, args.prompts) if x is not None]
    if not given:
        raise InvalidInputError("nothing to generate from: give --prompt TEXT, --image PATH, --video PATH or --prompts FILE")
    if args.prompts is not None and len(given) > 1:
        raise InvalidInputError("--prompts FILE makes one world per line; do not combine it with --prompt/--image/--video")
    if args.shard and args.prompts is None:
        raise InvalidInputError("--shard i/N splits a --prompts FILE between machines; it needs --prompts")
    cfg = _generate_cfg_from_args(args)
    console = Console(stderr=True, quiet=args.quiet)
    pipe = LyraPipeline(cfg)
    t0 = time.perf_counter()

    if args.prompts is not None:
        prompts = read_prompts(args.prompts)
        shard = parse_shard(args.shard)
        pipe.teacher()  # fail on missing weights before the first world
        result = generate_batch(prompts, args.out, pipe, shard,
                                on_world=lambda k, name, status: console.print(f"[{k + 1}/{len(prompts)}] {name}: {status}"))
        console.print(f"{len(result.made)} made, {len(result.skipped)} already there, {len(result.failed)} failed "
                      f"in {time.perf_counter() - t0:.1f} s; index: {result.index}")
        return 1 if result.failed else 0

    def on_stage(name: str, seconds: float | None) -> None:
        step = STAGES.index(name) + 1
        if seconds is None:
            console.print(f"[bold][{step}/{len(STAGES)}] {name}[/bold] ...")
        else:
            console.print(f"      {name} done in {seconds:.1f} s")

    def on_frame(i: int, total: int) -> None:
        if (i + 1) % max(1, total // 4) == 0 or i + 1 == total:
            console.print(f"      fly-through frame {i + 1}/{total}")

    refine_t0 = [0.0]

    def on_refine(step: int, total: int, loss: float) -> None:
        if step == 1:
            refine_t0[0] = time.perf_counter()
        if step % max(1, total // 5) == 0 or step == total:
            left = (time.perf_counter() - refine_t0[0]) / step * (total - step)
            console.print(f"      refinement step {step}/{total}, loss {loss:.4f}, ~{left:.0f} s left")

    result = pipe(args.out, prompt=args.prompt, image=args.image, video=args.video, overwrite=args.overwrite,
                  on_stage=on_stage, on_preview_frame=on_frame, on_refine_step=on_refine)
    if not args.quiet:
        from lyra_sim.export import format_report

        gen = result.report["generate"]
        print(format_report(result.report))
        quality = gen["self_consistency"][0]
        refine = result.report.get("refine") or {}
        if "after" in refine:  # the refined Gaussians are what the world holds
            quality = refine["after"]
        print(f"{sum(gen['gaussians']):,} Gaussians; renders vs teacher frames: {quality['psnr_db']:.2f} dB PSNR, SSIM "
              f"{quality['ssim']:.3f}; physics check: {result.report['physics_check'].get('status')}")
        acc = result.report.get("collider_accuracy")
        if isinstance(acc, dict):
            print(f"collider vs the teacher's ground truth: Chamfer {100 * acc['chamfer_m']:.1f} cm, "
                  f"F-score@5cm {acc['fscore']:.2f}")
        print(f"wrote {len(result.files)} files to {result.out_dir} in {time.perf_counter() - t0:.1f} s")
    _warn_unchecked("generate", result.report["physics_check"])
    return 0 if result.report["physics_check"].get("status") != "failed" else 1


def _cmd_convert_lyra(args: argparse.Namespace) -> int:
    from lyra_sim.models import load_lyra_checkpoint, parameter_count, save_decoder

    model = load_lyra_checkpoint(args.checkpoint, args.config, codec=False)
    if args.codec:
        model.cfg.codec = str(Path(args.codec).resolve()) if Path(args.codec).exists() else args.codec
    save_decoder(model, args.out, overwrite=args.overwrite)
    if not args.quiet:
        print(f"{parameter_count(model)['total']:,} parameters from {args.checkpoint} -> {args.out} "
              f"(use it with: lyra-sim generate --decoder {args.out} ...)")
    return 0


def _parse_trajectories(text: str) -> list[str]:
    from lyra_sim.cameras.trajectories import LYRA_TRAJECTORIES

    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in LYRA_TRAJECTORIES]
    if not names or unknown:
        raise InvalidInputError(f"--trajectories: unknown {unknown or 'empty list'}; choose from {', '.join(LYRA_TRAJECTORIES)}")
    return names


def _cmd_sdg(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from lyra_sim.data.sdg import Shard, generate_dataset, read_prompts
    from lyra_sim.teachers import ProceduralTeacher

    if args.teacher != "procedural":
        raise LyraSimError(f"teacher {args.teacher!r} is not available yet; use --teacher procedural")
    prompts = read_prompts(args.prompts)
    shard = Shard.parse(args.shard)
    teacher = ProceduralTeacher(codec=args.codec, shadows=not args.no_shadows)
    defaults = {"num_frames": args.frames, "width": args.width, "height": args.height, "dynamic": args.dynamic,
                "movement_factor": args.movement}
    if args.trajectories:
        defaults["trajectories"] = tuple(_parse_trajectories(args.trajectories))
    mine = sum(1 for i in range(args.num_scenes) if shard.owns(i))
    columns = [TextColumn("[bold]sdg {task.fields[shard]}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    t0 = time.perf_counter()
    with Progress(*columns, disable=args.quiet) as progress:
        task = progress.add_task("sdg", total=mine, shard=f"{shard.index}/{shard.count}")
        summary = generate_dataset(teacher, prompts, args.num_scenes, args.out, shard, args.seed, defaults,
                                   on_scene=lambda i, what: progress.advance(task))
    if not args.quiet:
        print(f"{summary['complete']}/{summary['expected']} scenes of shard {summary['shard']} in {args.out} "
              f"({time.perf_counter() - t0:.1f} s); summary: {Path(args.out) / shard.summary_name}")
    return 0


def _cmd_model_info(args: argparse.Namespace) -> int:
    from lyra_sim.models import LatentGaussianDecoder, load_decoder_cfg, parameter_count

    cfg = load_decoder_cfg(args.config, args.overrides)
    model = LatentGaussianDecoder(cfg, codec=False)
    counts = parameter_count(model)
    kinds = cfg.block_types
    print(f"config:      {args.config}")
    print(f"backbone:    {len(kinds)} blocks of width {cfg.width}: " + "".join("T" if k == "attention" else "M" for k in kinds))
    print(f"latents:     {cfg.latent_channels} ch, {cfg.temporal_compression}x temporal, {cfg.spatial_compression}x spatial; "
          f"rays via {cfg.ray_embedding}; time embedding {'on' if cfg.time_embedding else 'off'}")
    print(f"gaussians:   one per {cfg.gaussian_stride}x{cfg.gaussian_stride} pixels per frame, distance in [{cfg.near}, {cfg.far}]")
    print("parameters:")
    for name, n in counts.items():
        print(f"  {name:<22} {n:>12,}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from lyra_sim.export import export_world, format_report
    from lyra_sim.export.config import load_export_cfg
    from lyra_sim.export.depth import SourceFrame
    from lyra_sim.gaussians import read_ply

    cfg = load_export_cfg(args.config, args.overrides)
    cfg.usd_format = "usdz" if args.usdz else args.format
    cfg.nurec, cfg.overwrite, cfg.previews, cfg.device = args.nurec, args.overwrite, not args.no_previews, args.device
    # Flags given on the command line win over the config file and the overrides.
    given = {"alignment.frame": args.frame, "alignment.up_hint": args.up, "alignment.camera_height": args.camera_height,
             "alignment.scale": args.scale, "collider.voxel_size": args.voxel_size, "collider.max_triangles": args.max_triangles}
    for key, value in given.items():
        if value is not None:
            group, name = key.split(".")
            setattr(getattr(cfg, group), name, value)
    cfg.collider.enabled &= not args.no_collider
    cfg.gaussians.half |= args.half
    if cfg.alignment.frame == "source":
        cfg.spawn.enabled = False
    t0 = time.perf_counter()
    scene = read_ply(args.scene)
    result = export_world(scene, args.out, cfg, source=SourceFrame(name=Path(args.scene).stem))
    if args.check:
        from lyra_sim.export.physics_check import check_world
        from lyra_sim.export.report import write_report_json

        checked = check_world(result.files["usd"])
        result.report["physics_check"] = checked.to_dict()
        write_report_json(result.report, result.files["report_json"], overwrite=True)
    if not args.quiet:
        print(format_report(result.report))
        print(f"wrote {result.files['usd']} and {len(result.files) - 1} more file(s) to {args.out} "
              f"in {time.perf_counter() - t0:.1f} s")
    _warn_unchecked("export", result.report["physics_check"])
    return 0 if result.report["physics_check"].get("status") != "failed" else 1


def _cmd_check(args: argparse.Namespace) -> int:
    import json

    from lyra_sim.export.physics_check import check_world

    result = check_world(args.world, drop=not args.no_drop)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        for issue in result.validation:
            print(f"{issue.severity:<7} {issue.validator}: {issue.message}")
        for d in result.drops:
            print(f"{'ok  ' if d.passed else 'FAIL'} {d.body} at spawn {d.spawn_index}: z {d.final_z:.3f} m "
                  f"(expected {d.expected_z:.3f}), speed {d.speed:.3f} m/s")
        print(result.summary())
    if not args.no_drop:
        _warn_unchecked("check", result.to_dict())
    # A skipped drop test (no ovphysx, or --no-drop) is not a failure of the world: exit 0, said on stderr.
    return 1 if result.status == "failed" else 0


def _warn_unchecked(command: str, check: dict) -> None:
    """One line on stderr for each part of the physics check that was skipped or had nothing to
    test (``check``: a ``physics_check`` report entry), so a missing PhysX or a world without
    spawn points is not read as a pass."""
    parts = [("physics check", check)]
    if isinstance(check.get("moving_colliders"), dict):
        parts.append(("kinematic drop test", check["moving_colliders"]))
    for name, part in parts:
        if part.get("status") in ("skipped", "failed") and part.get("reason"):
            print(f"lyra-sim {command}: {name} {part['status']}: {part['reason']}", file=sys.stderr)


def _cmd_world(args: argparse.Namespace) -> int:
    from pxr import Usd

    from lyra_sim.sim import WorldCfg, compose_world, read_world_record, write_world

    cfg = WorldCfg(num_envs=args.num_envs, env_spacing=args.env_spacing, robot_drives=not args.ragdoll)
    cfg.randomization.seed = args.seed
    draws = None
    if args.replay is not None:
        stage = Usd.Stage.Open(str(args.replay)) if args.replay.is_file() else None
        record = read_world_record(stage) if stage is not None else {}
        if not record:
            raise LyraSimError(f"{args.replay}: not a world written by `lyra-sim world`; give its .usda to replay")
        draws = record["draws"]
    robots = [] if args.robot == "none" else [args.robot]
    stage = compose_world(args.scenes, robots, cfg, draws=draws, assets_root=args.assets_root)
    out = write_world(stage, args.out, overwrite=args.overwrite)
    if not args.quiet:
        print(f"wrote {out}: {len(read_world_record(stage)['draws'].envs)} environment(s) over {len(args.scenes)} scene(s), "
              f"robot {args.robot}, seed {args.seed}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from lyra_sim.distill import load_train_cfg, train

    cfg = load_train_cfg(args.config, args.overrides)
    result = train(cfg, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet, max_steps=args.max_steps)
    if not args.quiet and result.rank == 0:
        print(f"step {result.step}/{cfg.total_steps} ({result.steps_per_second:.2f} steps/s); "
              f"checkpoint: {result.checkpoint}; log: {Path(cfg.out_dir) / 'train_log.jsonl'}")
        if result.decoder_dir is not None:
            print(f"decoder: {result.decoder_dir}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from lyra_sim.eval.runner import EvalCfg, evaluate, markdown_table, select_scenes, write_report

    cfg = EvalCfg(decoder=str(args.decoder), data=[str(d) for d in args.data], holdout=args.holdout, max_scenes=args.max_scenes,
                  image_size=args.image_size, num_input_trajectories=args.trajectories, inputs=args.inputs, lpips=args.lpips,
                  geometry=not args.no_geometry, device=args.device or "auto", dynamic_times=args.times)
    total = len(select_scenes(cfg.data, cfg.holdout, cfg.max_scenes))
    with Progress(TextColumn("[bold]eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), disable=args.quiet) as progress:
        task = progress.add_task("eval", total=total)
        report = evaluate(cfg, on_scene=lambda i, scene: progress.advance(task))
    json_path, md_path = write_report(report, args.out, overwrite=args.overwrite)
    if not args.quiet:
        print(markdown_table(report))
        print(f"wrote {json_path} and {md_path}")
    return 0


def _parse_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be HxW, e.g. 176x320, got {text!r}") from None
    return (h, w)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lyra-sim", description="Generated 3D Gaussian worlds for robot simulation.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__import__('lyra_sim').__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    r = sub.add_parser("render", help="render a fly-through (PNG frames, MP4, contact sheet) of a 3DGS PLY")
    r.add_argument("scene", type=Path, help="3DGS PLY file (INRIA layout, any SH degree)")
    r.add_argument("--out", type=Path, required=True, help="output directory")
    r.add_argument("--trajectory", default="auto",
                   help="auto | spiral | orbit | left | right | up | down | zoom_in | zoom_out | clockwise | "
                        "counterclockwise | path/to/trajectory.npz (default: auto)")
    r.add_argument("--frames", type=int, default=60, help="number of frames (default: 60)")
    r.add_argument("--width", type=int, default=512, help="image width in pixels (default: 512)")
    r.add_argument("--height", type=int, default=384, help="image height in pixels (default: 384)")
    r.add_argument("--fov", type=float, default=60.0, help="vertical field of view in degrees (default: 60)")
    r.add_argument("--movement", type=float, default=1.0, help="scale of Lyra trajectory motion (default: 1)")
    r.add_argument("--up", type=_parse_vec3, default=(0.0, -1.0, 0.0),
                   help="world up for orbits, 'x,y,z' (default: 0,-1,0 = OpenCV camera frame; use 0,0,1 for Z-up)")
    r.add_argument("--fps", type=int, default=24, help="video frame rate (default: 24)")
    r.add_argument("--background", type=_parse_color, default=(1.0, 1.0, 1.0), help="white | black | gray | r,g,b (default: white)")
    r.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    r.add_argument("--no-frames", action="store_true", help="write only the MP4 and the contact sheet")
    r.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    r.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    r.set_defaults(func=_cmd_render)

    g = sub.add_parser("sdg", help="synthetic data generation: render prompts with a teacher into Lyra-layout scenes")
    g.add_argument("--teacher", default="procedural", help="teacher to use (default: procedural, the embedded one)")
    g.add_argument("--prompts", type=Path, required=True, help="text file, one prompt per line (see configs/prompts/)")
    g.add_argument("--num-scenes", type=int, required=True, help="scenes in the whole run (all shards)")
    g.add_argument("--out", type=Path, required=True, help="dataset root; scene i goes to OUT/<i:06d>/")
    g.add_argument("--shard", default=None, help="k/N: make only scenes with index %% N == k (default: all)")
    g.add_argument("--seed", type=int, default=0, help="base seed; scene i uses seed + i (default: 0)")
    g.add_argument("--frames", type=int, default=49, help="frames per trajectory (Lyra: 121; default: 49)")
    g.add_argument("--width", type=int, default=320, help="frame width (default: 320)")
    g.add_argument("--height", type=int, default=176, help="frame height (default: 176)")
    g.add_argument("--movement", type=float, default=1.0, help="trajectory movement factor (default: 1)")
    g.add_argument("--dynamic", action="store_true", help="moving scenes, 12 trajectories (6 + time-flipped copies)")
    g.add_argument("--trajectories", default=None,
                   help="comma-separated subset of Lyra's camera paths, e.g. left,right,zoom_out (default: all six)")
    g.add_argument("--codec", default="dct", help="latent codec: dct | dct-t1 | dct-t4 | dct-t8 (default: dct = dct-t8)")
    g.add_argument("--no-shadows", action="store_true", help="skip shadow rays (about 1.5x faster)")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=_cmd_sdg)

    mi = sub.add_parser("model-info", help="print a decoder config's architecture and parameter count")
    mi.add_argument("config", type=Path, help="model config YAML, e.g. configs/model/lyra_full.yaml")
    mi.add_argument("overrides", nargs="*", help="key=value overrides")
    mi.set_defaults(func=_cmd_model_info)

    e = sub.add_parser("export", help="turn a 3DGS PLY into a simulation-ready USD world")
    e.add_argument("scene", type=Path, help="3DGS PLY file (INRIA layout, any SH degree)")
    e.add_argument("--out", type=Path, required=True, help="output directory")
    e.add_argument("--format", choices=["usda", "usdc", "usdz"], default="usda",
                   help="root layer: usda (text root + binary Gaussian layers), usdc or usdz (default: usda)")
    e.add_argument("--usdz", action="store_true", help="one .usdz package (same as --format usdz)")
    e.add_argument("--camera-height", type=float, default=None,
                   help="height of the input camera above the floor in metres; fixes the scale (default: 1.6 unless --scale)")
    e.add_argument("--scale", type=float, default=None, help="metres per scene unit, when the camera height is unknown")
    e.add_argument("--frame", choices=["sim", "source"], default=None,
                   help="sim: Z up, metres, floor at z=0 (default); source: keep the input frame (plain conversion)")
    e.add_argument("--up", choices=["auto", "+x", "-x", "+y", "-y", "+z", "-z"], default=None,
                   help="rough up axis of the PLY (default: auto = the camera's up, or the thinnest axis when no camera is known)")
    e.add_argument("--voxel-size", type=float, default=None, help="collider TSDF voxel in scene units (default: automatic)")
    e.add_argument("--max-triangles", type=int, default=None, help="collider triangle budget (default: 200000)")
    e.add_argument("--no-collider", action="store_true", help="Gaussians only")
    e.add_argument("--half", action="store_true", help="half-precision Gaussian attributes")
    e.add_argument("--nurec", action="store_true", help="also write the legacy NuRec USDZ for Isaac Sim 5.x")
    e.add_argument("--check", action="store_true", help="run `lyra-sim check` on the result and add it to the report")
    e.add_argument("--no-previews", action="store_true", help="skip report.png")
    e.add_argument("--device", default=None, help="cpu or cuda for rendering depth (default: cpu)")
    e.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    e.add_argument("--quiet", action="store_true", help="no summary table")
    e.add_argument("--config", type=Path, default=None, help="export config YAML (fields of lyra_sim.export.ExportCfg)")
    e.add_argument("overrides", nargs="*", help="key=value overrides with dotted keys, right after the scene, e.g. collider.resolution=256")
    e.set_defaults(func=_cmd_export)

    c = sub.add_parser("check", help="validate a world USD and run a PhysX drop test at its spawn points")
    c.add_argument("world", type=Path, help="world USD written by `lyra-sim export` (scene.usda / .usdz)")
    c.add_argument("--no-drop", action="store_true", help="validators only, no physics")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(func=_cmd_check)

    w = sub.add_parser("world", help="compose exported scenes and robots into one world USD (N randomized environments)")
    w.add_argument("scenes", type=Path, nargs="+", metavar="SCENE_DIR", help="folders written by `lyra-sim export`")
    w.add_argument("--robot", default="builtin",
                   help="h1 | g1 (Isaac Sim assets) | builtin (lyra-sim's humanoid) | PATH to a robot USD | none (default: builtin)")
    w.add_argument("--num-envs", type=int, default=1, help="environments on the grid (default: 1)")
    w.add_argument("--seed", type=int, default=0, help="randomization seed; environment i draws from (seed, i) (default: 0)")
    w.add_argument("--out", type=Path, required=True, help="world file (.usda / .usdc)")
    w.add_argument("--env-spacing", type=float, default=None, help="grid spacing in metres (default: from the widest scene)")
    w.add_argument("--ragdoll", action="store_true", help="unpowered robots: joint drive stiffness 0, passive damping kept (WorldCfg.ragdoll_joint_damping)")
    w.add_argument("--assets-root", default=None, help="Isaac Sim assets root for h1/g1 (default: $ISAACSIM_ASSET_ROOT)")
    w.add_argument("--replay", type=Path, default=None, help="reuse the draws recorded in an earlier world .usda")
    w.add_argument("--overwrite", action="store_true", help="replace an existing output")
    w.add_argument("--quiet", action="store_true", help="no summary")
    w.set_defaults(func=_cmd_world)

    tr = sub.add_parser("train", help="self-distil the latent Gaussian decoder from teacher scenes (progressive stages)")
    tr.add_argument("--config", type=Path, required=True, help="training config YAML, e.g. configs/train/embedded.yaml")
    tr.add_argument("overrides", nargs="*", help="key=value overrides, e.g. data.roots=[/data/sdg] optim.lr=3e-4 stages.0.steps=50")
    tr.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in out_dir (bit for bit on CPU)")
    tr.add_argument("--max-steps", type=int, default=None, help="stop at this global step (resume later with --resume)")
    tr.add_argument("--overwrite", action="store_true", help="start afresh in an out_dir that holds a run (deletes its checkpoints)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    tr.set_defaults(func=_cmd_train)

    ev = sub.add_parser("eval", help="score a decoder on held-out teacher scenes (PSNR, SSIM, LPIPS, depth, Chamfer/F-score)")
    ev.add_argument("--decoder", type=Path, required=True, help="decoder folder, training checkpoint, training run folder, or `embedded` (the shipped decoder)")
    ev.add_argument("--data", type=Path, nargs="+", required=True, help="dataset root(s) written by `lyra-sim sdg`")
    ev.add_argument("--out", type=Path, required=True, help="output directory for metrics.json and metrics.md")
    ev.add_argument("--holdout", type=int, default=None, help="score the last K scenes (the training config's data.holdout_scenes)")
    ev.add_argument("--max-scenes", type=int, default=None, help="score at most this many scenes")
    ev.add_argument("--image-size", type=_parse_size, default=None, help="evaluate at HxW (default: the stored size)")
    ev.add_argument("--trajectories", type=int, default=None, help="input trajectories per scene (default: all)")
    ev.add_argument("--inputs", choices=["auto", "latents", "frames"], default="auto", help="stored latents or encoded frames (default: auto)")
    ev.add_argument("--lpips", choices=["auto", "on", "off"], default="auto", help="LPIPS-VGG from local weights (default: auto)")
    ev.add_argument("--no-geometry", action="store_true", help="skip Chamfer / F-score against ground-truth meshes")
    ev.add_argument("--times", type=int, default=5, help="dynamic scenes: score this many evenly spaced times (default: 5)")
    ev.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    ev.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    ev.add_argument("--quiet", action="store_true", help="no progress bar or table")
    ev.set_defaults(func=_cmd_eval)

    cg = sub.add_parser("convert-gen3c", help="convert GEN3C's released model.pt + Cosmos tokenizer to diffusers folders")
    cg.add_argument("ckpt_dir", type=Path, help="folder with Gen3C-Cosmos-7B/model.pt and Cosmos-Tokenize1-CV8x8x8-720p/")
    cg.add_argument("out_dir", type=Path, help="weights folder to create (transformer/, vae/)")
    cg.add_argument("--overwrite", action="store_true", help="replace an existing OUT_DIR")
    cg.add_argument("--trust-torchscript", action="store_true",
                    help="load the tokenizer's autoencoder.jit, which runs code stored in the file (only for files you trust)")
    cg.set_defaults(func=_cmd_convert_gen3c)

    gen = sub.add_parser("generate", help="a prompt / image / video -> a simulation-ready world (USD, collider, spawn points, previews)")
    gen.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides of the config (e.g. teacher.width=320)")
    gen.add_argument("--prompt", default=None, help="text description of the scene")
    gen.add_argument("--image", type=Path, default=None, help="input image (image teachers, e.g. --teacher gen3c)")
    gen.add_argument("--video", type=Path, default=None, help="input video -> 4D scene (needs a video teacher)")
    gen.add_argument("--prompts", type=Path, default=None, help="batch: a text file, one prompt per line; one world each")
    gen.add_argument("--shard", default=None, help="batch: i/N, make only worlds k with k %% N == i")
    gen.add_argument("--out", type=Path, required=True, help="output folder (batch: one sub-folder per world)")
    gen.add_argument("--seed", type=int, default=None, help="seed (default: the config's, 0)")
    gen.add_argument("--teacher", default=None, help="procedural (embedded, default) | gen3c (needs --weights)")
    gen.add_argument("--weights", type=Path, default=None, help="the teacher's local weights folder")
    gen.add_argument("--decoder", default=None, help="decoder folder from `lyra-sim train`, or embedded (default)")
    gen.add_argument("--dynamic", action="store_true", help="a moving scene, decoded at --times by the time-conditioned decoder")
    gen.add_argument("--times", default=None, help="dynamic: comma-separated times in [0, 1], e.g. 0,0.5,1")
    gen.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    gen.add_argument("--config", type=Path, default=None, help="generate config YAML (default: configs/generate/default.yaml)")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing output folder (once the new one is complete)")
    gen.add_argument("--quiet", action="store_true", help="no progress or report")
    gen.set_defaults(func=_cmd_generate)

    cl = sub.add_parser("convert-lyra", help="Lyra's released decoder checkpoint (.pt) -> a lyra-sim decoder folder")
    cl.add_argument("checkpoint", type=Path, help="lyra_static.pt / lyra_dynamic.pt (weights-only torch checkpoint)")
    cl.add_argument("out", type=Path, help="output decoder folder (config.yaml + model.safetensors)")
    cl.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1] / "configs" / "model" / "lyra_full.yaml",
                    help="decoder config the checkpoint was trained with (default: configs/model/lyra_full.yaml)")
    cl.add_argument("--codec", default=None, help="the codec the decoder reads rays/latents with, e.g. the Cosmos VAE folder "
                    "weights/gen3c/vae (default: the config's)")
    cl.add_argument("--overwrite", action="store_true")
    cl.add_argument("--quiet", action="store_true")
    cl.set_defaults(func=_cmd_convert_lyra)

    i = sub.add_parser("info", help="print what a 3DGS PLY holds")
    i.add_argument("scene", type=Path, help="3DGS PLY file")
    i.set_defaults(func=_cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    from lyra_sim.runtime import tune_cpu_allocator

    tune_cpu_allocator()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except LyraSimError as err:
        print(f"lyra-sim {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lyra-sim {args.command}: interrupted; completed outputs were kept, partial ones removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
