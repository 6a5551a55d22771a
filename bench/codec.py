"""Benchmark the DCT codec: round-trip PSNR on procedural video and encode/decode speed.

    python bench/codec.py [--out bench/results/codec.json]

Quality: ``moving_scene`` from ``tests/codecs/test_dct.py`` (lighting gradient, 1/f texture
panned 1.5 px/frame, moving soft-edged discs and a bar), 2 videos x 49 frames at 176x320,
at texture std 0.05 ("smooth", the tests' content) and 0.12 ("textured"), and uniform noise
for contrast. PSNR over [-1, 1] (peak-to-peak 2). Speed: 6 trajectories x 49 frames at 176x320
(Lyra's first curriculum stage), best of 3 after a warm-up, on CPU with the current thread
count and, when present, on CUDA.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "codecs"))

from common import best_of, machine, write_json  # noqa: E402
from test_dct import moving_scene, psnr  # noqa: E402

from lyra_sim.codecs import DCTCodec  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "codec.json"))
    args = ap.parse_args()

    quality = []
    contents = {
        "smooth": moving_scene(2, 49, 176, 320, texture=0.05),
        "textured": moving_scene(2, 49, 176, 320, texture=0.12),
        "noise": torch.rand(2, 3, 49, 176, 320, generator=torch.Generator().manual_seed(0)) * 2 - 1,
    }
    for content, video in contents.items():
        for tc in (1, 4, 8):
            codec = DCTCodec(tc)
            db = psnr(video, codec.decode(codec.encode(video)))
            quality.append({"content": content, "codec": codec.name, "psnr_db": round(db, 2)})

    speed = []
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for dtype in (torch.float32, torch.bfloat16):
            video = (torch.rand(6, 3, 49, 176, 320, device=device) * 2 - 1).to(dtype)
            for tc in (1, 4, 8):
                codec = DCTCodec(tc)
                z = codec.encode(video)
                sync = device == "cuda"
                speed.append(
                    {
                        "device": device,
                        "dtype": str(dtype).removeprefix("torch."),
                        "codec": codec.name,
                        "encode_s": round(best_of(lambda c=codec, v=video: c.encode(v), sync=sync), 4),
                        "decode_s": round(best_of(lambda c=codec, z=z: c.decode(z), sync=sync), 4),
                    }
                )

    write_json(args.out, {"machine": machine(), "quality": quality, "speed_6x49x176x320": speed})
    print("| content | codec | PSNR dB |\n|---|---|---:|")
    for q in quality:
        print(f"| {q['content']} | {q['codec']} | {q['psnr_db']:.2f} |")
    print("\n| device | dtype | codec | encode s | decode s |\n|---|---|---|---:|---:|")
    for s in speed:
        print(f"| {s['device']} | {s['dtype']} | {s['codec']} | {s['encode_s']:.3f} | {s['decode_s']:.3f} |")


if __name__ == "__main__":
    main()
