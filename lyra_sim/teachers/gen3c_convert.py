"""Convert GEN3C's released checkpoint to diffusers-format folders, by key mapping.

GEN3C ships ``Gen3C-Cosmos-7B/model.pt`` (cosmos_predict1's ``net.*`` keys) and uses the
TorchScript tokenizer ``Cosmos-Tokenize1-CV8x8x8-720p/{autoencoder.jit, mean_std.pt}``.
``model.pt`` and ``mean_std.pt`` are read with ``torch.load(weights_only=True)``; the tokenizer's
weights can only be reached through ``torch.jit.load``, which deserialises code stored in the
file, so it is loaded only with ``trust_torchscript=True`` (CLI: ``--trust-torchscript``). diffusers
has the same architectures (``CosmosTransformer3DModel``, ``AutoencoderKLCosmos``) under other
names; this module renames every tensor, refuses keys it does not know (listing them), checks
that every parameter of the target model was filled with the right shape, and writes::

    OUT_DIR/
      transformer/   config.json + diffusion_pytorch_model*.safetensors   (the GEN3C DiT)
      vae/           config.json + diffusion_pytorch_model.safetensors    (the CV8x8x8 tokenizer)
      gen3c_conversion.json                                                (sources, dropped keys)

The DiT is written in the torchvision-free form: GEN3C's 81 input channels plus the all-zero
padding-mask channel as an 82nd ordinary input channel (``in_channels=82,
concat_padding_mask=False``). The patch-embedding weight is the same (4096, 328) matrix either
way and, because the padding mask is zero at inference, the network computes the same function
(``gen3c-facts.md`` §4.3). Key names: ``gen3c-facts.md`` §4.2 and diffusers'
``convert_cosmos_to_diffusers.py`` (whose VAE renaming table is used here as data).

The output folder is built next to ``out_dir`` under a temporary name and renamed into place, so
an interrupted conversion leaves nothing half-written; an existing ``out_dir`` is replaced only
with ``overwrite=True``.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor

from lyra_sim.errors import InvalidInputError, MissingWeightsError, OutputExistsError
from lyra_sim.io.archive import check_torch_file
from lyra_sim.teachers.local_weights import PathLike

GEN3C_ROPE_SCALE = (2.0, 1.0, 1.0)
"""GEN3C's ``rope_{t,h,w}_extrapolation_ratio`` (diffusers' ``rope_scale``)."""

COSMOS_CV8X8X8_VAE_CONFIG = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 16,
    "encoder_block_out_channels": (128, 256, 512, 512),
    "decode_block_out_channels": (256, 512, 512, 512),
    "attention_resolutions": (32,),
    "resolution": 1024,
    "num_layers": 2,
    "patch_size": 4,
    "patch_type": "haar",
    "scaling_factor": 1.0,
    "spatial_compression_ratio": 8,
    "temporal_compression_ratio": 8,
}
"""diffusers' ``AutoencoderKLCosmos`` hyper-parameters of the CV8x8x8 tokenizer (continuous_video:
channels 128, mult [2, 4, 4], 2 res blocks, attention at 32, haar patch 4)."""

TRANSFORMER_CKPT_CANDIDATES = ("model.pt", "Gen3C-Cosmos-7B/model.pt", "GEN3C-Cosmos-7B/model.pt")
TOKENIZER_DIR_CANDIDATES = (".", "Cosmos-Tokenize1-CV8x8x8-720p", "cosmos_predict1/Cosmos-Tokenize1-CV8x8x8-720p")
CKPT_LAYOUT_HINT = (
    "Expected GEN3C's checkpoints folder as Lyra's download script makes it: CKPT_DIR/Gen3C-Cosmos-7B/model.pt "
    "(`huggingface-cli download nvidia/GEN3C-Cosmos-7B --local-dir CKPT_DIR/Gen3C-Cosmos-7B`) and "
    "CKPT_DIR/Cosmos-Tokenize1-CV8x8x8-720p/{autoencoder.jit, mean_std.pt} (`huggingface-cli download "
    "nvidia/Cosmos-Tokenize1-CV8x8x8-720p --local-dir CKPT_DIR/Cosmos-Tokenize1-CV8x8x8-720p`); model.pt, "
    "autoencoder.jit and mean_std.pt directly in CKPT_DIR work too."
)

# --------------------------------------------------------------------------- the DiT

# Keys that hold no weights of the network at inference: the EDM loss weighting (logvar), RoPE
# buffers recomputed by diffusers (pos_embedder), training counters (accum_*), and
# transformer_engine's serialisation state.
_DROP = (re.compile(r"^logvar\."), re.compile(r"^pos_embedder\."), re.compile(r"^accum_"), re.compile(r"_extra_state$"))

_TOP_RULES: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"^x_embedder\.proj\.1\.(weight|bias)$", r"patch_embed.proj.\1"),
        (r"^t_embedder\.1\.linear_(1|2)\.(weight|bias)$", r"time_embed.t_embedder.linear_\1.\2"),
        (r"^affline_norm\.weight$", r"time_embed.norm.weight"),
        (r"^extra_pos_embedder\.pos_emb_(t|h|w)$", r"learnable_pos_embed.pos_emb_\1"),
        (r"^final_layer\.adaLN_modulation\.(1|2)\.(weight|bias)$", r"norm_out.linear_\1.\2"),
        (r"^final_layer\.linear\.(weight|bias)$", r"proj_out.\1"),
    )
)

# Inside ``blocks.blockN.``: sub-block 0 = self-attention, 1 = cross-attention, 2 = MLP, each
# with its own adaLN(-LoRA) modulation (``adaLN_modulation`` = Sequential(SiLU, Linear, Linear)).
_BLOCK_RULES: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"^blocks\.0\.block\.attn\.to_(q|k|v)\.0\.(weight|bias)$", r"attn1.to_\1.\2"),
        (r"^blocks\.0\.block\.attn\.to_(q|k)\.1\.weight$", r"attn1.norm_\1.weight"),
        (r"^blocks\.0\.block\.attn\.to_out\.0\.(weight|bias)$", r"attn1.to_out.0.\1"),
        (r"^blocks\.1\.block\.attn\.to_(q|k|v)\.0\.(weight|bias)$", r"attn2.to_\1.\2"),
        (r"^blocks\.1\.block\.attn\.to_(q|k)\.1\.weight$", r"attn2.norm_\1.weight"),
        (r"^blocks\.1\.block\.attn\.to_out\.0\.(weight|bias)$", r"attn2.to_out.0.\1"),
        (r"^blocks\.0\.adaLN_modulation\.(1|2)\.(weight|bias)$", r"norm1.linear_\1.\2"),
        (r"^blocks\.1\.adaLN_modulation\.(1|2)\.(weight|bias)$", r"norm2.linear_\1.\2"),
        (r"^blocks\.2\.adaLN_modulation\.(1|2)\.(weight|bias)$", r"norm3.linear_\1.\2"),
        (r"^blocks\.2\.block\.layer1\.(weight|bias)$", r"ff.net.0.proj.\1"),
        (r"^blocks\.2\.block\.layer2\.(weight|bias)$", r"ff.net.2.\1"),
    )
)
_BLOCK = re.compile(r"^blocks\.block(\d+)\.(.+)$")


def gen3c_transformer_key(key: str) -> str | None:
    """The diffusers name of one cosmos_predict1 DiT key (without the ``net.`` prefix).

    Returns:
        the ``CosmosTransformer3DModel`` parameter name, ``""`` for a key that is dropped on
        purpose (loss weighting, RoPE buffers, training counters), None for an unknown key.
    """
    if any(p.search(key) for p in _DROP):
        return ""
    for pattern, repl in _TOP_RULES:
        if pattern.match(key):
            return pattern.sub(repl, key)
    m = _BLOCK.match(key)
    if m:
        for pattern, repl in _BLOCK_RULES:
            if pattern.match(m.group(2)):
                return f"transformer_blocks.{m.group(1)}." + pattern.sub(repl, m.group(2))
    return None


def map_gen3c_state_dict(state: Mapping[str, Tensor]) -> tuple[dict[str, Tensor], list[str]]:
    """Rename a GEN3C ``model.pt`` state dict to diffusers' names.

    Args:
        state: the checkpoint's tensors (``net.*`` and ``logvar.*`` keys; a ``"model"`` wrapper
            already removed).

    Returns:
        (diffusers state dict, the original keys that were dropped on purpose).

    Raises:
        InvalidInputError: some keys are unknown (all of them are listed), or two keys map to one name.
    """
    out: dict[str, Tensor] = {}
    dropped: list[str] = []
    unknown: list[str] = []
    for key, value in state.items():
        if key.startswith("logvar."):
            dropped.append(key)
            continue
        inner = key.removeprefix("net.")
        new = gen3c_transformer_key(inner)
        if new is None:
            unknown.append(key)
        elif new == "":
            dropped.append(key)
        elif new in out:
            raise InvalidInputError(f"GEN3C checkpoint: two keys map to {new!r} (one of them is {key!r})")
        else:
            out[new] = value
    if unknown:
        raise InvalidInputError(
            f"GEN3C checkpoint has {len(unknown)} key(s) the converter does not know, so it refuses to guess: "
            + ", ".join(sorted(unknown)[:40]) + (" ..." if len(unknown) > 40 else "")
            + ". Is this GEN3C-Cosmos-7B's model.pt (cosmos_predict1 FADITV2 keys, 'net.' prefix)?"
        )
    return out, dropped


def infer_transformer_config(state: Mapping[str, Tensor]) -> dict:
    """``CosmosTransformer3DModel`` config of a renamed GEN3C state dict, read off the tensor shapes.

    GEN3C-Cosmos-7B gives hidden 4096 = 32 heads x 128, 28 layers, mlp 4, text 1024, adaLN-LoRA 256,
    max size (128, 240, 240), and 82 input channels (GEN3C's 81 + the zero padding mask).
    """
    def need(key: str) -> Tensor:
        if key not in state:
            raise InvalidInputError(f"GEN3C checkpoint lacks the tensor that maps to {key!r}; it is incomplete")
        return state[key]

    patch = (1, 2, 2)
    hidden, patch_in = need("patch_embed.proj.weight").shape
    per_patch = patch[0] * patch[1] * patch[2]
    head_dim = need("transformer_blocks.0.attn1.norm_q.weight").numel()
    layers = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("transformer_blocks."))
    cfg = {
        "in_channels": patch_in // per_patch,
        "out_channels": need("proj_out.weight").shape[0] // per_patch,
        "num_attention_heads": hidden // head_dim,
        "attention_head_dim": head_dim,
        "num_layers": layers,
        "mlp_ratio": need("transformer_blocks.0.ff.net.0.proj.weight").shape[0] / hidden,
        "text_embed_dim": need("transformer_blocks.0.attn2.to_k.weight").shape[1],
        "adaln_lora_dim": need("transformer_blocks.0.norm1.linear_1.weight").shape[0],
        "patch_size": patch,
        "rope_scale": GEN3C_ROPE_SCALE,
        "concat_padding_mask": False,
        "extra_pos_embed_type": None,
        "max_size": (128, 240, 240),
    }
    if "learnable_pos_embed.pos_emb_t" in state:
        cfg["extra_pos_embed_type"] = "learnable"
        cfg["max_size"] = tuple(
            state[f"learnable_pos_embed.pos_emb_{a}"].shape[0] * p for a, p in zip("thw", patch)
        )
    if patch_in % per_patch or cfg["in_channels"] != 82:
        raise InvalidInputError(
            f"GEN3C checkpoint: the patch embedding takes {patch_in} = {patch_in / per_patch:g} x {per_patch} inputs; "
            "GEN3C's is 82 x 4 (16 latent + 1 mask + 64 warped-frame latents + 1 padding mask). A Cosmos "
            "Video2World checkpoint (18 x 4) is not GEN3C."
        )
    return cfg


# --------------------------------------------------------------------------- the tokenizer

# diffusers' VAE_KEYS_RENAME_DICT, applied in this order as substring replacements.
COSMOS_VAE_RENAMES: tuple[tuple[str, str], ...] = (
    ("down.0", "down_blocks.0"),
    ("down.1", "down_blocks.1"),
    ("down.2", "down_blocks.2"),
    ("up.0", "up_blocks.2"),
    ("up.1", "up_blocks.1"),
    ("up.2", "up_blocks.0"),
    (".block.", ".resnets."),
    ("downsample", "downsamplers.0"),
    ("upsample", "upsamplers.0"),
    ("mid.block_1", "mid_block.resnets.0"),
    ("mid.attn_1.0", "mid_block.attentions.0"),
    ("mid.attn_1.1", "mid_block.temp_attentions.0"),
    ("mid.block_2", "mid_block.resnets.1"),
    (".q.conv3d", ".to_q"),
    (".k.conv3d", ".to_k"),
    (".v.conv3d", ".to_v"),
    (".proj_out.conv3d", ".to_out.0"),
    (".0.conv3d", ".conv_s"),
    (".1.conv3d", ".conv_t"),
    ("conv1.conv3d", "conv1"),
    ("conv2.conv3d", "conv2"),
    ("conv3.conv3d", "conv3"),
    ("nin_shortcut.conv3d", "conv_shortcut"),
    ("quant_conv.conv3d", "quant_conv"),
    ("post_quant_conv.conv3d", "post_quant_conv"),
)
_VAE_DROP = ("wavelets", "_arange", "patch_size_buffer")  # fixed buffers the diffusers model rebuilds


def map_cosmos_vae_state_dict(state: Mapping[str, Tensor]) -> tuple[dict[str, Tensor], list[str]]:
    """Rename ``autoencoder.jit``'s state dict to ``AutoencoderKLCosmos`` names; (renamed, dropped keys)."""
    out: dict[str, Tensor] = {}
    dropped: list[str] = []
    for key, value in state.items():
        if any(d in key for d in _VAE_DROP):
            dropped.append(key)
            continue
        new = key
        for old, rep in COSMOS_VAE_RENAMES:
            new = new.replace(old, rep)
        out[new] = value
    return out, dropped


# --------------------------------------------------------------------------- driver


def convert_gen3c_checkpoint(
    ckpt_dir: PathLike,
    out_dir: PathLike,
    *,
    overwrite: bool = False,
    vae_config: Mapping | None = None,
    max_shard_size: str = "5GB",
    trust_torchscript: bool = False,
) -> Path:
    """Write diffusers-format ``transformer/`` and ``vae/`` folders from GEN3C's released files.

    Args:
        ckpt_dir: folder with ``model.pt`` and the tokenizer (see :data:`CKPT_LAYOUT_HINT`).
        out_dir: the folder to create (Gen3CTeacher's weights folder).
        overwrite: replace an existing ``out_dir``. Defaults to False.
        vae_config: ``AutoencoderKLCosmos`` hyper-parameters of the tokenizer; None: CV8x8x8
            (:data:`COSMOS_CV8X8X8_VAE_CONFIG`). Defaults to None.
        max_shard_size: safetensors shard size of the DiT. Defaults to "5GB".
        trust_torchscript: load the tokenizer's ``autoencoder.jit`` with ``torch.jit.load``, which
            runs code stored in the file: only for files from a source you trust (NVIDIA's
            ``nvidia/Cosmos-Tokenize1-CV8x8x8-720p``). Defaults to False (refused, nothing read).

    Returns:
        ``out_dir``.

    Raises:
        MissingWeightsError: a source file is missing (the message lists the expected layout).
        InvalidInputError: unknown keys (listed), missing tensors or wrong shapes; or
            ``trust_torchscript`` is False.
        OutputExistsError: ``out_dir`` exists and ``overwrite`` is False.
    """
    src = Path(ckpt_dir).expanduser()
    dst = Path(out_dir).expanduser()
    if not src.is_dir():
        raise MissingWeightsError(f"GEN3C checkpoint: {src} does not exist or is not a folder. {CKPT_LAYOUT_HINT}")
    model_pt = _first_file(src, TRANSFORMER_CKPT_CANDIDATES)
    tok_dir = next((src / d for d in TOKENIZER_DIR_CANDIDATES if (src / d / "autoencoder.jit").is_file()), None)
    missing = [n for n, ok in (("model.pt", model_pt), ("autoencoder.jit", tok_dir)) if ok is None]
    if tok_dir is not None and not (tok_dir / "mean_std.pt").is_file():
        missing.append(f"{tok_dir.name}/mean_std.pt")
    if missing:
        raise MissingWeightsError(f"GEN3C checkpoint: {src} lacks {', '.join(missing)}. {CKPT_LAYOUT_HINT}")
    if dst.exists() and not overwrite:
        raise OutputExistsError(dst)
    if not trust_torchscript:
        raise InvalidInputError(
            f"{tok_dir / 'autoencoder.jit'} is TorchScript: loading it runs code stored in the file, so lyra-sim "
            "loads it only when told to; if it came from a source you trust (nvidia/Cosmos-Tokenize1-CV8x8x8-720p), "
            "pass --trust-torchscript (Python: trust_torchscript=True)"
        )

    import diffusers  # slow import, paid only by users of real teachers

    tmp = dst.parent / f".{dst.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        report = {"source": str(src.resolve()), "transformer_checkpoint": str(model_pt), "tokenizer": str(tok_dir)}
        report["transformer_dropped_keys"] = _convert_transformer(model_pt, tmp / "transformer", diffusers, max_shard_size)
        report["vae_dropped_keys"] = _convert_vae(tok_dir, tmp / "vae", diffusers, dict(vae_config or COSMOS_CV8X8X8_VAE_CONFIG))
        (tmp / "gen3c_conversion.json").write_text(json.dumps(report, indent=2) + "\n")
        _replace_dir(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dst


def _first_file(root: Path, candidates) -> Path | None:
    return next((root / c for c in candidates if (root / c).is_file()), None)


def _load_checkpoint(path: Path) -> dict[str, Tensor]:
    check_torch_file(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # not a zip-format file: mmap is unavailable
        obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, Mapping) and "model" in obj and isinstance(obj["model"], Mapping):
        obj = obj["model"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise InvalidInputError(f"{path} is not a state dict of tensors (nor a dict with one under 'model')")
    return dict(obj)


def _check_against(model: torch.nn.Module, state: Mapping[str, Tensor], what: str) -> None:
    expected = model.state_dict()
    unexpected = sorted(set(state) - set(expected))
    absent = sorted(set(expected) - set(state))
    wrong = sorted(k for k in set(state) & set(expected) if tuple(state[k].shape) != tuple(expected[k].shape))
    problems = []
    if unexpected:
        problems.append(f"{len(unexpected)} tensor(s) the diffusers model has no place for: {', '.join(unexpected[:20])}")
    if absent:
        problems.append(f"{len(absent)} parameter(s) not in the checkpoint: {', '.join(absent[:20])}")
    if wrong:
        problems.append("wrong shapes: " + ", ".join(f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}" for k in wrong[:10]))
    if problems:
        raise InvalidInputError(f"{what}: " + "; ".join(problems))


def _convert_transformer(model_pt: Path, out: Path, diffusers, max_shard_size: str) -> list[str]:
    state, dropped = map_gen3c_state_dict(_load_checkpoint(model_pt))
    cfg = infer_transformer_config(state)
    with torch.device("meta"):
        model = diffusers.CosmosTransformer3DModel(**cfg)
    _check_against(model, state, f"GEN3C transformer {model_pt}")
    model.load_state_dict(state, strict=True, assign=True)
    model.save_pretrained(out, safe_serialization=True, max_shard_size=max_shard_size)
    return dropped


def _convert_vae(tok_dir: Path, out: Path, diffusers, cfg: dict) -> list[str]:
    # Only reached with trust_torchscript=True (checked in convert_gen3c_checkpoint).
    check_torch_file(tok_dir / "autoencoder.jit")
    jit = torch.jit.load(str(tok_dir / "autoencoder.jit"), map_location="cpu")
    state, dropped = map_cosmos_vae_state_dict({k: v.detach() for k, v in jit.state_dict().items()})
    check_torch_file(tok_dir / "mean_std.pt")
    stats = torch.load(tok_dir / "mean_std.pt", map_location="cpu", weights_only=True)
    if isinstance(stats, Mapping):
        stats = (stats.get("mean"), stats.get("std"))
    if not isinstance(stats, (tuple, list)) or len(stats) != 2 or any(not isinstance(s, Tensor) for s in stats):
        raise InvalidInputError(f"{tok_dir / 'mean_std.pt'} must hold a (mean, std) pair of tensors")
    cfg.update(latents_mean=stats[0].float().flatten().tolist(), latents_std=stats[1].float().flatten().tolist())
    with torch.device("meta"):
        model = diffusers.AutoencoderKLCosmos(**cfg)
    _check_against(model, state, f"Cosmos tokenizer {tok_dir / 'autoencoder.jit'}")
    model.load_state_dict(state, strict=True, assign=True)
    model.save_pretrained(out, safe_serialization=True)
    return dropped


def _replace_dir(tmp: Path, dst: Path) -> None:
    """Move the finished ``tmp`` folder to ``dst``; an old ``dst`` is removed only after the move."""
    old = None
    if dst.exists():
        old = dst.parent / f".{dst.name}.old-{uuid.uuid4().hex[:8]}"
        dst.rename(old)
    tmp.rename(dst)
    if old is not None:
        shutil.rmtree(old) if old.is_dir() else old.unlink()
