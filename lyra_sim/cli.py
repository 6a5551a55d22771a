"""The ``lyra-sim`` command line.

Subcommands:
    render   fly-through PNG frames, an MP4 and a contact sheet of a 3DGS PLY
    sdg      synthetic training data: a teacher renders prompts into Lyra-layout scenes
    info     what a 3DGS PLY holds: count, SH degree, bounds, opacity and scale statistics

Every subcommand refuses to overwrite outputs unless ``--overwrite`` is given, and reports
errors a user can fix as one line (exit code 2) instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lyra_sim.errors import LyraSimError


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
    g.add_argument("--codec", default="dct", help="latent codec: dct | dct-t1 | dct-t4 | dct-t8 (default: dct = dct-t8)")
    g.add_argument("--no-shadows", action="store_true", help="skip shadow rays (about 1.5x faster)")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=_cmd_sdg)

    mi = sub.add_parser("model-info", help="print a decoder config's architecture and parameter count")
    mi.add_argument("config", type=Path, help="model config YAML, e.g. configs/model/lyra_full.yaml")
    mi.add_argument("overrides", nargs="*", help="key=value overrides")
    mi.set_defaults(func=_cmd_model_info)

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
