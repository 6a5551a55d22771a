"""Decoder checkpoints: ours (safetensors + YAML config) and Lyra's released ``.pt`` files.

Ours is a folder::

    config.yaml        the DecoderCfg, human-readable
    model.safetensors  the weights (no pickle anywhere)

Lyra's ``lyra_static.pt`` / ``lyra_dynamic.pt`` are DeepSpeed-style dicts with the weights under
``module``. They are read with ``torch.load(weights_only=True)``, which refuses to unpickle
anything but tensors and plain containers, and mapped onto our names. Our module names mirror
Lyra-1's (``patch_embed``, ``patch_plucker_embed``, ``patch_time_embed(_tgt)``, ``enc_blocks.i``,
``enc_norm``, ``deconv``), so the mapping strips the DeepSpeed/DDP prefixes and renames only
what differs (:data:`LYRA_RENAMES`). Any key left missing or unexpected is an error that lists
the keys, never a silent partial load.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

import torch

from lyra_sim.errors import LyraSimError, MissingWeightsError
from lyra_sim.io.archive import check_torch_file
from lyra_sim.io.atomic import check_writable
from lyra_sim.models.config import DecoderCfg, load_decoder_cfg
from lyra_sim.models.decoder import LatentGaussianDecoder
from lyra_sim.models.embedded import embedded_decoder_dir, embedded_or_path

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "model.safetensors"

LYRA_RENAMES: list[tuple[str, str]] = []
"""(regex, replacement) pairs applied to Lyra's parameter names after prefix stripping.

Empty because our names are Lyra's. The one part we could not check against Lyra's source is
inside the Mamba-2 blocks (Lyra's ``src/models/utils/mamba2.py`` was not available to us); we use
mamba_ssm's names with a ``_b`` suffix for the backward scan. If a real checkpoint reports
missing/unexpected ``enc_blocks.*.mixer.*`` keys, the fix is a rename here."""

LYRA_IGNORED_PREFIXES = ("lpips", "loss_fn", "gs.", "vae.")
"""Non-decoder modules a training checkpoint may carry (perceptual loss, renderer, tokenizer)."""


class CheckpointError(LyraSimError):
    """A checkpoint does not fit the model (missing/unexpected keys or wrong shapes)."""


def save_decoder(model: LatentGaussianDecoder, folder: str | Path, overwrite: bool = False) -> Path:
    """Write ``model`` as ``folder/config.yaml`` + ``folder/model.safetensors`` (atomically per file)."""
    from omegaconf import OmegaConf
    from safetensors.torch import save_file

    folder = Path(folder)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        check_writable(folder / name, overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    from lyra_sim.io import atomic_output

    with atomic_output(folder / CONFIG_FILE, overwrite) as tmp:
        tmp.write_text(OmegaConf.to_yaml(OmegaConf.create(asdict(model.cfg))))
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_output(folder / WEIGHTS_FILE, overwrite) as tmp:
        save_file(state, str(tmp), metadata={"format": "lyra-sim-decoder"})
    return folder


def load_decoder(folder: str | Path, device: str | torch.device = "cpu", codec=None) -> LatentGaussianDecoder:
    """Load a decoder saved by :func:`save_decoder` (a missing folder says what to do)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise MissingWeightsError(
            f"{folder}: no decoder checkpoint here (expected {CONFIG_FILE} and {WEIGHTS_FILE}); "
            "train one with `lyra-sim train` or point to a folder written by save_decoder"
        )
    cfg = load_decoder_cfg(folder / CONFIG_FILE)
    model = LatentGaussianDecoder(cfg, codec=codec)
    _load_strict(model, load_file(str(folder / WEIGHTS_FILE)), str(folder))
    return model.to(device)


def load_embedded_decoder(device: str | torch.device = "cpu") -> LatentGaussianDecoder:
    """The shipped decoder (:mod:`lyra_sim.models.embedded`), in eval mode."""
    return load_decoder(embedded_decoder_dir(), device=device).eval()


TIME_EMBEDDING_PREFIXES = ("patch_time_embed.", "patch_time_embed_tgt.")


def init_from_decoder(model: LatentGaussianDecoder, folder: str | Path) -> LatentGaussianDecoder:
    """Copy a saved decoder's weights into ``model`` (same architecture), in place.

    A static decoder may initialise a dynamic one, as Lyra's stage 8 starts from its static
    stage-6 weights: the time embeddings the static weights lack keep their zero init, so the
    dynamic decoder starts out computing exactly the static one's function. Any other mismatch
    is a :class:`CheckpointError` listing the keys. ``folder`` may also be "embedded", the
    decoder shipped in the package.
    """
    from safetensors.torch import load_file

    folder = embedded_or_path(folder)
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise MissingWeightsError(f"{folder}: no decoder checkpoint here (expected {CONFIG_FILE} and {WEIGHTS_FILE}) to initialise from")
    source_cfg = load_decoder_cfg(folder / CONFIG_FILE)
    state = load_file(str(folder / WEIGHTS_FILE))
    if model.cfg.time_embedding and not source_cfg.time_embedding:
        own = model.state_dict()
        state.update({k: v for k, v in own.items() if k.startswith(TIME_EMBEDDING_PREFIXES)})
    _load_strict(model, state, str(folder))
    return model


def lyra_state_dict_to_ours(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a Lyra checkpoint's keys to ours (prefix stripping + :data:`LYRA_RENAMES`)."""
    out = {}
    for key, value in state.items():
        name = key
        for prefix in ("module.", "model.", "_orig_mod."):
            while name.startswith(prefix):
                name = name[len(prefix):]
        if name.startswith(LYRA_IGNORED_PREFIXES):
            continue
        for pattern, repl in LYRA_RENAMES:
            name = re.sub(pattern, repl, name)
        out[name] = value
    return out


def load_lyra_checkpoint(path: str | Path, cfg: DecoderCfg | str | Path, device: str | torch.device = "cpu", codec=None) -> LatentGaussianDecoder:
    """Build a decoder from ``cfg`` and load Lyra's released weights into it.

    Args:
        path: ``lyra_static.pt`` or ``lyra_dynamic.pt`` (download them yourself from
            ``nvidia/Lyra`` on Hugging Face; nothing is downloaded here).
        cfg: a DecoderCfg or a YAML path, e.g. ``configs/model/lyra_full.yaml``.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(
            f"{path}: Lyra checkpoint not found; download lyra_static.pt / lyra_dynamic.pt from the "
            "nvidia/Lyra model page and pass its local path"
        )
    check_torch_file(path)
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickle refusals and corrupt files alike
        raise CheckpointError(f"{path}: cannot be read as a weights-only checkpoint ({err})") from None
    state = raw
    for key in ("module", "state_dict", "model"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a dict of tensors (optionally under 'module'), got {type(state).__name__}")
    cfg = cfg if isinstance(cfg, DecoderCfg) else load_decoder_cfg(cfg)
    model = LatentGaussianDecoder(cfg, codec=codec)
    _load_strict(model, lyra_state_dict_to_ours(state), str(path))
    return model.to(device)


def _load_strict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        lines = [f"{source} does not fit this decoder configuration:"]
        if missing:
            lines.append(f"  missing ({len(missing)}): {', '.join(missing[:20])}{' ...' if len(missing) > 20 else ''}")
        if unexpected:
            lines.append(f"  unexpected ({len(unexpected)}): {', '.join(unexpected[:20])}{' ...' if len(unexpected) > 20 else ''}")
        if wrong:
            lines.append("  wrong shape: " + ", ".join(f"{k} {list(state[k].shape)} vs {list(own[k].shape)}" for k in wrong[:10]))
        lines.append("  check that the config matches the checkpoint (e.g. configs/model/lyra_full.yaml for lyra_static.pt)")
        raise CheckpointError("\n".join(lines))
    model.load_state_dict(state, strict=True)


def parameter_count(model: torch.nn.Module) -> dict[str, int]:
    """Parameters per top-level module and in total."""
    counts: dict[str, int] = {}
    for name, p in model.named_parameters():
        top = name.split(".")[0]
        counts[top] = counts.get(top, 0) + p.numel()
    counts["total"] = sum(p.numel() for p in model.parameters())
    return counts
