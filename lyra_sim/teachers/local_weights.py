"""Checking a user-named local weights folder before any library tries to load it.

lyra-sim never downloads weights. Every real model (depth estimators, text-to-image pipelines,
video teachers) loads from a folder the user names, with ``local_files_only=True``; a folder
that is missing or incomplete raises one :class:`MissingWeightsError` that names the folder
layout the loader expects and where the files come from, instead of whatever a library says
when it falls back to the Hub.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lyra_sim.errors import MissingWeightsError

PathLike = str | os.PathLike

# Any one of these holds a transformers / diffusers model's weights (single file or sharded).
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "diffusion_pytorch_model.safetensors",
    "diffusion_pytorch_model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def require_local_dir(
    path: PathLike | None,
    *,
    what: str,
    required: Sequence[str | Sequence[str]],
    hint: str,
) -> Path:
    """The folder ``path`` after checking it holds the ``required`` files.

    Args:
        path: the folder the user named (``~`` is expanded).
        what: what the folder should hold, for the message ("Depth Anything weights").
        required: file names relative to the folder; an entry that is a sequence of names is
            satisfied by any one of them (e.g. ``WEIGHT_FILES``).
        hint: where to get the files, e.g. a ``huggingface-cli download ... --local-dir DIR``
            command; it is part of every message.

    Raises:
        MissingWeightsError: ``path`` is None, not a folder, or lacks a required file. The
            message lists the expected layout.
    """
    layout = ", ".join(_describe(r) for r in required)
    if path is None:
        raise MissingWeightsError(f"{what}: no folder given. Expected a local folder holding {layout}. {hint}")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise MissingWeightsError(
            f"{what}: {root} does not exist or is not a folder. Expected a local folder holding {layout}; "
            f"lyra-sim never downloads weights. {hint}"
        )
    missing = [_describe(r) for r in required if not any((root / name).is_file() for name in _names(r))]
    if missing:
        raise MissingWeightsError(
            f"{what}: {root} lacks {', '.join(missing)}. Expected a local folder holding {layout}; "
            f"lyra-sim never downloads weights. {hint}"
        )
    return root


def _names(entry: str | Sequence[str]) -> tuple[str, ...]:
    return (entry,) if isinstance(entry, str) else tuple(entry)


def _describe(entry: str | Sequence[str]) -> str:
    names = _names(entry)
    return names[0] if len(names) == 1 else "one of (" + " | ".join(names) + ")"
