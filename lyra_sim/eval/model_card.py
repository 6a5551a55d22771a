"""Write the model card of a trained decoder from its run folder and its ``lyra-sim eval`` report.

Everything in the card is read from files, not typed in: the training config (data, stages),
``train_log.jsonl`` (steps, wall time, final losses), the run's hardware record and the eval
report (mean and per-scene scores). The eval report is shipped beside the weights
(``eval.json``) so that a test can re-score a held-out scene and compare.

    python -m lyra_sim.eval.model_card --run runs/embedded_cpu --eval runs/embedded_cpu/eval/metrics.json \
        --out lyra_sim/assets/MODEL_CARD.md --notes notes.md
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
from pathlib import Path

import torch

from lyra_sim.io import atomic_output

log = logging.getLogger(__name__)


def training_summary(run_dir: str | Path, step: int | None = None) -> dict:
    """Steps, wall-clock hours and last logged scalars per stage, from ``train_log.jsonl``.

    Wall time sums the gaps between consecutive log lines, leaving out pauses longer than ten
    minutes (a run stopped and resumed later). ``step``: the checkpoint shipped; later lines are
    left out.
    """
    rows = [json.loads(line) for line in (Path(run_dir) / "train_log.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if step is None or r["step"] <= step]
    if not rows:
        raise ValueError(f"{run_dir}: train_log.jsonl is empty")
    seconds = 0.0
    for a, b in zip(rows, rows[1:]):
        gap = b["time"] - a["time"]
        seconds += gap if 0 < gap < 600 else 0.0
    stages: dict[str, dict] = {}
    for r in rows:
        stages[r["stage"]] = {"last_step": r["step"], "loss": r["loss"], "psnr": r.get("psnr")}
    return {"steps": rows[-1]["step"], "hours": seconds / 3600, "stages": stages}


def render_card(name: str, cfg: dict, summary: dict, report: dict, hardware: str, notes: str = "",
                asset: str = "embedded_decoder", intro: str = "") -> str:
    """The Markdown card (see the module docstring).

    Args:
        asset: the decoder's folder under ``lyra_sim/assets/``.
        intro: the sentence under the title (default: the static embedded decoder's).
    """
    from lyra_sim.eval.runner import markdown_table

    mean = report["mean"]
    base_seed = report.get("data", {}).get("seed", 0)
    seed_text = "i" if not base_seed else f"{base_seed} + i"
    dynamic = _is_dynamic(cfg["model"])
    stage_rows = "\n".join(
        f"| {s['name']} | {s['image_size'][0]}x{s['image_size'][1]} | {s['num_input_trajectories']} x {s['num_input_frames']} | "
        f"{_targets(s, dynamic)} | {s['batch_size']} | {s['steps']} | "
        f"{summary['stages'].get(s['name'], {}).get('last_step', 'not reached')} |"
        for s in cfg["stages"]
    )
    ev = report["config"]
    size = "stored size" if ev.get("image_size") is None else f"{ev['image_size'][0]}x{ev['image_size'][1]}"
    lines = [
        f"# Model card: {name}",
        "",
        intro or "The latent 3DGS decoder that ships inside lyra-sim (`lyra-sim eval --decoder embedded`).",
        "",
        "## Model",
        f"- config: `{Path(cfg['model']).name}` with overrides {cfg.get('model_overrides') or []}",
        "- inputs: DCT-codec latents (weight-free, 16 channels, 8x spatial / 8x temporal) + Plücker rays",
        "",
        "## Training data",
        f"- roots: {_roots_text(cfg['data']['roots'])}; the last {cfg['data']['holdout_scenes']} scenes held out",
        "- teacher: the procedural teacher (seeded analytic scenes, exact metric depth), prompts from "
        f"`configs/prompts/sdg_prompts.txt`, scene i drawn with seed {seed_text}",
        *([f"- made with: `{report['data']['command']}`"] if report.get("data", {}).get("command") else []),
        "",
        "## Training",
        f"- recipe: `configs/train/{name}.yaml`; optimiser AdamW lr {cfg['optim']['lr']}, warmup {cfg['optim']['warmup_steps']}",
        f"- loss: MSE + {cfg['loss']['lambda_perceptual']} x {cfg['loss']['perceptual']} + {cfg['loss']['lambda_depth']} x depth"
        + (f" + {cfg['loss']['lambda_decoded_depth']} x metric decoded depth (sky weight {cfg['loss'].get('sky_weight', 0.1)})"
           if cfg["loss"].get("lambda_decoded_depth") else ""),
        *([f"- initialised from: `{cfg['init_from']}` (the decoder shipped before this run; its own card is in git history)"]
          if cfg.get("init_from") else []),
        f"- steps: {summary['steps']}, wall time {summary['hours']:.2f} h on {hardware}",
        "",
        f"| stage | image | inputs (traj x frames) | {'targets' if dynamic else 'targets / traj'} | batch | planned steps | reached step |",
        "|---|---|---|---|---|---|---|",
        stage_rows,
        "",
        "## Held-out evaluation",
        f"{report['num_scenes']} held-out scenes, decoder render vs teacher frames at {size}, inputs: {ev['inputs']} "
        f"(Lyra's self-consistency protocol; `lyra_sim/assets/{asset}/eval.json` has every number).",
        "",
        f"Mean: PSNR {mean.get('psnr', float('nan')):.2f} dB, SSIM {mean.get('ssim', float('nan')):.3f}, "
        f"depth AbsRel {mean.get('abs_rel', float('nan')):.3f}."
        + ("" if dynamic else " Targets: PSNR >= 22 dB, SSIM >= 0.75, AbsRel <= 0.10."),
        "",
        markdown_table(report).replace("# Evaluation of", "### Evaluation of", 1),
    ]
    if notes:
        lines += ["", "## What limits it", "", notes.strip()]
    return "\n".join(lines) + "\n"


def _roots_text(roots: list[str]) -> str:
    """Dataset roots by name; a list of scene folders of one root as ``<root>/<first>..<last> (n scenes)``."""
    paths = [Path(r) for r in roots]
    if len(paths) > 3 and len({p.parent for p in paths}) == 1:
        return f"{paths[0].parent.name}/{paths[0].name}..{paths[-1].name} ({len(paths)} scenes)"
    return ", ".join(p.name for p in paths)


def _is_dynamic(model_config: str) -> bool:
    """Whether the decoder config has a time embedding (False when the file is not here)."""
    from lyra_sim.models import load_decoder_cfg

    try:
        return bool(load_decoder_cfg(model_config).time_embedding)
    except Exception:  # noqa: BLE001 - a card may be rendered where the run's config path does not exist
        return False


def _targets(stage: dict, dynamic: bool) -> str:
    """Targets per sample: frames per trajectory (static) or one instant from every trajectory (dynamic)."""
    if dynamic:
        return "1 time, all trajectories" if stage.get("flipped_supervision", True) else "1 time, forward trajectories"
    return str(stage["num_target_frames"])


def hardware_string() -> str:
    return f"{platform.machine()} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}"


def main(argv: list[str] | None = None) -> int:
    from omegaconf import OmegaConf

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="training run folder (train_config.yaml, train_log.jsonl)")
    p.add_argument("--eval", type=Path, required=True, help="metrics.json written by lyra-sim eval")
    p.add_argument("--out", type=Path, required=True, help="MODEL_CARD.md to write")
    p.add_argument("--name", default="embedded_cpu", help="recipe name (configs/train/<name>.yaml)")
    p.add_argument("--hardware", default=None, help="what it was trained on (default: this machine)")
    p.add_argument("--notes", type=Path, default=None, help="Markdown file: what limits the model")
    p.add_argument("--step", type=int, default=None, help="the step of the checkpoint shipped (default: the last logged)")
    p.add_argument("--asset", default="embedded_decoder", help="the decoder's folder under lyra_sim/assets/")
    p.add_argument("--intro", default="", help="the sentence under the title")
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    cfg = OmegaConf.to_container(OmegaConf.load(args.run / "train_config.yaml"))
    card = render_card(args.name, cfg, training_summary(args.run, args.step), json.loads(args.eval.read_text()),
                       args.hardware or hardware_string(), args.notes.read_text() if args.notes else "", args.asset, args.intro)
    with atomic_output(args.out, args.overwrite) as tmp:
        tmp.write_text(card)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
