"""Sim-grade worlds (issue 15): is what the robot sees what it stands on, on scenes never trained on?

For each of 12 procedural scenes (two of every kind the teacher makes: room, office, warehouse,
corridor, street (courtyard-like), outdoor terrain) with prompts and seeds not in the training
prompts (configs/prompts/sdg_prompts.txt, seeds < 1000), runs ``lyra-sim generate`` on the embedded
default in a fresh process (wall time and that process's peak RSS), then measures:

- renders vs the teacher at its views, feed-forward and after refinement (PSNR, SSIM, surface-depth
  AbsRel; from report.json ``refine``);
- the collider, which the default builds from the Gaussians' surface depth alone, against the
  teacher's visible ground-truth geometry (Chamfer, F-score@5 cm); floor tilt and scale error of
  a *second* export of the same Gaussians that may not use the teacher's frame (gravity and metres
  estimated from the collider only), against the teacher's true frame;
- Gaussians vs collider (median distance), spawn points, the PhysX drop test, and the PD humanoid
  standing for 3 s at every spawn point (ovphysx).

Resumable: one JSON per scene in bench/results/sim_grade/ (delete one to redo it); the table of
all of them goes to bench/results/sim_grade.json and is printed as markdown.

    python bench/sim_grade.py [--only NAME ...] [--config key=value ...]
    python bench/sim_grade.py --rescore [--humanoid] [--only NAME ...]   # kept worlds, today's protocol
    python bench/sim_grade.py --reexport [--only NAME ...]   # kept worlds' Gaussians, today's export

``--reexport`` runs today's export (collider, alignment, spawn points, drop test) on each kept
world's refined Gaussians (scene.ply) with the teacher's frame, as generate does, into
``<keep>/<name>_reexport``, and updates the row's export-side columns and the humanoid; the
render and timing columns stay those of the generate run (the teacher, decoder and refinement
did not change).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_json

SCENES = [
    ("room_a", "a quiet study room with a sofa and a lamp", 5101),
    ("room_b", "a small dark bedroom with boxes", 5102),
    ("office_a", "a sunny office with desks and cabinets", 5103),
    ("office_b", "an open office with plants", 5104),
    ("warehouse_a", "a dim storage depot with pallets", 5105),
    ("warehouse_b", "a logistics warehouse with tall shelves", 5106),
    ("corridor_a", "a narrow school corridor", 5107),
    ("corridor_b", "a long tunnel with lamps", 5108),
    ("street_a", "a small plaza street with benches", 5109),
    ("street_b", "an old street with parked cars", 5110),
    ("outdoor_a", "an outdoor field with scattered rocks", 5111),
    ("outdoor_b", "a mountain slope with boulders", 5112),
]
OUT = Path(__file__).resolve().parent / "results"


def run_generate(prompt: str, seed: int, out: Path, overrides: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS GB, exit code) of one ``lyra-sim generate`` in its own process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "lyra_sim.cli", "generate", "--prompt", prompt, "--seed", str(seed),
                             "--out", str(out), "--quiet", *overrides], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, usage.ru_maxrss / 1e6, proc.returncode


def rebuild_teacher(prompt: str, seed: int, world: Path):
    """(config, teacher output) of a kept world, rebuilt from its config.yaml (the procedural
    teacher is deterministic, so this is the output its generate saw)."""
    from lyra_sim.pipeline import load_generate_cfg
    from lyra_sim.pipeline.pipeline import LyraPipeline, _run_teacher

    cfg = load_generate_cfg(world / "config.yaml")
    return cfg, _run_teacher(LyraPipeline(cfg).teacher(), cfg, prompt, None, None)


def forward_views(output):
    """(cameras, z-depth [N, H, W]) of the teacher's forward trajectories, what generate scores against."""
    import torch

    from lyra_sim.cameras import Cameras

    forward = [t for t in output.trajectories if not t.name.endswith("_flipped")]
    return Cameras.cat([t.cameras for t in forward]), torch.cat([t.depth for t in forward]).float()


def teacher_depth_reference(cfg, output) -> dict:
    """A collider fused from the teacher's *exact* depth with generate's collider settings and
    scored like generate's (what no real teacher could give): the fusion's own limit."""
    import torch

    from lyra_sim.eval.collider import collider_accuracy
    from lyra_sim.export.collider import build_collision_proxy
    from lyra_sim.export.depth import SourceFrame, depth_views_from_teacher

    truth = SourceFrame.from_teacher(output, name="generated").world_from_scene.double()
    views = depth_views_from_teacher(output)
    ccfg = cfg.export.collider
    idx = torch.linspace(0, len(views) - 1, min(ccfg.max_views, len(views))).round().long()
    proxy, _ = build_collision_proxy(type(views)(views.depth[idx], views.cameras[idx], views.masks[idx], "teacher"), ccfg)
    cams, depth = forward_views(output)
    mesh = output.meshes[0]
    return collider_accuracy(proxy.transformed(truth), truth, mesh.vertices, mesh.faces, cams, depth)


def frame_errors(prompt: str, seed: int, world: Path) -> dict:
    """Floor tilt and scale error when gravity and metres come from the Gaussians' collider only,
    and the teacher-depth reference collider (:func:`teacher_depth_reference`)."""
    import torch

    from dataclasses import replace

    from lyra_sim.export import export_scene
    from lyra_sim.export.alignment import angle_degrees
    from lyra_sim.export.depth import SourceFrame
    from lyra_sim.gaussians import read_ply

    cfg, output = rebuild_teacher(prompt, seed, world)
    scene = read_ply(world / "scene.ply")
    source = SourceFrame.from_teacher(output, name="generated")
    truth = source.world_from_scene.double()
    source.world_from_scene = None  # estimate gravity and scale from the collider alone
    ecfg = replace(cfg.export, usd_format="usdc", previews=False, overwrite=True)
    with tempfile.TemporaryDirectory() as tmp:
        res = export_scene(scene, tmp, ecfg, source=source)
    est = res.alignment.sim_from_scene.double()
    s_true = float(torch.linalg.det(truth[:3, :3]) ** (1 / 3))
    s_est = float(torch.linalg.det(est[:3, :3]) ** (1 / 3))
    up_true, up_est = truth[2, :3] / s_true, est[2, :3] / s_est  # the scene-frame direction each calls +Z
    return {"tilt_deg": round(angle_degrees(up_est, up_true), 3), "scale_error": round(abs(s_est / s_true - 1), 4),
            "scale_source": res.alignment.scale_source, "teacher_depth_collider": teacher_depth_reference(cfg, output)}


def rescore(prompt: str, seed: int, world: Path) -> dict:
    """The kept world's collider and the teacher-depth reference scored again with today's
    ``collider_accuracy`` (its protocol has changed since some rows were measured)."""
    import numpy as np
    import torch

    from lyra_sim.eval.collider import collider_accuracy
    from lyra_sim.export.collider import CollisionProxy
    from lyra_sim.export.mesh_io import read_obj

    cfg, output = rebuild_teacher(prompt, seed, world)
    report = json.loads((world / "report.json").read_text())
    sim_from_scene = torch.tensor(np.array(report["frame"]["sim_from_scene"]), dtype=torch.float64)
    cams, depth = forward_views(output)
    mesh = output.meshes[0]
    ours = collider_accuracy(CollisionProxy(*read_obj(world / "collider.obj")), sim_from_scene, mesh.vertices,
                             mesh.faces, cams, depth)
    return {"collider_accuracy": ours, "teacher_depth_collider": teacher_depth_reference(cfg, output)}


def reexport(prompt: str, seed: int, world: Path) -> tuple[dict, Path]:
    """Today's export of a kept world's Gaussians with generate's settings, and the teacher-depth
    reference: (row fields, new world)."""
    import shutil
    from dataclasses import replace

    from lyra_sim.export import export_scene
    from lyra_sim.export.depth import SourceFrame
    from lyra_sim.gaussians import read_ply
    from lyra_sim.pipeline.pipeline import _collider_accuracy

    cfg, output = rebuild_teacher(prompt, seed, world)
    out = world.parent / f"{world.name}_reexport"
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    res = export_scene(read_ply(world / "scene.ply"), out, replace(cfg.export, overwrite=True),
                       source=SourceFrame.from_teacher(output, name="generated"))
    seconds = time.perf_counter() - t0
    r = res.report
    return {"collider_accuracy": _collider_accuracy(res, output, cfg), "gaussians_vs_collider": r.get("gaussians_vs_collider"),
            "spawn_points": len(r.get("spawn_points", [])), "physics_status": r["physics_check"].get("status"),
            "drop_test": r["physics_check"].get("summary"), "export_seconds": round(seconds, 1),
            "teacher_depth_collider": teacher_depth_reference(cfg, output)}, out


def humanoid(world: Path) -> dict:
    """The PD humanoid standing 3 s at every spawn point (one env per spawn point)."""
    from lyra_sim.sim import WorldCfg, compose_world, open_scene, write_world
    from lyra_sim.sim.physics import RobotPhysicsCfg, simulate_robots

    n = len(open_scene(world).spawn_points)
    if n == 0:
        return {"spawn_points": 0, "stood": 0}
    wcfg = WorldCfg(num_envs=n, robot_drives=True)
    wcfg.randomization.robot.spawn_choice = "cycle"
    pcfg = RobotPhysicsCfg(seconds=3.0)
    with tempfile.TemporaryDirectory() as tmp:
        runs = simulate_robots(write_world(compose_world([world], "builtin", wcfg), Path(tmp) / "w.usda"), pcfg)
    return {"spawn_points": n, "stood": sum(r.stood(pcfg) for r in runs)}


def measure(name: str, prompt: str, seed: int, overrides: list[str], keep: Path) -> dict:
    from lyra_sim.teachers.procedural.generators import classify

    out = keep / name
    if out.exists():
        import shutil

        shutil.rmtree(out)
    wall, rss, code = run_generate(prompt, seed, out, overrides)
    row = {"name": name, "kind": classify(prompt), "prompt": prompt, "seed": seed, "exit_code": code,
           "wall_s": round(wall, 1), "peak_rss_gb": round(rss, 2)}
    if not (out / "report.json").is_file():
        return row
    r = json.loads((out / "report.json").read_text())
    ref = r.get("refine", {})
    row.update({"stage_seconds": r["generate"]["stage_seconds"], "refine": ref,
                "collider_accuracy": r.get("collider_accuracy"), "gaussians_vs_collider": r.get("gaussians_vs_collider"),
                "spawn_points": len(r.get("spawn_points", [])), "physics_status": r["physics_check"].get("status"),
                "drop_test": r["physics_check"].get("summary")})
    row["frame_from_gaussians"] = frame_errors(prompt, seed, out)
    row["humanoid"] = humanoid(out)
    return row


def table(rows: list[dict]) -> str:
    head = ("| scene | kind | FF PSNR / SSIM / AbsRel | refined PSNR / SSIM / AbsRel | Chamfer cm / F@5cm | (teacher depth) "
            "| tilt ° / scale err | G-vs-C median cm | spawn | humanoid stood | drop test | s / GB |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        ref, acc, gvc = r.get("refine") or {}, r.get("collider_accuracy") or {}, r.get("gaussians_vs_collider") or {}
        b, a = ref.get("before", {}), ref.get("after", {})
        fr, hu = r.get("frame_from_gaussians", {}), r.get("humanoid", {})
        f = lambda d, k, m=1.0, p=2: "-" if not isinstance(d, dict) or d.get(k) is None else f"{d[k] * m:.{p}f}"
        lines.append(f"| {r['name']} | {r['kind']} | {f(b, 'psnr_db')} / {f(b, 'ssim')} / {f(b, 'depth_abs_rel', p=3)} "
                     f"| {f(a, 'psnr_db')} / {f(a, 'ssim')} / {f(a, 'depth_abs_rel', p=3)} "
                     f"| {f(acc, 'chamfer_m', 100, 1)} / {f(acc, 'fscore')} "
                     f"| {f(fr.get('teacher_depth_collider'), 'chamfer_m', 100, 1)} / {f(fr.get('teacher_depth_collider'), 'fscore')} "
                     f"| {f(fr, 'tilt_deg')} / {f(fr, 'scale_error', 100, 1)}% "
                     f"| {f(gvc, 'median_m', 100, 1)} | {r.get('spawn_points', '-')} | {hu.get('stood', '-')}/{hu.get('spawn_points', '-')} "
                     f"| {r.get('physics_status', '-')} | {r['wall_s']:.0f} / {r['peak_rss_gb']:.1f} |")
    return "\n".join(lines)


def kept_rows(args, needed: str):
    """(row path, prompt, seed, kept world, row) of each scene (``--only``) whose row and kept
    world (holding ``needed``) are both there and were made with today's prompt and seed."""
    for name, prompt, seed in SCENES:
        path, world = OUT / "sim_grade" / f"{name}.json", args.keep / name
        if not (path.is_file() and (world / needed).is_file()) or (args.only is not None and name not in args.only):
            continue
        row = json.loads(path.read_text())
        if row.get("seed") == seed and row.get("prompt") == prompt:
            yield path, prompt, seed, world, row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="scene names to (re)run")
    parser.add_argument("--config", nargs="*", default=[], help="key=value overrides for every generate")
    parser.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "lyra_sim_grade", help="where the worlds go")
    parser.add_argument("--rescore", action="store_true",
                        help="score the kept worlds' colliders (and the teacher-depth reference) again with today's "
                             "collider_accuracy and update their rows; with --humanoid, stand the humanoid again too")
    parser.add_argument("--humanoid", action="store_true", help="with --rescore: rerun the humanoid at every spawn point")
    parser.add_argument("--reexport", action="store_true",
                        help="export the kept worlds' Gaussians again with today's code and update the export-side columns, "
                             "the teacher-depth reference and the humanoid")
    args = parser.parse_args()
    if args.reexport:
        for path, prompt, seed, world, row in kept_rows(args, "scene.ply"):
            t0 = time.perf_counter()
            fields, new_world = reexport(prompt, seed, world)
            reference, export_seconds = fields.pop("teacher_depth_collider"), fields.pop("export_seconds")
            row.update(fields)
            row.setdefault("frame_from_gaussians", {})["teacher_depth_collider"] = reference
            row["humanoid"] = humanoid(new_world)
            row["reexported"] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "export_seconds": export_seconds,
                                 "seconds": round(time.perf_counter() - t0, 1), "machine": machine()}
            write_json(path, row)
            print(table([row]).splitlines()[-1], flush=True)
        args.only = []
    if args.rescore:
        for path, prompt, seed, world, row in kept_rows(args, "collider.obj"):
            t0 = time.perf_counter()
            scores = rescore(prompt, seed, world)
            row["collider_accuracy"] = scores["collider_accuracy"]
            row.setdefault("frame_from_gaussians", {})["teacher_depth_collider"] = scores["teacher_depth_collider"]
            if args.humanoid:
                row["humanoid"] = humanoid(world)
            row["rescored"] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "humanoid": args.humanoid,
                               "seconds": round(time.perf_counter() - t0, 1), "machine": machine()}
            write_json(path, row)
            print(table([row]).splitlines()[-1], flush=True)
        args.only = []  # rewrite the table from the rows; run nothing
    per_scene = OUT / "sim_grade"
    per_scene.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, prompt, seed in SCENES:
        path = per_scene / f"{name}.json"
        if path.is_file() and (args.only is None or name not in args.only):
            rows.append(json.loads(path.read_text()))
            continue
        if args.only is not None and name not in args.only:
            continue
        print(f"{name}: {prompt!r} seed {seed} ...", flush=True)
        row = measure(name, prompt, seed, args.config, args.keep)
        write_json(path, row)
        rows.append(row)
        print(table([row]).splitlines()[-1], flush=True)
    write_json(OUT / "sim_grade.json", {"machine": machine(), "overrides": args.config, "scenes": rows})
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
