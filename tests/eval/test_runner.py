"""lyra-sim eval end to end on tiny procedural scenes: report contents, ground-truth geometry
in the right frame, JSON + Markdown output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lyra_sim.cameras import Cameras, depth_to_points
from lyra_sim.data import LyraScene, find_scenes
from lyra_sim.errors import MissingWeightsError, OutputExistsError
from lyra_sim.eval import chamfer_fscore
from lyra_sim.eval.runner import (
    EvalCfg,
    _visible_mesh_points,
    evaluate,
    markdown_table,
    resolve_decoder_dir,
    select_scenes,
    write_report,
)
from lyra_sim.models import LatentGaussianDecoder, load_decoder_cfg, save_decoder

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def decoder_dir(tmp_path_factory):
    torch.manual_seed(0)
    cfg = load_decoder_cfg(REPO / "configs/model/embedded.yaml", ["width=32", "depth=2", "num_heads=2", "attention_every=2",
                                                                  "mamba_d_state=16", "mamba_headdim=16", "mamba_chunk_size=32"])
    return save_decoder(LatentGaussianDecoder(cfg), tmp_path_factory.mktemp("dec") / "decoder")


def small(data, decoder, **kw):
    return EvalCfg(decoder=str(decoder), data=[str(data)], mesh_samples=4000, max_points=3000, **kw)


def test_ground_truth_points_lie_on_the_teacher_depth(tiny_data):
    """Mesh samples moved into a non-trivial reference frame (a later camera of trajectory 1)
    match the surface the teacher's depth maps show, so mesh, poses and depth agree; leaving the
    mesh in the scene frame (a negative control) does not."""
    scene = LyraScene(*find_scenes(tiny_data)[0])  # the room
    ref = scene.load_c2w("1", [6])[0]  # every trajectory starts at the scene frame; frame 6 does not
    assert not torch.allclose(ref, torch.eye(4), atol=1e-3)
    cams = Cameras.cat([scene.load_cameras(t, reference=ref) for t in scene.trajectory_ids])
    depth = torch.cat([scene.load_depth(t) for t in scene.trajectory_ids])
    seen = depth_to_points(depth, cams).float()
    mesh = scene.load_meshes()[0][0]
    gt = _visible_mesh_points(mesh, ref, cams, depth, 60_000, torch.Generator().manual_seed(0))
    assert gt.shape[0] > 10_000
    m = chamfer_fscore(seen, gt, threshold=0.05)
    assert m["fscore"] > 0.85 and m["precision"] > 0.95 and m["chamfer"] < 0.03, m
    wrong = _visible_mesh_points(mesh, torch.eye(4), cams, depth, 60_000, torch.Generator().manual_seed(0))
    bad = chamfer_fscore(seen, wrong, threshold=0.05) if wrong.shape[0] else {"fscore": 0.0}
    assert bad["fscore"] < 0.5 * m["fscore"], bad


def test_evaluate_reports_every_metric(tiny_data, decoder_dir):
    report = evaluate(small(tiny_data, decoder_dir, holdout=2))
    assert report["num_scenes"] == 2 and report["lpips"] in (True, False)
    names = [r["scene"] for r in report["scenes"]]
    assert names == [str(s.root) for s in select_scenes([str(tiny_data)])[-2:]]
    for row in report["scenes"]:
        assert row["views"] == 2 * 9 and row["frames"] == 9 and row["inputs"] == "latents"
        assert 0 < row["psnr"] < 40 and -1 <= row["ssim"] <= 1
        assert row["abs_rel"] >= 0 and 0 <= row["delta1"] <= 1
        for key in ("gaussians_geometry", "depth_geometry"):
            g = row[key]
            assert g["chamfer"] > 0 and 0 <= g["fscore"] <= 1
        assert row["metric_scale"] is True and row["gt_points"] > 100
    mean = report["mean"]
    assert mean["psnr"] == pytest.approx(sum(r["psnr"] for r in report["scenes"]) / 2)
    # the frames path gives the same kind of report
    frames = evaluate(small(tiny_data, decoder_dir, holdout=1, inputs="frames", geometry=False))
    assert frames["scenes"][0]["inputs"] == "frames" and "depth_geometry" not in frames["scenes"][0]


def test_cli_eval_writes_json_and_markdown(tiny_data, decoder_dir, tmp_path, capsys):
    from lyra_sim.cli import main

    out = tmp_path / "eval"
    args = ["eval", "--decoder", str(decoder_dir), "--data", str(tiny_data), "--holdout", "1", "--out", str(out), "--quiet", "--no-geometry"]
    assert main(args) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["num_scenes"] == 1 and report["mean"]["psnr"] > 0
    md = (out / "metrics.md").read_text()
    assert "| scene | PSNR | SSIM" in md and "**mean**" in md
    assert main(args) == 2 and "already exists" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0


def test_decoder_resolution_and_errors(tmp_path, decoder_dir):
    assert resolve_decoder_dir(decoder_dir) == decoder_dir
    assert resolve_decoder_dir(decoder_dir.parent) == decoder_dir  # a run folder with decoder/
    with pytest.raises(MissingWeightsError, match="lyra-sim train"):
        resolve_decoder_dir(tmp_path)
    report = {"decoder": "x", "num_scenes": 0, "mean": {}, "scenes": [], "lpips": False, "config": {}}
    write_report(report, tmp_path / "r")
    with pytest.raises(OutputExistsError):
        write_report(report, tmp_path / "r")


@pytest.fixture(scope="module")
def dynamic_decoder_dir(tmp_path_factory):
    torch.manual_seed(0)
    cfg = load_decoder_cfg(REPO / "configs/model/embedded_dynamic.yaml", ["width=32", "depth=2", "num_heads=2", "attention_every=2",
                                                                          "mamba_d_state=16", "mamba_headdim=16", "mamba_chunk_size=32"])
    return save_decoder(LatentGaussianDecoder(cfg), tmp_path_factory.mktemp("dyn") / "decoder")


def test_dynamic_scenes_are_scored_per_time_from_forward_and_flipped_cameras(tiny_dynamic_data, dynamic_decoder_dir, decoder_dir):
    scene = LyraScene(*find_scenes(tiny_dynamic_data)[0])
    assert scene.is_dynamic and len(scene.trajectory_ids) == 4
    # a flipped copy shows frame i's instant from the forward path's camera at frame T-1-i
    fwd, flip = scene.trajectory_ids[0], scene.trajectory_ids[2]
    torch.testing.assert_close(scene.load_c2w(flip, [1])[0], scene.load_c2w(fwd, [7])[0])

    report = evaluate(small(tiny_dynamic_data, dynamic_decoder_dir, dynamic_times=3, geometry=False))
    assert report["num_scenes"] == 1
    row = report["scenes"][0]
    assert row["trajectories"] == scene.trajectory_ids[:2] and row["views"] == 4 and row["frames"] == 9
    assert [e["time"] for e in row["per_time"]] == [0.0, 0.5, 1.0]
    for e in row["per_time"]:
        assert 0 < e["psnr"] < 100 and e["psnr_forward"] is not None and e["psnr_flipped"] is not None
        assert min(e["psnr_forward"], e["psnr_flipped"]) <= e["psnr"] <= max(e["psnr_forward"], e["psnr_flipped"])
    assert row["psnr"] == pytest.approx(sum(e["psnr"] for e in row["per_time"]) / 3)
    assert [e["time"] for e in report["mean"]["per_time"]] == [0.0, 0.5, 1.0]
    assert "PSNR flipped" in markdown_table(report)
    # a static decoder skips dynamic scenes rather than scoring them as still
    static = evaluate(small(tiny_dynamic_data, decoder_dir, geometry=False))
    assert static["num_scenes"] == 0 and "skipped" in static["scenes"][0]
