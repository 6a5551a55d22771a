"""The decoder shipped in the package: present, small, and its model card reproducible.

``eval.json`` beside the weights is the ``lyra-sim eval`` report the model card was written
from. The held-out scenes are regenerated here from their index (the procedural teacher is
seeded by it) and re-scored: the numbers must come back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lyra_sim.eval.runner import EvalCfg, evaluate
from lyra_sim.models import parameter_count
from lyra_sim.models.checkpoint import load_embedded_decoder
from lyra_sim.models.embedded import EMBEDDED_DECODER_DIR, MODEL_CARD, embedded_decoder_dir

REPO = Path(__file__).resolve().parents[2]
EVAL_JSON = EMBEDDED_DECODER_DIR / "eval.json"


def test_shipped_decoder_loads_and_stays_small():
    folder = embedded_decoder_dir()
    assert (folder / "model.safetensors").stat().st_size < 20 * 2**20
    model = load_embedded_decoder()
    assert not model.training and parameter_count(model)["total"] > 100_000
    card = MODEL_CARD.read_text()
    report = json.loads(EVAL_JSON.read_text())
    assert f"{report['mean']['psnr']:.2f} dB" in card  # the card states the shipped report's numbers


def test_lyra_sim_eval_reproduces_the_model_card(tmp_path):
    from lyra_sim.cli import main

    report = json.loads(EVAL_JSON.read_text())
    sdg = report["data"]  # how the evaluation scenes were made
    row = report["scenes"][0]
    index = int(Path(row["scene"]).name)
    root = tmp_path / "sdg"
    assert main(["sdg", "--prompts", str(REPO / sdg["prompts"]), "--num-scenes", str(index + 1), "--shard", f"{index}/{index + 1}",
                 "--out", str(root), "--frames", str(sdg["frames"]), "--width", str(sdg["width"]), "--height", str(sdg["height"]),
                 "--codec", sdg["codec"], "--seed", str(sdg.get("seed", 0)), "--quiet"]) == 0
    torch.set_num_threads(1)
    settings = {k: report["config"][k] for k in ("image_size", "inputs", "num_input_trajectories", "near", "far")}
    again = evaluate(EvalCfg(decoder="embedded", data=[str(root)], geometry=False, lpips="off", device="cpu", **settings))
    got = again["scenes"][0]
    assert got["psnr"] == pytest.approx(row["psnr"], abs=0.05)
    assert got["ssim"] == pytest.approx(row["ssim"], abs=0.002)
    assert got["abs_rel"] == pytest.approx(row["abs_rel"], abs=0.002)


def test_shipped_dynamic_decoder_reproduces_its_card(tmp_path):
    """The time-conditioned decoder beside the static one: a held-out dynamic scene is remade
    from its index and scored per time; the card's numbers must come back."""
    from lyra_sim.cli import main
    from lyra_sim.models.embedded import EMBEDDED_DYNAMIC_DECODER_DIR, embedded_dynamic_decoder_dir

    folder = embedded_dynamic_decoder_dir()
    assert (folder / "model.safetensors").stat().st_size < 20 * 2**20
    report = json.loads((EMBEDDED_DYNAMIC_DECODER_DIR / "eval.json").read_text())
    assert f"{report['mean']['psnr']:.2f}" in MODEL_CARD.read_text()
    sdg = report["data"]
    row = report["scenes"][0]
    index = int(Path(row["scene"]).name)
    root = tmp_path / "sdg"
    assert main(["sdg", "--prompts", str(REPO / sdg["prompts"]), "--num-scenes", str(index + 1), "--shard", f"{index}/{index + 1}",
                 "--out", str(root), "--frames", str(sdg["frames"]), "--width", str(sdg["width"]), "--height", str(sdg["height"]),
                 "--codec", sdg["codec"], "--dynamic", "--seed", str(sdg["seed"]), "--trajectories", ",".join(sdg["trajectories"]),
                 "--quiet"]) == 0
    torch.set_num_threads(1)
    settings = {k: report["config"][k] for k in ("image_size", "inputs", "num_input_trajectories", "near", "far", "dynamic_times")}
    again = evaluate(EvalCfg(decoder=str(folder), data=[str(root)], geometry=False, lpips="off", device="cpu", **settings))
    got = again["scenes"][0]
    assert [e["time"] for e in got["per_time"]] == [e["time"] for e in row["per_time"]]
    for new, old in zip(got["per_time"], row["per_time"]):
        assert new["psnr"] == pytest.approx(old["psnr"], abs=0.05)
        assert new["psnr_flipped"] == pytest.approx(old["psnr_flipped"], abs=0.05)
