"""Multi-node DDP launch of the trainer as GPU clusters do it: two ``torchrun`` launchers, one per
"node" (both on localhost here, one process each, gloo on CPU), meeting through the c10d
rendezvous (``--rdzv-backend c10d --rdzv-endpoint HOST:PORT --rdzv-id JOB``). They train one
model: both ranks end with the same weights after training on different samples. (One launcher
with two processes: test_trainer.py's two-process test.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
from tiny_setup import REPO, TINY_CONFIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_meet_through_c10d_rendezvous_and_train_one_model(tiny_data, tmp_path):
    dump = tmp_path / "dump"
    dump.mkdir()
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
    endpoint = f"127.0.0.1:{free_port()}"
    worker = [str(Path(__file__).parent / "ddp_worker.py"), str(TINY_CONFIG), str(tmp_path / "run"), str(dump),
              f"data.roots=[{tiny_data}]", "stages.0.steps=2", "stages.1.steps=1", "checkpoint_every=100", "stages.0.batch_size=2"]
    nodes = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
                               "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint, "--rdzv-id", "lyra-multinode-test",
                               *worker], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    logs = []
    for node in nodes:
        try:
            logs.append(node.communicate(timeout=300)[0])
        finally:
            node.kill()
    assert all(n.returncode == 0 for n in nodes), "\n---\n".join(log[-3000:] for log in logs)
    r0, r1 = (torch.load(dump / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert all(torch.equal(r0["state"][k], r1["state"][k]) for k in r0["state"])
    assert r0["scenes"] != r1["scenes"]  # each node trained on its own share of the data
