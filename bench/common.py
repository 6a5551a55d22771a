"""Shared helpers for the benchmark scripts: timing, peak memory, JSON output, test scenes."""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from pathlib import Path
from typing import Callable

import torch


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far, GB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def best_of(fn: Callable[[], object], repeats: int = 3, sync: bool = False) -> float:
    """Best wall time of ``repeats`` calls after one warm-up call, seconds."""
    fn()
    times = []
    for _ in range(repeats):
        if sync:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if sync:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times)


def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "load_average_1_5_15": list(os.getloadavg()),  # busy machines make slow numbers: say which this was
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def write_json(path: str | Path, payload: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(path)  # benchmarks overwrite their own previous results on purpose
    return path


def frustum_scene(n: int, resolution: int, footprint: float = 1.0, seed: int = 0, device="cpu"):
    """N Gaussians filling the view of a camera at the origin, like a reconstruction seen from
    one of its input views: centres at depth 2-4 spread over the whole image, anisotropic,
    randomly rotated, opacity 0.1-0.9. Each Gaussian's projected standard deviation is about
    ``footprint * sqrt(H * W / N)`` pixels, so the image is covered several times over
    whatever N is (``footprint`` 1.0 gives about 70 Gaussian-pixel pairs per Gaussian).

    Returns (GaussianScene, Cameras).
    """
    from lyra_sim.cameras import Cameras, intrinsics_matrix
    from lyra_sim.gaussians import GaussianScene

    g = torch.Generator().manual_seed(seed)
    f = float(resolution)
    uv = torch.rand(n, 2, generator=g) * resolution
    z = 2.0 + 2.0 * torch.rand(n, generator=g)
    means = torch.stack([(uv[:, 0] - resolution / 2) / f * z, (uv[:, 1] - resolution / 2) / f * z, z], dim=-1)
    px_sigma = footprint * (resolution * resolution / n) ** 0.5
    scales = (px_sigma * z / f)[:, None] * torch.exp(0.3 * torch.randn(n, 3, generator=g))
    scene = GaussianScene.from_rgb(
        means,
        torch.randn(n, 4, generator=g),
        scales,
        0.1 + 0.8 * torch.rand(n, generator=g),
        torch.rand(n, 3, generator=g),
    ).to(device)
    cams = Cameras(torch.eye(4), intrinsics_matrix(f, f, resolution / 2, resolution / 2), resolution, resolution).to(device)
    return scene, cams
