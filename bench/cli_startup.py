"""How fast light ``lyra-sim`` commands answer (issue 18: <= 0.5 s on a quiet 2-core machine).

Light commands need no tensors: ``--help``, ``info`` of a splat file, ``check --json`` of a small
world (validators only), and every argument error. Each is run as a fresh process (the user's
experience: interpreter start-up included) ``--repeats`` times; the median wall time is reported
with whether torch or the pipeline were imported. ``tests/cli/test_cli_startup.py`` runs the same
command lines and asserts that none imports torch.

    python bench/cli_startup.py [--repeats 5] [--out bench/results/cli_startup.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_json  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PLY = REPO / "scenes" / "example_room" / "scene.ply"
USD = REPO / "scenes" / "gallery" / "corridor" / "scene.usdz"
TARGET_S = 0.5

LIGHT_COMMANDS: dict[str, list[str]] = {
    "help": ["--help"],
    "generate --help": ["generate", "--help"],
    "info": ["info", "{ply}"],
    "check --json --no-drop": ["check", "{usd}", "--json", "--no-drop"],
    "check a world folder --no-drop": ["check", "{world}", "--no-drop"],
    "error: render missing file": ["render", "{tmp}/missing.ply", "--out", "{tmp}/r"],
    "error: render bad override": ["render", "{ply}", "--out", "{tmp}/r", "frames=-1"],
    "error: train missing config": ["train", "--config", "{tmp}/missing.yaml"],
    "error: model-info missing config": ["model-info", "{tmp}/missing.yaml"],
    "error: convert missing file": ["convert", "{tmp}/missing.ply", "{tmp}/out.spz"],
    "error: check missing file": ["check", "{tmp}/missing.usda"],
    "error: check folder that is not a world": ["check", "{tmp}", "--no-drop"],
    "error: export missing --out": ["export", "{ply}"],
    "error: world missing scene": ["world", "{tmp}/missing", "--out", "{tmp}/w"],
    "error: view missing path": ["view", "{tmp}/missing"],
    "error: unknown flag": ["generate", "--prompt", "x", "--out", "{tmp}/g", "--no-such-flag"],
    "error: generate with nothing to generate from": ["generate", "--out", "{tmp}/g"],
    "error: generate bad override": ["generate", "--prompt", "x", "--out", "{tmp}/g", "no_such_key=1"],
    "error: sdg without --num-scenes": ["sdg", "--prompts", "{tmp}/p.txt", "--out", "{tmp}/s"],
}
"""Name -> argv after ``lyra-sim``; the ones named "error: ..." must exit with code 2."""

PROBE = """
import sys
from lyra_sim.cli import main
try:
    rc = main(sys.argv[1:])
except SystemExit as e:
    rc = e.code if isinstance(e.code, int) else 1
print("LIGHT-PROBE", rc, "torch" in sys.modules, "lyra_sim.pipeline.pipeline" in sys.modules, file=sys.stderr)
sys.exit(rc)
"""
"""``python -c PROBE ARGS...`` runs ``lyra-sim ARGS`` and ends stderr with ``LIGHT-PROBE rc torch pipeline``."""


def command_line(name: str, tmp: str | Path) -> list[str]:
    """argv (after ``lyra-sim``) of the light command ``name``, with its files filled in."""
    return [a.format(ply=PLY, usd=USD, world=USD.parent, tmp=tmp) for a in LIGHT_COMMANDS[name]]


def probe(name: str, tmp: str | Path, python: str = sys.executable) -> dict:
    """Run the light command ``name`` once in a fresh interpreter; its exit code, whether torch
    and the pipeline were imported, and its wall time in seconds."""
    t0 = time.perf_counter()
    done = subprocess.run([python, "-c", PROBE, *command_line(name, tmp)], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    seconds = time.perf_counter() - t0
    line = [x for x in done.stderr.splitlines() if x.startswith("LIGHT-PROBE")]
    if not line:
        raise RuntimeError(f"{name}: no probe line; stderr:\n{done.stderr}")
    _, rc, torch, pipeline = line[-1].split()
    return {"rc": int(rc), "torch": torch == "True", "pipeline": pipeline == "True", "seconds": seconds,
            "stderr": done.stderr.replace(line[-1], "").strip()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "cli_startup.json")
    args = parser.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in LIGHT_COMMANDS:
            runs = [probe(name, tmp) for _ in range(args.repeats)]
            median = statistics.median(r["seconds"] for r in runs)
            rows[name] = {"median_s": round(median, 3), "max_s": round(max(r["seconds"] for r in runs), 3),
                          "rc": runs[0]["rc"], "imports_torch": runs[0]["torch"], "imports_pipeline": runs[0]["pipeline"],
                          "meets_target": median <= TARGET_S}
            print(f"{name:<36} {median:6.3f} s  rc={runs[0]['rc']}  torch={runs[0]['torch']}", flush=True)
    payload = {
        "benchmark": "cli_startup", "target_s": TARGET_S, "repeats": args.repeats,
        "machine": machine(),
        "commands": rows, "all_meet_target": all(r["meets_target"] for r in rows.values()),
    }
    write_json(args.out, payload)
    print(f"wrote {args.out} (load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
