"""``lyra-sim export``: a 3DGS PLY -> a simulation-ready USD scene (:func:`lyra_sim.export.export_scene`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lyra_sim.cli.shared import (
    PROG,
    add_config_argument,
    add_overrides_argument,
    load_command_cfg,
    progress_display,
    warn_unchecked,
)


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim export`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    e = sub.add_parser("export", help="turn a 3DGS PLY into a simulation-ready USD world")
    e.add_argument("scene", type=Path, help="3DGS file: PLY (any SH degree), SuperSplat compressed PLY, .splat or .spz")
    e.add_argument("--out", type=Path, required=True, help="output directory")
    e.add_argument("--format", choices=["usda", "usdc", "usdz"], default=None,
                   help="usdz: one scene.usdz package, as generate writes (default); usda or usdc: the layered "
                        "form, a root layer + binary Gaussian layers (gaussians*.usdc) beside it")
    e.add_argument("--usdz", action="store_true", help="same as --format usdz (the default; kept for old scripts)")
    e.add_argument("--camera-height", type=float, default=None,
                   help="height of the input camera above the floor in metres; fixes the scale (default: 1.6 unless --scale)")
    e.add_argument("--scale", type=float, default=None, help="metres per scene unit, when the camera height is unknown")
    e.add_argument("--cameras", type=Path, default=None, metavar="PATH",
                   help="the capture's camera poses (nerfstudio transforms.json, COLMAP images.txt/cameras.txt or their "
                        "folder, Lyra pose .npz): they give the up axis, the camera height (so the scale with "
                        "--camera-height) and the fusion views")
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
    e.add_argument("--engine", default="physx", metavar="physx|newton|all", help="engine(s) of --check (default: physx)")
    e.add_argument("--no-previews", action="store_true", help="skip report.png")
    e.add_argument("--device", default=None, help="cpu or cuda for rendering depth (default: cpu)")
    e.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    e.add_argument("--quiet", action="store_true", help="no progress bars or summary table")
    add_config_argument(e, help="export config YAML (fields of lyra_sim.export.ExportCfg)")
    add_overrides_argument(e, help="key=value overrides with dotted keys, anywhere on the line, e.g. collider.resolution=256")
    e.set_defaults(func=run)
    return e


def cfg_from_args(args: argparse.Namespace):
    """The :class:`~lyra_sim.export.ExportCfg` of ``args``: ``--config``, the ``key=value``
    overrides, then the flags given."""
    from lyra_sim.export.config import load_export_cfg

    # Flags given on the command line win over the config file and the overrides; a flag not
    # given (None) leaves the loaded value.
    cfg = load_command_cfg(load_export_cfg, args, {
        "usd_format": "usdz" if args.usdz else args.format, "device": args.device,
        "alignment.frame": args.frame, "alignment.up_hint": args.up, "alignment.camera_height": args.camera_height,
        "alignment.scale": args.scale, "alignment.cameras": None if args.cameras is None else str(args.cameras),
        "collider.voxel_size": args.voxel_size, "collider.max_triangles": args.max_triangles,
        "collider.enabled": False if args.no_collider else None, "gaussians.half": True if args.half else None,
        "nurec": True if args.nurec else None, "previews": False if args.no_previews else None,
        "overwrite": True if args.overwrite else None})
    if cfg.alignment.frame == "source":
        cfg.spawn.enabled = False
    return cfg


def collider_set_by_user(args: argparse.Namespace) -> bool:
    """Whether the command line sets any collider field (a flag, a ``collider.*`` override, or a
    config file, which may)."""
    return (args.voxel_size is not None or args.max_triangles is not None or args.config is not None
            or any(str(o).split("=", 1)[0].strip().startswith("collider.") for o in args.overrides))


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim export`` with the parsed ``args``; returns the exit code."""
    from lyra_sim.export import export_scene, format_report
    from lyra_sim.export.depth import SourceFrame
    from lyra_sim.gaussians.formats import read_gaussians

    cfg = cfg_from_args(args)
    if args.check:
        from lyra_sim.sim.engine_check import parse_engines

        parse_engines(args.engine)  # a typo fails before any work
    t0 = time.perf_counter()
    with progress_display(quiet=args.quiet) as progress:
        progress("read the splats", 0, 1)
        scene = read_gaussians(args.scene)
        progress("read the splats", 1, 1)
        # generate's scene.ply records the frame it was made in, and how it fused its collider;
        # export reuses both (flags and collider settings given win).
        source = SourceFrame.from_file(args.scene, Path(args.scene).stem)
        applied = None
        if source.recorded is not None and not collider_set_by_user(args):
            from lyra_sim.export.frame_record import recorded_collider_settings

            applied = recorded_collider_settings(cfg, source.recorded)
        result = export_scene(scene, args.out, cfg, source=source, progress=progress)
        rec = result.report["frame"].get("recorded_frame")
        if applied and rec:
            rec["collider_settings_used"] = applied
            depth = (rec.get("collider") or {}).get("depth")
            if depth not in (None, "rendered"):
                rec["collider_note"] = (f"generate fused its collider from {depth} depth, which the file does not carry; "
                                        "this export rendered the Gaussians' own depth, so the collider and spawn points "
                                        "may differ")
            from lyra_sim.export.report import write_report_json

            write_report_json(result.report, result.files["report_json"], overwrite=True)
        if args.check:
            from lyra_sim.export.report import write_report_json
            from lyra_sim.progress import using
            from lyra_sim.sim.engine_check import check_engines

            with using(progress):
                result.report["physics_check"] = check_engines(result.files["usd"], args.engine).to_dict()
            write_report_json(result.report, result.files["report_json"], overwrite=True)
    if not args.quiet:
        print(format_report(result.report))
        print(f"wrote {result.files['usd']} and {len(result.files) - 1} more file(s) to {args.out} "
              f"in {time.perf_counter() - t0:.1f} s")
    warn_uncertain_frame(result.report["frame"])
    warn_unchecked("export", result.report["physics_check"])
    return 0 if result.report["physics_check"].get("status") != "failed" else 1


def warn_uncertain_frame(frame: dict) -> None:
    """One line on stderr when the report marks the frame uncertain, naming the flags that fix it
    (the world is written all the same, and the exit code stays 0)."""
    if frame.get("status") != "uncertain":
        return
    doubts = frame.get("uncertain") or []
    flags = list(dict.fromkeys(f for d in doubts for f in d.get("flags", []))) or ["--up", "--camera-height", "--scale"]
    reasons = "; ".join(d.get("reason", "") for d in doubts)
    print(f"{PROG} export: warning: the world's frame is uncertain: {reasons}; check it (report.json frame.status) and "
          f"fix it with {', '.join(flags[:-1]) + ' or ' + flags[-1] if len(flags) > 1 else flags[0]}", file=sys.stderr)
