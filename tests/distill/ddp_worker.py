"""Run under ``torchrun --nproc_per_node 2``: train the tiny config and dump this rank's weights.

Usage: ddp_worker.py CONFIG OUT_DIR DUMP_DIR [key=value ...]
Each rank writes DUMP_DIR/rank<r>.pt with its final parameters and the scenes it trained on.
"""

import os
import sys
from pathlib import Path

import torch

from lyra_sim.distill import Trainer, load_train_cfg


def main() -> None:
    config, out_dir, dump = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    cfg = load_train_cfg(config, [f"out_dir={out_dir}", *sys.argv[4:]])
    trainer = Trainer(cfg, overwrite=True, quiet=True)
    seen: list[int] = []
    original = trainer.sample_loss

    def record(stage, item):
        seen.append(int(item["scene_index"]))
        return original(stage, item)

    trainer.sample_loss = record
    try:
        result = trainer.run()
        rank = int(os.environ["RANK"])
        state = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        torch.save({"state": state, "scenes": seen, "losses": result.losses, "world": trainer.dist.world_size}, dump / f"rank{rank}.pt")
    finally:
        trainer.close()


if __name__ == "__main__":
    main()
