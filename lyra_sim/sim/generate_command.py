"""The ``lyra-sim generate`` command line a UI runs in a child process to make a scene from a prompt.

Generation takes minutes and its own memory, so Isaac Sim's extension does not call it in its
own process: it runs the command below and loads the folder it writes (``scene.usdz``: Gaussians,
collider, physics scene, spawn points). ``generate`` may be missing from an older lyra-sim;
:func:`generate_unavailable` says so in words a UI can show.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from lyra_sim.errors import InvalidInputError


def _generate_parser():
    import argparse

    from lyra_sim.cli import build_parser

    for action in build_parser()._actions:  # argparse has no public way to list subcommands
        if isinstance(action, argparse._SubParsersAction) and "generate" in action.choices:
            return action.choices["generate"]
    return None


def generate_unavailable() -> str | None:
    """None when this lyra-sim has a ``generate`` command, else why a prompt cannot be used."""
    if _generate_parser() is None:
        return ("this lyra-sim has no `generate` command yet (prompt -> world is still being built); "
                "export a scene with `lyra-sim export` and load its folder instead")
    return None


def generate_argv(prompt: str, out: str | Path) -> list[str]:
    """The argv that generates the world of ``prompt`` into the folder ``out``.

    Uses the ``lyra-sim`` executable on PATH, else this interpreter with ``-m lyra_sim.cli``.

    Raises:
        InvalidInputError: empty prompt, or no ``generate`` command (see :func:`generate_unavailable`).
    """
    if not prompt.strip():
        raise InvalidInputError("the prompt is empty; describe the scene, e.g. 'a living room with a sofa'")
    reason = generate_unavailable()
    if reason:
        raise InvalidInputError(reason)
    exe = shutil.which("lyra-sim")
    head = [exe] if exe else [sys.executable, "-m", "lyra_sim.cli"]
    return [*head, "generate", "--prompt", prompt.strip(), "--out", str(out)]
