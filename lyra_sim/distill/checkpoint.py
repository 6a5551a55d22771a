"""Resumable training checkpoints, written atomically.

A run folder holds::

    checkpoints/step_00000100/trainer.pt     model, optimiser, schedule, RNG and data position
    checkpoints/step_00000100/decoder/       the weights as a loadable decoder (save_decoder)
    checkpoints/latest                       name of the newest complete checkpoint
    decoder/                                 the final decoder of the run

Each checkpoint is assembled in a hidden temporary folder and renamed into place only when
complete, so a ``step_*`` folder that exists is whole; ``latest`` is replaced atomically after
the rename. A crash at any point leaves the previous checkpoint usable. ``trainer.pt`` holds
only tensors and plain containers and is read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import torch

from lyra_sim.errors import LyraSimError
from lyra_sim.io import atomic_directory, atomic_output
from lyra_sim.io.archive import check_torch_file
from lyra_sim.models import save_decoder

CHECKPOINTS = "checkpoints"
LATEST = "latest"
TRAINER_FILE = "trainer.pt"
DECODER_DIR = "decoder"
FORMAT = "lyra-sim-train"
_STEP_DIR = re.compile(r"^step_(\d+)$")


def checkpoint_name(step: int) -> str:
    return f"step_{step:08d}"


def save_checkpoint(run_dir: str | Path, step: int, state: dict, model: torch.nn.Module, keep: int = 5) -> Path:
    """Write ``checkpoints/step_<step>/`` atomically, point ``latest`` at it, drop old ones.

    Args:
        state: the trainer state (tensors and plain containers only).
        model: the decoder, also written as ``decoder/`` (config.yaml + model.safetensors).
        keep: how many of the newest checkpoints to keep (at least the new one).
    """
    root = Path(run_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    name = checkpoint_name(step)
    final = root / name
    with atomic_directory(final, overwrite=True) as tmp:  # the same step written again (after a resume) is swapped out
        torch.save({"format": FORMAT, **state}, tmp / TRAINER_FILE)
        save_decoder(model, tmp / DECODER_DIR)
        (tmp / "meta.json").write_text(json.dumps({"step": step, "format": FORMAT}) + "\n")
    with atomic_output(root / LATEST, overwrite=True) as t:
        t.write_text(name + "\n")
    for _, path in list_checkpoints(run_dir)[: -max(1, keep)]:
        if path != final:
            shutil.rmtree(path, ignore_errors=True)
    return final


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, oldest first, as (step, folder)."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = _STEP_DIR.match(p.name)
        if m and (p / TRAINER_FILE).is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The folder ``latest`` names, else the highest complete ``step_*``; None when there is none."""
    root = Path(run_dir) / CHECKPOINTS
    pointer = root / LATEST
    if pointer.is_file():
        path = root / pointer.read_text().strip()
        if _STEP_DIR.match(path.name) and (path / TRAINER_FILE).is_file():
            return path
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """The trainer state of a checkpoint folder (or of its ``trainer.pt``)."""
    path = Path(path)
    file = path / TRAINER_FILE if path.is_dir() else path
    if not file.is_file():
        raise LyraSimError(f"{path}: not a training checkpoint (no {TRAINER_FILE}); pass a checkpoints/step_* folder")
    check_torch_file(file)
    try:
        state = torch.load(file, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickle refusals and corrupt files alike
        raise LyraSimError(f"{file}: cannot be read as a training checkpoint ({err})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise LyraSimError(f"{file}: not a lyra-sim training checkpoint (format {state.get('format') if isinstance(state, dict) else None!r})")
    return state
