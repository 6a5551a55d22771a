"""Every GPU parity and speed check in one run, for whoever is lent a GPU (bench/README.md).

    python bench/gpu_suite.py                       # on a CUDA machine: all checks, <= 8 min on one H100
    python bench/gpu_suite.py --only render_parity mamba_parity
    python bench/gpu_suite.py --dry-run             # = --device cpu --quick: the same checks, tiny, on CPU

Checks (each in its own process, killed at its time budget; the functions come from the
bench scripts named, nothing is copied):

=================  ==========================================  ======================================
check              what                                        pass
=================  ==========================================  ======================================
render_parity      torch compositor vs gsplat, values and      ``render_parity.TOLERANCE``
                   gradients; surface depth CUDA vs CPU;
                   opaque wall (bench/render_parity.py)
render_speed       65k Gaussians at 256x256, forward and       runs (no target stated on GPU)
                   forward+backward, torch and gsplat
                   (bench/render.py)
mamba_parity       pure-torch SSD vs mamba_ssm kernels, one    output rel <= 5e-3, gradients <= 2e-2
                   Lyra-sized block (bench/mamba_parity.py)
decoder_speed      Lyra's full decoder, 6 x 121 frames at      forward < 1.5 s (issue 3) on the full
                   704x1280, and its attention-only variant    config
                   (bench/decoder.py)
train_step         seconds per optimiser step of two stages    finite loss
                   of configs/train/embedded.yaml on a fresh
                   procedural dataset (bench/train.py)
=================  ==========================================  ======================================

Each writes ``<out-dir>/gpu_<check>.json`` (device name, torch / CUDA / gsplat / mamba_ssm
versions, budget and seconds taken, status ``pass``/``fail``/``skip``/``error``/``timeout``,
the tolerance, the numbers); ``gpu_summary.json`` collects the statuses and a table is printed.
Exit status: 0 when every check passed, 1 otherwise, 2 when there is no CUDA device (with one
line saying so). With ``--device cpu`` (``--dry-run``) the references that need CUDA are
replaced by the torch backend itself (gsplat -> torch, mamba_ssm -> torch), so the run proves
the plumbing, not parity; results then go to ``bench/results/dry_run/`` unless ``--out-dir``
says otherwise, never over a GPU run's files.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import write_json  # noqa: E402

RESULTS = HERE / "results"

# Seconds each check may take on one H100 (the sum, 460 s plus process start-up, stays under 8 min).
BUDGETS = {"render_parity": 80, "render_speed": 60, "mamba_parity": 100, "decoder_speed": 100, "train_step": 120}
QUICK_BUDGET = 60  # per check with --quick on a CPU


def environment() -> dict:
    """Device name and library versions, for every result file."""
    import torch

    env = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
           "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "cpu",
           "platform": platform.platform()}
    for name in ("gsplat", "mamba_ssm"):
        try:
            env[name] = __import__(name).__version__
        except Exception as err:  # noqa: BLE001 - any import failure means "not usable here"
            env[name] = f"not importable ({type(err).__name__})"
    return env


class Skip(Exception):
    """A check that cannot run here (a missing library); the message says what to install."""


def gsplat_not_ready() -> str | None:
    """None when gsplat's CUDA kernels are built (a wheel's ``gsplat.csrc`` or a finished JIT build),
    else what to do: a first JIT build takes minutes and would eat a check's budget."""
    import importlib.util

    try:
        if importlib.util.find_spec("gsplat.csrc") is not None:
            return None
        from torch.utils.cpp_extension import _get_build_directory

        if (Path(_get_build_directory("gsplat_cuda", verbose=False)) / "gsplat_cuda.so").exists():
            return None
    except Exception as err:  # noqa: BLE001 - gsplat missing or broken: say so
        return f"gsplat is not usable ({type(err).__name__}: {err})"
    return ("gsplat's CUDA kernels are not built: run  python -c 'from gsplat.cuda._backend import _C'  once "
            "(needs nvcc; a few minutes), see bench/README.md")


# ----------------------------------------------------------------------------- the checks
# Each takes (device, quick) and returns (passed, tolerance text, numbers).
def check_render_parity(device: str, quick: bool):
    import render_parity

    reference = "gsplat" if device == "cuda" else "torch"
    if reference == "gsplat" and (why := gsplat_not_ready()):
        raise Skip(why)
    cases = ((256, 32, 0), (256, 32, 3)) if quick else render_parity.CASES
    rows = render_parity.parity_rows(cases, device, reference)
    wall = render_parity.opaque_wall(device, reference)
    return render_parity.parity_ok(rows, wall), render_parity.TOLERANCE, {"reference": reference, "rows": rows, "opaque_wall": wall}


def check_render_speed(device: str, quick: bool):
    import render

    n, res = (1024, 64) if quick else (65536, 256)
    why = gsplat_not_ready() if device == "cuda" else "gsplat needs CUDA"
    backends = ("torch",) if why else ("torch", "gsplat")
    rows = [render.run_one(n, res, backend, device, repeats=1 if quick else 3) for backend in backends]
    ok = all(math.isfinite(r["forward_backward_s"]) for r in rows)
    return ok, "runs; no speed target is stated for the GPU", {"rows": rows, "gsplat_skipped": why}


def check_mamba_parity(device: str, quick: bool):
    import mamba_parity

    reference = "mamba_ssm" if device == "cuda" else "torch"
    if reference == "mamba_ssm" and not mamba_parity.mamba_ssm_available():
        raise Skip("mamba_ssm does not import; pip install -e '.[gpu]' --no-build-isolation (mamba-ssm, causal-conv1d)")
    rows = mamba_parity.gpu_parity([256] if quick else [4096, 8192, 16384], 1, device, reference)
    for r in rows:
        r.pop("grad_rel")  # per-parameter detail; the max is kept
    ok = all(r["out_rel"] <= mamba_parity.OUT_TOL and r["grad_rel_max"] <= mamba_parity.GRAD_TOL for r in rows)
    return ok, f"output rel <= {mamba_parity.OUT_TOL}, gradient rel <= {mamba_parity.GRAD_TOL}", {"reference": reference, "rows": rows}


def check_decoder_speed(device: str, quick: bool):
    import decoder

    if quick:
        rows = [decoder.run_config("embedded.yaml", [], device, 1, 9, 96, 160, None, repeats=1)]
        return True, "runs (quick: no target)", {"rows": rows}
    rows = [decoder.run_config(*plan, repeats=2) for plan in decoder.GPU_PLAN]
    ok = rows[0]["forward_s"] < decoder.GPU_TARGET_S
    return ok, f"full config forward < {decoder.GPU_TARGET_S} s (issue 3, H100)", {"rows": rows}


def check_train_step(device: str, quick: bool):
    import train

    from lyra_sim.data.sdg import generate_dataset
    from lyra_sim.teachers import ProceduralTeacher

    repo = HERE.parent
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sdg"
        if quick:
            config, stages, steps = repo / "configs/train/tiny.yaml", [0], 1
            request = {"num_frames": 9, "width": 64, "height": 48, "trajectories": ("left", "zoom_in")}
        else:
            config, stages, steps = repo / "configs/train/embedded.yaml", [0, 2], 3
            request = {"num_frames": 49, "width": 320, "height": 176, "trajectories": ("left", "zoom_in")}
        t0 = time.perf_counter()
        generate_dataset(ProceduralTeacher(codec="dct", shadows=False, device=device), ["a small living room", "an office with desks"],
                         2, data, request_defaults=request)
        data_s = time.perf_counter() - t0
        _, _, rows = train.time_stages(config, data, steps, stages, [f"device={device}", "data.num_workers=0"])
    ok = all(math.isfinite(r["loss"]) for r in rows)
    return ok, "finite loss (seconds per step are reported, no target)", {"config": config.name, "dataset_s": round(data_s, 1), "rows": rows}


CHECKS = {"render_parity": check_render_parity, "render_speed": check_render_speed, "mamba_parity": check_mamba_parity,
          "decoder_speed": check_decoder_speed, "train_step": check_train_step}


# ----------------------------------------------------------------------------- running
def run_check(name: str, device: str, quick: bool, out_dir: Path, budget: float) -> dict:
    """Run one check in this process and write its JSON (the child side of :func:`main`)."""
    t0 = time.perf_counter()
    result = {"check": name, "quick": quick, "device_kind": device, "budget_s": budget, **environment()}
    try:
        ok, tolerance, numbers = CHECKS[name](device, quick)
        result.update(status="pass" if ok else "fail", tolerance=tolerance, results=numbers)
    except Skip as err:
        result.update(status="skip", reason=str(err))
    except Exception as err:  # noqa: BLE001 - a crashed check is reported as one, the others still run
        result.update(status="error", reason=f"{type(err).__name__}: {err}")
    result["seconds"] = round(time.perf_counter() - t0, 1)
    write_json(out_dir / f"gpu_{name}.json", result)
    return result


def spawn_check(name: str, device: str, quick: bool, out_dir: Path, budget: float) -> dict:
    """Run one check in a child process, killed at ``budget`` seconds; its result dict."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", name, "--device", device, "--out-dir", str(out_dir),
           "--budget", str(budget)] + (["--quick"] if quick else [])
    path = out_dir / f"gpu_{name}.json"
    path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, timeout=budget, capture_output=True, text=True)
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    except subprocess.TimeoutExpired:
        result = {"check": name, "quick": quick, "device_kind": device, "budget_s": budget, **environment(),
                  "status": "timeout", "reason": f"over its {budget:.0f} s budget", "seconds": round(time.perf_counter() - t0, 1)}
        write_json(path, result)
        return result
    if not path.exists():  # the child died before writing (a segfault, out of memory)
        result = {"check": name, "quick": quick, "device_kind": device, "budget_s": budget, **environment(),
                  "status": "error", "reason": f"exit {proc.returncode}: " + " | ".join(tail), "seconds": round(time.perf_counter() - t0, 1)}
        write_json(path, result)
        return result
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (what --dry-run uses)")
    parser.add_argument("--dry-run", action="store_true", help="--device cpu --quick: test the suite without a GPU")
    parser.add_argument("--only", nargs="+", choices=sorted(CHECKS), help="run these checks only")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where gpu_*.json go (default bench/results, or bench/results/dry_run on CPU)")
    parser.add_argument("--one", choices=sorted(CHECKS), help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dry_run:
        args.device, args.quick = "cpu", True
    out_dir = args.out_dir or (RESULTS if args.device == "cuda" else RESULTS / "dry_run")

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"gpu_suite: no CUDA device here (torch {torch.__version__}, CUDA build {torch.version.cuda}); "
              "nothing run. Use --dry-run to try the suite on CPU.", file=sys.stderr)
        return 2
    if args.one:
        return 0 if run_check(args.one, args.device, args.quick, out_dir, args.budget or 0)["status"] == "pass" else 1

    out_dir.mkdir(parents=True, exist_ok=True)
    names = args.only or list(CHECKS)
    t0 = time.perf_counter()
    results = []
    for name in names:
        budget = QUICK_BUDGET if args.quick else BUDGETS[name]
        print(f"[{time.perf_counter() - t0:6.0f} s] {name} (budget {budget} s) ...", flush=True)
        r = spawn_check(name, args.device, args.quick, out_dir, budget)
        results.append(r)
        print(f"           {r['status']:7s} in {r['seconds']} s" + (f": {r['reason']}" if r.get("reason") else ""), flush=True)
    env = environment()
    summary = {"suite": "gpu_suite", "quick": args.quick, "device_kind": args.device, **env,
               "seconds": round(time.perf_counter() - t0, 1),
               "checks": {r["check"]: {k: r.get(k) for k in ("status", "seconds", "budget_s", "tolerance", "reason")} for r in results}}
    write_json(out_dir / "gpu_summary.json", summary)
    print(f"\n{'check':15s} {'status':8s} {'s':>6s} {'budget':>6s}  tolerance / reason")
    for r in results:
        print(f"{r['check']:15s} {r['status']:8s} {r['seconds']:6.1f} {r['budget_s']:6.0f}  {r.get('tolerance') or r.get('reason', '')}")
    passed = sum(r["status"] == "pass" for r in results)
    print(f"\n{passed}/{len(results)} passed on {env['device']} in {summary['seconds']:.0f} s; results in {out_dir}/gpu_*.json")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
