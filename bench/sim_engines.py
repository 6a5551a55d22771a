"""PhysX vs Newton on generated worlds: does the humanoid stand at every spawn point in both?

    nice python bench/sim_engines.py                          # the gallery + 3 fresh worlds (about 40 min on a busy 2-core VM)
    nice python bench/sim_engines.py --worlds a/scene.usdz b/ # any worlds (a scene USD or its folder)
    nice python bench/sim_engines.py --fresh 0                # the gallery only

Each world goes through ``lyra-sim check --engine all`` (:func:`lyra_sim.sim.engine_check.check_engines`):
in PhysX and in Newton a capsule and a box are dropped at every spawn point and the built-in
humanoid stands 2 s at every one under its PD hold. Reported per world and overall: the
humanoid-stands rate per spawn point in each engine, the bodies-at-rest rate, the agreement rate
of the two engines (per spawn point on the humanoid, and over every test), the disagreements and
each engine's wall time. Fresh worlds are made as the gallery's are (the embedded default,
refinement included: without it the collider of the unrefined Gaussians had no spawn point in
two of two worlds) on seeds the gallery does not use, and kept in ``--work`` for reuse; a world
without spawn points is listed but has nothing to compare.

Writes ``bench/results/sim_engines.json`` (with machine and load average) and prints a table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, write_json  # noqa: E402

GALLERY = ["corridor", "living_room", "moving_room", "outdoor_slope", "warehouse"]
FRESH = [("an office with desks", 11), ("a kitchen", 12), ("a street with parked cars", 13), ("a long corridor", 14)]


def world_file(path: Path) -> Path:
    """The scene USD of a world folder (or the file itself)."""
    if path.is_file():
        return path
    for name in ("scene.usdz", "scene.usda", "scene.usdc"):
        if (path / name).is_file():
            return path / name
    raise SystemExit(f"{path}: no scene.usdz/usda/usdc; give a world written by `lyra-sim generate` or `export`")


def fresh_world(work: Path, prompt: str, seed: int) -> Path:
    """Generate (once) the world of ``prompt``/``seed`` with the embedded default into ``work``."""
    out = work / f"{prompt.replace(' ', '_')}_{seed}"
    if not (out / "scene.usdz").is_file():
        cmd = [sys.executable, "-m", "lyra_sim.cli", "generate", "--prompt", prompt, "--seed", str(seed), "--out", str(out),
               "decoder.keep_fraction=0.25", "export.collider.max_triangles=20000", "preview.enabled=false", "physics_check=false"]
        print("+", " ".join(cmd[2:]), flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT)
    return out / "scene.usdz"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", nargs="*", type=Path, default=None, help="worlds to check (default: the gallery)")
    parser.add_argument("--fresh", type=int, default=3, help=f"fresh worlds to generate and add (0-{len(FRESH)})")
    parser.add_argument("--work", type=Path, default=Path("/tmp/lyra-sim-bench-worlds"), help="where fresh worlds are kept")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sim_engines.json")
    args = parser.parse_args(argv)

    from lyra_sim.sim.engine_check import check_engines

    worlds = [world_file(w) for w in args.worlds] if args.worlds else [ROOT / "scenes" / "gallery" / g / "scene.usdz" for g in GALLERY]
    worlds += [fresh_world(args.work, p, s) for p, s in FRESH[: args.fresh]]
    load_before = os.getloadavg()
    results = []
    for w in worlds:
        t0 = time.perf_counter()
        checked = check_engines(w, "all", progress=lambda line, w=w: print(f"{w.parent.name}: {line}", flush=True))
        wall = time.perf_counter() - t0
        px, nt = checked.engines["physx"], checked.engines["newton"]
        if px.status == "skipped" or nt.status == "skipped":
            raise SystemExit(f"an engine is not installed: {checked.status_reason}")
        stand_agree = sum(a.passed == b.passed for a, b in zip(px.stands, nt.stands))
        tests = len(px.stands) + len(px.drops)
        entry = {"world": str(w.relative_to(ROOT) if w.is_relative_to(ROOT) else w), "spawn_points": len(px.stands),
                 "physx": {"stands": [s.passed for s in px.stands], "rests": [d.passed for d in px.drops], "seconds": round(px.seconds, 1),
                           "pelvis_min": [round(s.root_min, 3) for s in px.stands]},
                 "newton": {"stands": [s.passed for s in nt.stands], "rests": [d.passed for d in nt.drops], "seconds": round(nt.seconds, 1),
                            "pelvis_min": [round(s.root_min, 3) for s in nt.stands]},
                 "stand_agreement": stand_agree / len(px.stands) if px.stands else None,
                 "test_agreement": (tests - len(checked.disagreements)) / tests if tests else None,
                 "disagreements": checked.disagreements, "status": checked.status, "wall_seconds": round(wall, 1)}
        results.append(entry)
        print(f"{entry['world']}: humanoid stands physx {sum(entry['physx']['stands'])}/{entry['spawn_points']}, "
              f"newton {sum(entry['newton']['stands'])}/{entry['spawn_points']}; {len(checked.disagreements)} disagreements; "
              f"physx {px.seconds:.1f} s, newton {nt.seconds:.1f} s", flush=True)
    if not any(r["spawn_points"] for r in results):
        raise SystemExit("no world has a spawn point: nothing to compare")
    points = sum(r["spawn_points"] for r in results)
    total = lambda key, eng: sum(sum(r[eng][key]) for r in results)
    n_tests = sum(r["spawn_points"] * 3 for r in results)
    summary = {
        "worlds": len(results), "worlds_without_spawn_points": sum(not r["spawn_points"] for r in results), "spawn_points": points,
        "physx_stand_rate": total("stands", "physx") / points, "newton_stand_rate": total("stands", "newton") / points,
        "physx_rest_rate": total("rests", "physx") / (2 * points), "newton_rest_rate": total("rests", "newton") / (2 * points),
        "stand_agreement": sum(r["stand_agreement"] * r["spawn_points"] for r in results if r["spawn_points"]) / points,
        "test_agreement": (n_tests - sum(len(r["disagreements"]) for r in results)) / n_tests,
        "physx_seconds_per_world": sum(r["physx"]["seconds"] for r in results) / len(results),
        "newton_seconds_per_world": sum(r["newton"]["seconds"] for r in results) / len(results),
    }
    import newton
    import warp

    payload = {"machine": {**machine(), "load_average_before": [round(v, 2) for v in load_before],
                           "load_average_after": [round(v, 2) for v in os.getloadavg()], "cpu_count": os.cpu_count(),
                           "newton": newton.__version__, "warp": warp.__version__},
               "config": {"seconds": 2.0, "physx_dt": 1 / 60, "newton": "XPBD, 10 iterations, dt 1/500 s, device cpu"},
               "summary": summary, "worlds": results}
    write_json(args.out, payload)
    print("\n| world | spawn points | stands PhysX | stands Newton | at rest PhysX / Newton | agree | PhysX s | Newton s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        n = r["spawn_points"]
        if not n:
            print(f"| {Path(r['world']).parent.name} | 0 | no spawn points: nothing to stand on | | | | | |")
            continue
        print(f"| {Path(r['world']).parent.name} | {n} | {sum(r['physx']['stands'])}/{n} | {sum(r['newton']['stands'])}/{n} | "
              f"{sum(r['physx']['rests'])}/{2 * n} / {sum(r['newton']['rests'])}/{2 * n} | {r['stand_agreement']:.0%} | "
              f"{r['physx']['seconds']} | {r['newton']['seconds']} |")
    s = summary
    print(f"| **all {s['worlds']} worlds** | {points} | {s['physx_stand_rate']:.1%} | {s['newton_stand_rate']:.1%} | "
          f"{s['physx_rest_rate']:.1%} / {s['newton_rest_rate']:.1%} | {s['stand_agreement']:.1%} | "
          f"{s['physx_seconds_per_world']:.1f} | {s['newton_seconds_per_world']:.1f} |")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
