"""The ``lyra-sim generate`` command line a UI runs in a child process to make a scene from a prompt.

Generation takes minutes and its own memory, so Isaac Sim's extension does not call it in its
own process: it runs the command below and loads the folder it writes (``scene.usdz``: Gaussians,
collider, physics scene, spawn points).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from lyra_sim.errors import InvalidInputError


def generate_argv(prompt: str, out: str | Path) -> list[str]:
    """The argv that generates the world of ``prompt`` into the folder ``out``.

    Uses the ``lyra-sim`` executable on PATH, else this interpreter with ``-m lyra_sim.cli``.

    Raises:
        InvalidInputError: the prompt is empty.
    """
    if not prompt.strip():
        raise InvalidInputError("the prompt is empty; describe the scene, e.g. 'a living room with a sofa'")
    exe = shutil.which("lyra-sim")
    head = [exe] if exe else [sys.executable, "-m", "lyra_sim.cli"]
    return [*head, "generate", "--prompt", prompt.strip(), "--out", str(out)]
