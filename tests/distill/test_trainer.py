"""The trainer on tiny procedural data: learning, stages, checkpoints, bit-exact resume, DDP, CLI."""

from __future__ import annotations

import json

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tiny_setup import REPO, TINY_CONFIG

from lyra_sim.distill import Trainer, latest_checkpoint, list_checkpoints, load_checkpoint, load_train_cfg, read_log, train
from lyra_sim.distill import checkpoint as ckpt_module
from lyra_sim.errors import InvalidInputError, LyraSimError, OutputExistsError
from lyra_sim.models import load_decoder


def test_config_overrides_and_validation(tiny_data):
    cfg = load_train_cfg(TINY_CONFIG, [f"data.roots=[{tiny_data}]", "stages.1.steps=7", "optim.lr=0.01", "loss.perceptual=none"])
    assert cfg.stages[1].steps == 7 and cfg.optim.lr == 0.01 and cfg.loss.perceptual == "none"
    assert cfg.total_steps == cfg.stages[0].steps + 7 and Path(cfg.model).is_file()
    assert cfg.stage_at(0) == 0 and cfg.stage_at(cfg.stages[0].steps) == 1
    with pytest.raises(InvalidInputError, match="1 \\+ k\\*8"):
        Trainer(load_train_cfg(TINY_CONFIG, [f"data.roots=[{tiny_data}]", "stages.0.num_input_frames=8"]), quiet=True)
    with pytest.raises(InvalidInputError, match="not_a_key"):
        load_train_cfg(TINY_CONFIG, ["optim.not_a_key=1"])


def test_training_lowers_the_loss_on_a_fixed_sample(tiny_cfg):
    cfg = tiny_cfg("stages.0.steps=10", "stages.1.steps=0", "optim.lr=3e-3", "checkpoint_every=100")
    trainer = Trainer(cfg, quiet=True)
    trainer._enter_stage(0)
    stage = cfg.stages[0]
    item = trainer.stream.dataset[0]

    def loss_on_item() -> float:
        with torch.no_grad():
            return float(trainer.sample_loss(stage, item)[0])

    before = loss_on_item()
    result = trainer.run()
    after = loss_on_item()
    assert result.step == 10 and len(result.losses) == 10
    assert after < 0.7 * before, (before, after)
    assert sum(result.losses[-3:]) < sum(result.losses[:3])


def test_metric_depth_loss_pulls_the_decoded_splats_onto_the_teacher_surface(tiny_cfg):
    """loss.lambda_decoded_depth: the dataset hands over the input frames' depth and training on
    it alone moves every Gaussian's own depth towards the teacher's (metric, no alignment)."""
    from lyra_sim.eval import decoded_depth_metrics

    cfg = tiny_cfg("stages.0.steps=12", "stages.1.steps=0", "optim.lr=3e-3", "checkpoint_every=100", "loss.lambda_mse=0",
                   "loss.perceptual=none", "loss.lambda_depth=0", "loss.lambda_decoded_depth=1", "model_overrides=[width=32,depth=2,"
                   "num_heads=2,attention_every=2,mamba_d_state=16,mamba_headdim=16,mamba_chunk_size=32,scale_activation=softcap]")
    trainer = Trainer(cfg, quiet=True)
    trainer._enter_stage(0)
    item = trainer.stream.dataset[0]
    assert item["input_depth"].shape == item["input_frames"].shape[:2] + item["input_frames"].shape[-2:]

    def abs_rel() -> float:
        with torch.no_grad():
            latents = trainer.model.codec.encode((item["input_frames"].permute(0, 2, 1, 3, 4) * 2 - 1).contiguous()).float()
            out = trainer.model(latents[None], item["input_c2w"][None], item["input_K"][None])
        return decoded_depth_metrics(out.depth[0].flatten(0, 1), item["input_depth"].flatten(0, 1))["abs_rel"]

    before = abs_rel()
    result = trainer.run()
    logs = [json.loads(line) for line in (result.run_dir / "train_log.jsonl").read_text().splitlines()]
    assert len(logs) == 12 and all(log["decoded_depth"] > 0 for log in logs)
    assert abs_rel() < 0.9 * before  # 0.47 -> 0.39 in 12 steps when measured


def test_resume_is_bit_for_bit(tiny_cfg):
    """N steps in one go == N/2 steps, a new process state from the checkpoint, N/2 more;
    across the stage boundary (frames -> stored latents + pruning)."""
    common = ("stages.0.steps=4", "stages.1.steps=2", "checkpoint_every=2", "preview_every=3")
    full = train(tiny_cfg(*common, out="full"), quiet=True)
    first = train(tiny_cfg(*common, out="split"), quiet=True, max_steps=3)
    assert first.step == 3 and first.decoder_dir is None
    second = train(tiny_cfg(*common, out="split"), resume=True, quiet=True)
    assert len(full.losses) == 6
    assert first.losses + second.losses == full.losses  # exactly, not approximately
    run_full, run_split = full.run_dir, second.run_dir
    wf, ws = load_file(str(run_full / "decoder" / "model.safetensors")), load_file(str(run_split / "decoder" / "model.safetensors"))
    assert wf.keys() == ws.keys() and all(torch.equal(wf[k], ws[k]) for k in wf)
    sf, ss = load_checkpoint(latest_checkpoint(run_full)), load_checkpoint(latest_checkpoint(run_split))
    for a, b in zip(sf["optimizer"]["state"].values(), ss["optimizer"]["state"].values()):
        assert all(torch.equal(a[k], b[k]) for k in ("exp_avg", "exp_avg_sq"))
    assert sf["data"] == ss["data"] and sf["step"] == ss["step"] == 6
    # the log of the resumed run is one history, identical in its losses
    lf, ls = read_log(run_full / "train_log.jsonl"), read_log(run_split / "train_log.jsonl")
    assert [r["step"] for r in ls] == list(range(1, 7))
    assert [r["loss"] for r in ls] == [r["loss"] for r in lf]
    # stage 2 (stored latents, 50 % pruning, opacity term) was really trained
    assert {r["stage"] for r in lf} == {"frames_9", "latents_9_multi_prune"}
    pruned = [r for r in lf if r["stage"] == "latents_9_multi_prune"]
    assert all("opacity" in r and r["gaussians"] in (216, 432) for r in pruned)  # 1 or 2 trajectories x 432, halved
    assert all("opacity" not in r and r["gaussians"] == 432 for r in lf if r["stage"] == "frames_9")
    assert (run_full / "previews" / "step_00000003.png").is_file()
    assert load_decoder(run_full / "decoder").cfg.width == 32


def test_checkpoints_are_atomic_and_pruned(tiny_cfg, monkeypatch):
    cfg = tiny_cfg("stages.0.steps=3", "stages.1.steps=0", "checkpoint_every=1", "keep_checkpoints=2")
    result = train(cfg, quiet=True, max_steps=2)
    root = result.run_dir / "checkpoints"
    assert [s for s, _ in list_checkpoints(result.run_dir)] == [1, 2]
    assert (root / "latest").read_text().strip() == "step_00000002"

    def crash(*args, **kwargs):  # the process dies after trainer.pt is written, before the decoder
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(ckpt_module, "save_decoder", crash)
    with pytest.raises(KeyboardInterrupt):
        train(load_train_cfg(TINY_CONFIG, [f"data.roots={cfg.data.roots}", f"out_dir={cfg.out_dir}", "stages.0.steps=3",
                                           "stages.1.steps=0", "checkpoint_every=1"]), resume=True, quiet=True)
    assert not (root / "step_00000003").exists()
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step_00000001", "step_00000002"]  # no temporaries left
    assert latest_checkpoint(result.run_dir).name == "step_00000002"
    monkeypatch.undo()
    resumed = train(load_train_cfg(TINY_CONFIG, [f"data.roots={cfg.data.roots}", f"out_dir={cfg.out_dir}", "stages.0.steps=3",
                                                 "stages.1.steps=0", "checkpoint_every=1", "keep_checkpoints=2"]), resume=True, quiet=True)
    assert resumed.step == 3 and len(resumed.losses) == 1
    assert [s for s, _ in list_checkpoints(result.run_dir)] == [2, 3]


def test_memory_savers_do_not_change_the_numbers(tiny_cfg):
    """Gradient checkpointing, plain (non-deferred) rendering and the deferred chunk size change
    memory and time, not the training trajectory."""
    base = train(tiny_cfg("stages.0.steps=3", "stages.1.steps=0", out="base"), quiet=True).losses
    for i, variant in enumerate(("gradient_checkpointing=true", "render.deferred=false", "render.chunk=1")):
        losses = train(tiny_cfg("stages.0.steps=3", "stages.1.steps=0", variant, out=f"v{i}"), quiet=True).losses
        assert losses == pytest.approx(base, rel=1e-4), variant


def test_init_from_a_trained_decoder(tiny_cfg):
    first = train(tiny_cfg("stages.0.steps=1", "stages.1.steps=0", out="a"), quiet=True)
    trainer = Trainer(tiny_cfg("stages.0.steps=1", "stages.1.steps=0", f"init_from={first.decoder_dir}", out="b"), quiet=True)
    weights = load_file(str(first.decoder_dir / "model.safetensors"))
    state = trainer.model.state_dict()
    assert all(torch.equal(state[k], weights[k]) for k in weights)


def test_dynamic_stage_starts_from_the_static_decoder(tiny_cfg, tiny_dynamic_data):
    """Lyra's stage 8 on tiny dynamic data: static weights in, time embeddings trained from zero;
    the ablation's switch reaches the samples (without flipped supervision 2 of the 4 views)."""
    flipped = False
    static = train(tiny_cfg("stages.0.steps=1", "stages.1.steps=0", out="static"), quiet=True)
    cfg = tiny_cfg("model=configs/model/embedded_dynamic.yaml", f"init_from={static.decoder_dir}", f"data.roots=[{tiny_dynamic_data}]",
                   "stages.0.steps=2", "stages.1.steps=0", "stages.0.num_input_frames=9", "stages.0.min_gap=8", "stages.0.max_gap=8",
                   f"stages.0.flipped_supervision={str(flipped).lower()}", out="dynamic")
    trainer = Trainer(cfg, quiet=True)
    try:
        assert not any(v.any() for k, v in trainer.model.state_dict().items() if k.startswith("patch_time_embed") and ".proj." in k)
        result = trainer.run()
        item = trainer.stream.dataset[0]
    finally:
        trainer.close()
    assert item["target_frame_indices"].shape == (4 if flipped else 2, 1)
    assert len(result.losses) == 2 and all(torch.isfinite(torch.tensor(loss)) for loss in result.losses)
    model = load_decoder(result.decoder_dir)
    assert model.cfg.time_embedding
    assert any(v.abs().sum() > 0 for k, v in model.state_dict().items() if k.startswith("patch_time_embed") and ".proj." in k)


def test_refuses_to_clobber_or_resume_nothing(tiny_cfg):
    cfg = tiny_cfg("stages.0.steps=1", "stages.1.steps=0")
    with pytest.raises(LyraSimError, match="no checkpoint"):
        train(cfg, resume=True, quiet=True)
    train(cfg, quiet=True)
    with pytest.raises(OutputExistsError):
        train(cfg, quiet=True)
    again = train(cfg, quiet=True, overwrite=True)
    assert again.step == 1 and [s for s, _ in list_checkpoints(again.run_dir)] == [1]


def test_two_process_ddp_gives_identical_weights(tiny_data, tmp_path):
    dump = tmp_path / "dump"
    dump.mkdir()
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1", "--nproc_per_node", "2",
           str(Path(__file__).parent / "ddp_worker.py"), str(TINY_CONFIG), str(tmp_path / "run"), str(dump),
           f"data.roots=[{tiny_data}]", "stages.0.steps=3", "stages.1.steps=1", "checkpoint_every=2", "stages.0.batch_size=2"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (torch.load(dump / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert r0["state"].keys() == r1["state"].keys()
    assert all(torch.equal(r0["state"][k], r1["state"][k]) for k in r0["state"])
    # the ranks trained on different samples (sharded scene order) yet hold one model
    assert r0["scenes"] != r1["scenes"] and r0["losses"] != r1["losses"]
    assert set(r0["scenes"][:1] + r1["scenes"][:1]) == {r0["scenes"][0], r1["scenes"][0]} and r0["scenes"][0] != r1["scenes"][0]
    # the weights moved away from the shared init, and rank 0 wrote the run's only files
    init = load_file(str(tmp_path / "run" / "checkpoints" / "step_00000002" / "decoder" / "model.safetensors"))
    assert any(not torch.equal(init[k], r0["state"][k]) for k in init)
    final = load_file(str(tmp_path / "run" / "decoder" / "model.safetensors"))
    assert all(torch.equal(final[k], r0["state"][k]) for k in final)
    assert [r["step"] for r in read_log(tmp_path / "run" / "train_log.jsonl")] == [1, 2, 3, 4]


def test_cli_train_writes_checkpoint_and_log(tiny_data, tmp_path, capsys):
    from lyra_sim.cli import main

    out = tmp_path / "cli_run"
    rc = main(["train", "--config", str(TINY_CONFIG), f"data.roots=[{tiny_data}]", f"out_dir={out}", "stages.0.steps=2",
               "stages.1.steps=1", "--quiet"])
    assert rc == 0
    assert latest_checkpoint(out).name == "step_00000003"
    assert [r["step"] for r in read_log(out / "train_log.jsonl")] == [1, 2, 3]
    assert load_decoder(out / "decoder").cfg.depth == 2
    recorded = load_train_cfg(out / "train_config.yaml")  # the resolved config, overrides included
    assert [s.steps for s in recorded.stages] == [2, 1] and recorded.data.roots == [str(tiny_data)]
    assert main(["train", "--config", str(TINY_CONFIG), f"data.roots=[{tiny_data}]", f"out_dir={out}", "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
