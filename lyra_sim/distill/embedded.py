"""How the decoder that ships inside lyra-sim is trained (``configs/train/embedded.yaml``).

The embedded decoder (``configs/model/embedded.yaml``: DCT-codec latents, 4 blocks of width
128 = 3 Mamba-2 + 1 attention, 0.61 M parameters, one Gaussian per 8x8 pixels) is distilled
from the procedural teacher with Lyra's progressive curriculum, shrunk to its size:

=====  ========================  ==========  ===================  =========  =====================
stage  name                      image       inputs               targets    notes
=====  ========================  ==========  ===================  =========  =====================
1      res48x80_f17              48x80       1 traj x 17 frames   17         RGB encoded on the fly
2      res96x176_f17             96x176      1 x 17               17
3      res176x320_f17            176x320     1 x 17               17         the embedded size
4      res176x320_f49_latents    176x320     1 x 49               9          stored teacher latents
5      res176x320_f49_multi6     176x320     1..6 x 49            4 / traj   late-biased targets
6      ..._multi6_prune          176x320     1..6 x 49            4 / traj   keep 20 %, opacity 0.1
=====  ========================  ==========  ===================  =========  =====================

45,000 optimiser steps in all, every stage continuing from the previous one's weights,
optimiser and schedule. What it takes:

* data: ``lyra-sim sdg --prompts configs/prompts/sdg_prompts.txt --num-scenes 1024 --out
  data/sdg_embedded`` (49 frames of 320x176 per trajectory, six trajectories, depth, latents
  and ground-truth meshes; ~2-3 scenes per minute per CPU process, shard with ``--shard k/N``);
  the last 16 scenes are held out (``data.holdout_scenes``) for ``lyra-sim eval``;
* compute: a GPU run (``lyra-sim train --config configs/train/embedded.yaml``, or ``torchrun
  --nproc_per_node N -m lyra_sim.cli train ...``); the CPU rates measured by
  ``bench/train.py`` put the full curriculum at days on a laptop, so the CPU only runs the tiny
  config (``configs/train/tiny.yaml``) and short smoke runs of this one;
* afterwards: ``lyra-sim eval --decoder runs/embedded --data data/sdg_embedded --holdout 16
  --out runs/embedded/eval``, then ship ``runs/embedded/decoder/`` (config.yaml +
  model.safetensors) as the package's embedded checkpoint.

:func:`train_embedded` is that command as a function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from lyra_sim.errors import InvalidInputError

EMBEDDED_TRAIN_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "train" / "embedded.yaml"


def embedded_train_config() -> Path:
    """``configs/train/embedded.yaml`` of a source checkout (configs are not in the wheel)."""
    if not EMBEDDED_TRAIN_CONFIG.is_file():
        raise InvalidInputError(
            f"{EMBEDDED_TRAIN_CONFIG} not found: the training configs live in the lyra-sim source tree "
            "(git clone the repository and run from it)"
        )
    return EMBEDDED_TRAIN_CONFIG


def train_embedded(data_root: str | Path, out_dir: str | Path = "runs/embedded", overrides: Sequence[str] = (), resume: bool = False,
                   overwrite: bool = False, quiet: bool = False, max_steps: int | None = None):
    """Train the embedded decoder on ``lyra-sim sdg`` output (see the module docstring).

    Returns the :class:`~lyra_sim.distill.trainer.TrainResult`; the decoder to ship is
    ``<out_dir>/decoder`` once the last stage has finished.
    """
    from lyra_sim.distill.config import load_train_cfg
    from lyra_sim.distill.trainer import train

    cfg = load_train_cfg(embedded_train_config(), [f"data.roots=[{data_root}]", f"out_dir={out_dir}", *overrides])
    return train(cfg, resume=resume, overwrite=overwrite, quiet=quiet, max_steps=max_steps)
