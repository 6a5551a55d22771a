"""GEN3C's cost on a GPU: one full-size DiT forward at 704 x 1280 x 121 with random weights.

    python bench/gen3c_smoke.py [--frames 121 --height 704 --width 1280] [--repeats 2]
                                [--out bench/results/gen3c_smoke.json]

Builds ``CosmosTransformer3DModel`` with GEN3C-Cosmos-7B's configuration (hidden 4096 = 32 heads x
128, 28 blocks, adaLN-LoRA 256, text 1024, learnable position embeddings, 82 input channels, as
``lyra-sim convert-gen3c`` writes it) directly in bfloat16 on the GPU with random weights, and
times one forward (best of ``--repeats`` after a warm-up) on a 16 x t x h x w latent with GEN3C's
66-channel condition and a 512 x 1024 text embedding. Reports the forward time, the derived
cost of one sampling step (guidance 1 runs two forwards) and of one 121-frame chunk (35 steps =
70 forwards), the parameter count and the peak GPU memory, as JSON and a table.

Needs CUDA; without it the script says so and exits 2 (it stays importable everywhere).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from common import best_of, machine, write_json

RESULTS = Path(__file__).parent / "results"
GEN3C_7B = {
    "in_channels": 82, "out_channels": 16, "num_attention_heads": 32, "attention_head_dim": 128, "num_layers": 28,
    "mlp_ratio": 4.0, "text_embed_dim": 1024, "adaln_lora_dim": 256, "max_size": (128, 240, 240),
    "patch_size": (1, 2, 2), "rope_scale": (2.0, 1.0, 1.0), "concat_padding_mask": False,
    "extra_pos_embed_type": "learnable",
}


def build_random_dit(device: str = "cuda", dtype: torch.dtype = torch.bfloat16, **overrides) -> torch.nn.Module:
    """GEN3C-Cosmos-7B's DiT with random weights, initialised directly in ``dtype`` on ``device``."""
    from diffusers import CosmosTransformer3DModel

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = CosmosTransformer3DModel(**{**GEN3C_7B, **overrides})
    finally:
        torch.set_default_dtype(previous)
    return model.eval().requires_grad_(False)


def run(frames: int, height: int, width: int, repeats: int, layers: int | None = None) -> dict:
    if not torch.cuda.is_available():
        raise SystemExit("gen3c_smoke: needs a CUDA GPU (a full-size GEN3C DiT forward is ~2.3e15 FLOP); none is available here")
    if (frames - 1) % 8 or height % 16 or width % 16:
        raise SystemExit(f"gen3c_smoke: need 8k + 1 frames and sizes divisible by 16; got {frames}x{height}x{width}")
    torch.cuda.reset_peak_memory_stats()
    model = build_random_dit(num_layers=layers) if layers else build_random_dit()
    weights_gb = torch.cuda.memory_allocated() / 1e9
    params = sum(p.numel() for p in model.parameters())
    t, h, w = 1 + (frames - 1) // 8, height // 8, width // 8
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(1, 16, t, h, w, device="cuda", dtype=torch.bfloat16, generator=g)
    cond = torch.zeros(1, 66, t, h, w, device="cuda", dtype=torch.bfloat16)
    cond[:, 0, 0] = 1
    cond[:, 1:65] = torch.randn(1, 64, t, h, w, device="cuda", dtype=torch.bfloat16, generator=g)
    text = torch.randn(1, 512, 1024, device="cuda", dtype=torch.bfloat16, generator=g)
    timestep = torch.full((1,), 0.25 * torch.log(torch.tensor(80.0)).item(), device="cuda", dtype=torch.bfloat16)

    def forward():
        with torch.no_grad():
            return model(hidden_states=x, timestep=timestep, encoder_hidden_states=text, fps=24,
                         condition_mask=cond, return_dict=False)[0]

    out = forward()
    finite = bool(torch.isfinite(out.float()).all())
    seconds = best_of(forward, repeats=repeats, sync=True)
    tokens = t * (h // 2) * (w // 2)
    result = {
        "benchmark": "gen3c_smoke",
        "machine": machine(),
        "frames": frames, "height": height, "width": width, "latent_shape": [16, t, h, w], "tokens": tokens,
        "layers": layers or GEN3C_7B["num_layers"], "parameters": params, "dtype": "bfloat16",
        "weights_gb": round(weights_gb, 2),
        "forward_s": round(seconds, 3),
        "step_s_guidance_1": round(2 * seconds, 3),
        "chunk_s_35_steps_guidance_1": round(70 * seconds, 1),
        "peak_memory_gb": round(torch.cuda.max_memory_allocated() / 1e9, 2),
        "output_finite": finite,
        "note": "random weights; DiT only (no tokenizer, T5 or depth model); attention via torch SDPA",
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=121)
    parser.add_argument("--height", type=int, default=704)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--layers", type=int, default=None, help="fewer blocks for a quick check (default: 28)")
    parser.add_argument("--out", type=Path, default=RESULTS / "gen3c_smoke.json")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("gen3c_smoke: needs a CUDA GPU (a full-size GEN3C DiT forward is ~2.3e15 FLOP); none is available here", file=sys.stderr)
        return 2
    result = run(args.frames, args.height, args.width, args.repeats, args.layers)
    write_json(args.out, result)
    for key in ("tokens", "parameters", "weights_gb", "forward_s", "step_s_guidance_1", "chunk_s_35_steps_guidance_1",
                "peak_memory_gb", "output_finite"):
        print(f"{key:32s} {result[key]}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
