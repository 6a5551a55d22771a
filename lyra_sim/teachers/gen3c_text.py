"""GEN3C's text conditioning: T5 embeddings, computed once per prompt and cached on disk.

GEN3C encodes prompts with the encoder of ``google-t5/t5-11b`` (about 4.8 B parameters, ~10 GB
in bfloat16): ``last_hidden_state`` of the prompt padded to 512 tokens, with the positions past
the prompt's length set to zero (``gen3c-facts.md`` §1.4). Lyra's SDG always uses the empty prompt
and the default negative prompt, so two embeddings serve every scene: :class:`TextEmbeddingCache`
keeps each one in a small file and loads T5 only when a prompt is not cached yet.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch
from torch import Tensor

from lyra_sim.errors import InvalidInputError, MissingWeightsError
from lyra_sim.io.archive import check_torch_file
from lyra_sim.teachers.local_weights import WEIGHT_FILES, PathLike, require_local_dir

COSMOS_NEGATIVE_PROMPT = (
    "The video captures a series of frames showing ugly scenes, static with no motion, motion blur, "
    "over-saturation, shaky footage, low resolution, grainy texture, pixelated images, poorly lit areas, "
    "underexposed and overexposed scenes, poor color balance, washed out colors, choppy sequences, jerky "
    "movements, low frame rate, artifacting, color banding, unnatural transitions, outdated special effects, "
    "fake elements, unconvincing visuals, poorly edited content, jump cuts, visual noise, and flickering. "
    "Overall, the video is of poor quality."
)
"""The Cosmos-1 default negative prompt (cosmos_predict1's ``--negative_prompt`` default)."""

T5_HINT = (
    "Put the T5 encoder there: `huggingface-cli download google-t5/t5-11b --local-dir DIR/text_encoder` "
    "(Lyra's checkpoints/google-t5/t5-11b, or a symlink to it). It is needed only for prompts whose "
    "embeddings are not cached in DIR/text_embeddings/ yet; Lyra's SDG needs two (the empty prompt and "
    "the default negative prompt)."
)


class TextEmbeddingCache:
    """Prompt -> T5 embedding ``[max_length, dim]`` float32 on the CPU, cached in memory and on disk.

    Args:
        cache_dir: folder of the cached embeddings (one ``<sha256 of prompt>.pt`` file each);
            None keeps them in memory only. Created on the first write.
        encoder_dir: transformers folder of the T5 encoder and its tokenizer (config.json,
            weights, tokenizer files); loaded on the first prompt that is not cached.
        max_length: tokens per prompt (GEN3C: 512).
        device: where T5 runs when it must. Defaults to "cpu".
        dtype: T5's dtype. Defaults to bfloat16 on CUDA, float32 on the CPU.
        keep_encoder: keep T5 loaded after encoding (otherwise it is freed at once, so that it
            never sits beside the DiT). Defaults to False.
    """

    def __init__(
        self,
        cache_dir: PathLike | None,
        encoder_dir: PathLike | None,
        max_length: int = 512,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | None = None,
        keep_encoder: bool = False,
    ):
        self.cache_dir = None if cache_dir is None else Path(cache_dir).expanduser()
        self.encoder_dir = None if encoder_dir is None else Path(encoder_dir).expanduser()
        self.max_length = max_length
        self.device = torch.device(device)
        self.dtype = dtype or (torch.bfloat16 if self.device.type == "cuda" else torch.float32)
        self.keep_encoder = keep_encoder
        self._memory: dict[str, Tensor] = {}
        self._encoder = None
        self.encoder_loads = 0
        """How many times T5 was loaded (tests check that cached prompts never load it)."""

    @staticmethod
    def key(prompt: str) -> str:
        return hashlib.sha256(prompt.encode("utf-8")).hexdigest()

    def path(self, prompt: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{self.key(prompt)}.pt"

    def __call__(self, prompt: str) -> Tensor:
        """The embedding of ``prompt``: [max_length, dim] float32 on the CPU, zero past the prompt's tokens."""
        if prompt in self._memory:
            return self._memory[prompt]
        path = self.path(prompt)
        if path is not None and path.is_file():
            check_torch_file(path)
            data = torch.load(path, map_location="cpu", weights_only=True)
            if data.get("prompt") == prompt and data["embedding"].shape[0] == self.max_length:
                self._memory[prompt] = data["embedding"].float()
                return self._memory[prompt]
        emb = self._encode(prompt)
        self._memory[prompt] = emb
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp{torch.randint(1 << 30, ()).item()}")
                torch.save({"prompt": prompt, "embedding": emb}, tmp)
                tmp.replace(path)
            except OSError as err:  # a read-only weights folder: keep the embedding in memory only
                warnings.warn(f"could not cache the T5 embedding in {path.parent} ({err}); set text_embedding_dir", stacklevel=2)
        return emb

    def _encode(self, prompt: str) -> Tensor:
        if self._encoder is None:
            self._encoder = self._load_encoder(prompt)
        tokenizer, model = self._encoder
        batch = tokenizer([prompt], max_length=self.max_length, padding="max_length", truncation=True,
                          return_tensors="pt", return_length=True)
        ids = batch["input_ids"].to(self.device)
        mask = batch["attention_mask"].to(self.device)
        with torch.no_grad():
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state[0].float().cpu()
        length = int(mask.sum())
        hidden[length:] = 0  # GEN3C zeroes the embeddings past each prompt's length
        if not self.keep_encoder:
            self._encoder = None
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
        return hidden

    def _load_encoder(self, prompt: str):
        what = f"T5 text encoder (the prompt {prompt[:40]!r} has no cached embedding)"
        root = require_local_dir(self.encoder_dir, what=what, required=("config.json", WEIGHT_FILES), hint=T5_HINT)
        import transformers  # slow import, paid only when a new prompt needs encoding

        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(root), local_files_only=True)
        except (OSError, ValueError) as err:
            raise MissingWeightsError(f"{what}: no usable tokenizer in {root} ({err}). {T5_HINT}") from err
        model = transformers.T5EncoderModel.from_pretrained(str(root), local_files_only=True, dtype=self.dtype)
        self.encoder_loads += 1
        return tokenizer, model.to(self.device).eval()


def zero_text_embedding(max_length: int = 512, dim: int = 1024) -> Tensor:
    """GEN3C's ``--disable_prompt_encoder`` embedding: all zeros, [max_length, dim]."""
    if max_length < 1 or dim < 1:
        raise InvalidInputError(f"need max_length, dim >= 1; got {max_length}, {dim}")
    return torch.zeros(max_length, dim)
