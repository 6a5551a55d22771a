"""What a training run reports: a JSONL of scalars, preview images, and the progress bar.

``train_log.jsonl`` has one JSON object per logged step (``step``, ``stage``, ``loss`` and its
terms, ``psnr``, ``lr``, ``grad_norm``, ``gaussians``, ``it_s``, ``time``). On resume the
records after the checkpoint's step are dropped, so the file always describes one history.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import Tensor

from lyra_sim.io import atomic_output

LOG_FILE = "train_log.jsonl"
PREVIEWS = "previews"


class ScalarLog:
    """Append-only JSONL of scalars (one writer: rank 0)."""

    def __init__(self, path: str | Path, resume_step: int | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None and self.path.is_file():
            keep = [line for line in self.path.read_text().splitlines() if line.strip() and json.loads(line).get("step", 0) <= resume_step]
            with atomic_output(self.path, overwrite=True) as tmp:
                tmp.write_text("".join(line + "\n" for line in keep))

    def append(self, record: dict) -> None:
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
        with self.path.open("a") as f:
            f.write(json.dumps(clean) + "\n")


def read_log(path: str | Path) -> list[dict]:
    """The records of a ``train_log.jsonl``."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def write_training_preview(path: str | Path, teacher: Tensor, rendered: Tensor, depth: Tensor, alpha: Tensor, views: int = 4) -> Path:
    """A PNG with one column per view: teacher frame, decoder render, rendered depth.

    Args:
        teacher, rendered: [V, 3, H, W] in [0, 1]; depth, alpha: [V, H, W].
    """
    from lyra_sim.render.preview import colorize_depth, contact_sheet, depth_range, write_png

    v = min(views, teacher.shape[0])
    idx = torch.linspace(0, teacher.shape[0] - 1, v).round().long().tolist()
    rows = [teacher[i].permute(1, 2, 0) for i in idx]
    rows += [rendered[i].permute(1, 2, 0).clamp(0, 1) for i in idx]
    near_far = depth_range([depth[i] for i in idx], [alpha[i] for i in idx])
    rows += [colorize_depth(depth[i], alpha[i], *(near_far or (None, None))) for i in idx]
    sheet = contact_sheet(rows, columns=v, row_labels=["teacher", "decoder", "depth"], depth_range=near_far)
    return write_png(sheet, path, overwrite=True)
