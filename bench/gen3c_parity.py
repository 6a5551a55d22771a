"""The four GEN3C checks that need the real weights (``gen3c-facts.md`` §8), for anyone who has them.

    python bench/gen3c_parity.py CKPT_DIR [--converted DIR] [--checks 1,2,3,4] [--device cuda]
                                 [--out bench/results/gen3c_parity.json]

CKPT_DIR is GEN3C's checkpoints folder (``Gen3C-Cosmos-7B/model.pt``,
``Cosmos-Tokenize1-CV8x8x8-720p/{autoencoder.jit, encoder.jit, decoder.jit, mean_std.pt}``);
DIR is the output of ``lyra-sim convert-gen3c CKPT_DIR DIR`` (converted into a temporary folder
when not given and checks 3 or 4 run).

1. keys: does model.pt wrap its tensors in ``"model"``, does it hold ``accum_*`` counters, and does
   the converter know every key (the unknown ones are listed)? CPU is enough.
2. latent statistics: are diffusers' default ``AutoencoderKLCosmos`` ``latents_mean/std`` equal to
   Tokenize1's ``mean_std.pt``? CPU is enough.
3. tokenizer parity: the converted ``AutoencoderKLCosmos`` against ``encoder.jit`` / ``decoder.jit``
   on the same smooth random video (latents, and decodings of the same latents), bfloat16.
4. DiT parity: one forward of cosmos_predict1's ``VideoExtendGeneralDIT`` (GEN3C config,
   ``in_channels=81``, padding mask concatenated inside) against the converted
   ``CosmosTransformer3DModel`` (82 channels, zero padding channel passed in), same weights and
   inputs. Needs Lyra-1's ``cosmos_predict1`` importable (and its attention backend,
   transformer_engine). This check was written from reading cosmos_predict1's source and has not
   been run: its constructor arguments follow ``FADITV2Config``.

Each check reports numbers and ``ok``; the script exits 1 if any check fails, 2 if it cannot run
(weights or packages missing), and never downloads anything.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from common import machine, write_json

from lyra_sim.errors import InvalidInputError, MissingWeightsError
from lyra_sim.teachers.gen3c_convert import (
    CKPT_LAYOUT_HINT,
    TOKENIZER_DIR_CANDIDATES,
    TRANSFORMER_CKPT_CANDIDATES,
    convert_gen3c_checkpoint,
    map_gen3c_state_dict,
)

RESULTS = Path(__file__).parent / "results"


def _find(root: Path, candidates, name: str) -> Path:
    for c in candidates:
        if (root / c / name).is_file() if name else (root / c).is_file():
            return root / c / name if name else root / c
    raise MissingWeightsError(f"gen3c_parity: {root} lacks {name or candidates[0]}. {CKPT_LAYOUT_HINT}")


def check_keys(ckpt: Path) -> dict:
    path = _find(ckpt, TRANSFORMER_CKPT_CANDIDATES, "")
    obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    top = sorted(obj.keys()) if isinstance(obj, dict) else [type(obj).__name__]
    state = obj["model"] if isinstance(obj, dict) and isinstance(obj.get("model"), dict) else obj
    prefixes: dict[str, int] = {}
    for k in state:
        prefixes[k.split(".")[0]] = prefixes.get(k.split(".")[0], 0) + 1
    result = {"file": str(path), "top_level_keys": top[:20], "has_model_key": "model" in top,
              "tensors": len(state), "prefixes": prefixes,
              "accum_keys": sorted(k for k in state if k.removeprefix("net.").startswith("accum_"))}
    try:
        mapped, dropped = map_gen3c_state_dict(state)
        result.update(unknown_keys=[], dropped_keys=dropped, mapped_tensors=len(mapped), ok=True)
    except InvalidInputError as err:
        result.update(unknown_keys=str(err), ok=False)
    return result


def check_latent_stats(ckpt: Path) -> dict:
    from diffusers import AutoencoderKLCosmos

    path = _find(ckpt, TOKENIZER_DIR_CANDIDATES, "mean_std.pt")
    mean, std = torch.load(path, map_location="cpu", weights_only=True)
    params = inspect.signature(AutoencoderKLCosmos.__init__).parameters
    d_mean = torch.tensor(params["latents_mean"].default, dtype=torch.float32)
    d_std = torch.tensor(params["latents_std"].default, dtype=torch.float32)
    mean, std = mean.float().flatten(), std.float().flatten()
    same_size = d_mean.numel() == mean.numel()
    result = {"file": str(path), "mean_std_numel": mean.numel(), "diffusers_numel": d_mean.numel()}
    if same_size:
        result.update(max_abs_mean_diff=float((d_mean - mean).abs().max()), max_abs_std_diff=float((d_std - std).abs().max()))
    result["ok"] = same_size and result["max_abs_mean_diff"] < 1e-5 and result["max_abs_std_diff"] < 1e-5
    return result


def _smooth_video(frames: int, height: int, width: int, device) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    low = torch.rand(1, 3, max(frames // 8, 2), max(height // 32, 2), max(width // 32, 2), generator=g)
    return (torch.nn.functional.interpolate(low, size=(frames, height, width), mode="trilinear") * 2 - 1).to(device)


def check_tokenizer(ckpt: Path, converted: Path, device: str, frames: int, height: int, width: int) -> dict:
    from diffusers import AutoencoderKLCosmos

    tok = _find(ckpt, TOKENIZER_DIR_CANDIDATES, "encoder.jit").parent
    dtype = torch.bfloat16
    enc = torch.jit.load(str(tok / "encoder.jit"), map_location=device).to(dtype).eval()
    dec = torch.jit.load(str(tok / "decoder.jit"), map_location=device).to(dtype).eval()
    vae = AutoencoderKLCosmos.from_pretrained(str(converted / "vae"), local_files_only=True, torch_dtype=dtype).to(device).eval()
    video = _smooth_video(frames, height, width, device).to(dtype)
    with torch.no_grad():
        z_ref = enc(video)
        z_ref = z_ref[0] if isinstance(z_ref, (tuple, list)) else z_ref
        z = vae.encode(video).latent_dist.mode()
        x_ref = dec(z_ref)
        x_ref = x_ref[0] if isinstance(x_ref, (tuple, list)) else x_ref
        x = vae.decode(z_ref).sample
    rel = lambda a, b: float((a.float() - b.float()).abs().max() / b.float().abs().max())
    result = {"video": [frames, height, width], "latent_shape": list(z.shape), "reference_latent_shape": list(z_ref.shape)}
    if z.shape == z_ref.shape:
        result.update(latent_rel_max_diff=rel(z, z_ref), decode_rel_max_diff=rel(x, x_ref),
                      decode_psnr_db=float(10 * torch.log10(4 / ((x.float() - x_ref.float()) ** 2).mean())))
    # bfloat16 on both sides: allow a few bf16 ulps of drift through the network
    result["ok"] = z.shape == z_ref.shape and result["latent_rel_max_diff"] < 2e-2 and result["decode_rel_max_diff"] < 5e-2
    return result


def check_dit(ckpt: Path, converted: Path, device: str, t: int, h: int, w: int) -> dict:
    if importlib.util.find_spec("cosmos_predict1") is None:
        return {"ok": False, "skipped": "cosmos_predict1 is not importable: put Lyra-1/ on PYTHONPATH in GEN3C's environment"}
    from cosmos_predict1.diffusion.conditioner import DataType
    from cosmos_predict1.diffusion.networks.general_dit_video_conditioned import (
        VideoExtendGeneralDIT,
    )

    from lyra_sim.teachers.gen3c import load_transformer

    dtype = torch.bfloat16
    path = _find(ckpt, TRANSFORMER_CKPT_CANDIDATES, "")
    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    state = state.get("model", state)
    net = VideoExtendGeneralDIT(  # FADITV2Config (gen3c-facts.md §1.2) with GEN3C's in_channels
        max_img_h=240, max_img_w=240, max_frames=128, in_channels=16 + 16 * 4 + 1, out_channels=16, patch_spatial=2,
        patch_temporal=1, concat_padding_mask=True, model_channels=4096, num_blocks=28, num_heads=32, mlp_ratio=4.0,
        block_config="FA-CA-MLP", crossattn_emb_channels=1024, use_cross_attn_mask=False, pos_emb_cls="rope3d",
        pos_emb_learnable=False, pos_emb_interpolation="crop", block_x_format="THWBD", affline_emb_norm=True,
        use_adaln_lora=True, adaln_lora_dim=256, rope_h_extrapolation_ratio=1.0, rope_w_extrapolation_ratio=1.0,
        rope_t_extrapolation_ratio=2.0, extra_per_block_abs_pos_emb=True, extra_per_block_abs_pos_emb_type="learnable",
    )
    missing, unexpected = net.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("net.")}, strict=False)
    net = net.to(device, dtype).eval()
    ours = load_transformer(converted / "transformer", dtype).to(device).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 16, t, h, w, generator=g).to(device, dtype)
    mask = torch.zeros(1, 1, t, h, w, device=device, dtype=dtype)
    mask[:, :, 0] = 1
    pose = torch.randn(1, 64, t, h, w, generator=g).to(device, dtype)
    text = torch.randn(1, 512, 1024, generator=g).to(device, dtype)
    sigma = torch.tensor([20.0])
    timestep = (0.25 * sigma.log()).to(device, dtype)
    with torch.no_grad():
        ref = net(x, timestep, text, fps=torch.tensor([24.0], device=device), padding_mask=torch.zeros(1, 1, 8 * h, 8 * w, device=device, dtype=dtype),
                  data_type=DataType.VIDEO, condition_video_input_mask=mask, condition_video_pose=pose)
        out = ours(hidden_states=x, timestep=timestep, encoder_hidden_states=text, fps=24,
                   condition_mask=torch.cat([mask, pose, torch.zeros_like(mask)], dim=1), return_dict=False)[0]
    rel = float((out.float() - ref.float()).abs().max() / ref.float().abs().max())
    return {"latent_shape": [16, t, h, w], "original_missing_keys": list(missing)[:20], "original_unexpected_keys": list(unexpected)[:20],
            "output_rel_max_diff": rel, "ok": rel < 2e-2 and not missing}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ckpt_dir", type=Path)
    parser.add_argument("--converted", type=Path, default=None, help="output of lyra-sim convert-gen3c (default: convert to a temp folder)")
    parser.add_argument("--checks", default="1,2,3,4")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--vae-video", default="121,256,448", help="frames,height,width of check 3's video")
    parser.add_argument("--dit-latent", default="4,32,32", help="t,h,w of check 4's latent")
    parser.add_argument("--out", type=Path, default=RESULTS / "gen3c_parity.json")
    args = parser.parse_args(argv)
    checks = {int(c) for c in args.checks.split(",")}
    ckpt = args.ckpt_dir.expanduser()
    if not ckpt.is_dir():
        print(f"gen3c_parity: {ckpt} is not a folder; these checks need GEN3C's real weights. {CKPT_LAYOUT_HINT}", file=sys.stderr)
        return 2
    results: dict = {"benchmark": "gen3c_parity", "machine": machine(), "ckpt_dir": str(ckpt)}
    try:
        if 1 in checks:
            results["1_keys"] = check_keys(ckpt)
        if 2 in checks:
            results["2_latent_stats"] = check_latent_stats(ckpt)
        if checks & {3, 4}:
            with tempfile.TemporaryDirectory(dir=args.out.parent if args.out.parent.exists() else None) as tmp:
                # NVIDIA's files, also jit-loaded below
                converted = args.converted or convert_gen3c_checkpoint(ckpt, Path(tmp) / "gen3c", trust_torchscript=True)
                if 3 in checks:
                    f, hh, ww = (int(v) for v in args.vae_video.split(","))
                    results["3_tokenizer_parity"] = check_tokenizer(ckpt, converted, args.device, f, hh, ww)
                if 4 in checks:
                    t, hh, ww = (int(v) for v in args.dit_latent.split(","))
                    results["4_dit_parity"] = check_dit(ckpt, converted, args.device, t, hh, ww)
    except MissingWeightsError as err:
        print(f"gen3c_parity: {err}", file=sys.stderr)
        return 2
    write_json(args.out, results)
    failed = [k for k, v in results.items() if isinstance(v, dict) and v.get("ok") is False]
    for k, v in results.items():
        if isinstance(v, dict) and "ok" in v:
            numbers = ", ".join(f"{a}={b}" for a, b in v.items() if a != "ok" and not isinstance(b, (list, dict)))
            print(f"{k:22s} {'ok' if v['ok'] else 'FAILED'}  " + numbers[:300])
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
