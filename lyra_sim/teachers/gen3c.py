"""`Gen3CTeacher`: Lyra's teacher (GEN3C) on diffusers classes, from local weights only.

image (or prompt -> image through a local text-to-image pipeline) -> monocular depth -> 3D cache
(:mod:`~lyra_sim.teachers.cache3d`) -> the cache warped into each trajectory's cameras -> the warped
frames and masks encoded by the Cosmos tokenizer (GEN3C's 64 pose channels) -> EDM denoising by
the GEN3C DiT (:mod:`~lyra_sim.teachers.gen3c_sampler`) -> Cosmos decoding -> frames.
Numbers and their sources: ``gen3c-facts.md``.

Weights folder (``Gen3CTeacher.from_pretrained(DIR)``), as ``lyra-sim convert-gen3c`` writes it::

    DIR/
      transformer/      config.json + diffusion_pytorch_model*.safetensors   GEN3C-Cosmos-7B DiT (required)
      vae/              config.json + diffusion_pytorch_model.safetensors    Cosmos CV8x8x8 tokenizer (required)
      depth/            a depth estimator folder: MoGe model.pt (GEN3C's), or a transformers
                        Depth Anything / ZoeDepth checkpoint (required unless one is passed in)
      text_embeddings/  cached T5 embeddings, written on first use (optional)
      text_encoder/     google-t5/t5-11b (config.json, weights, tokenizer); needed only while a
                        prompt's embedding is not cached yet (optional)

Longer trajectories are generated as GEN3C does: chunks of ``chunk_frames`` (121) overlapping by
one frame, each later chunk conditioned on the previous chunk's last frame, whose depth is
re-estimated, aligned to the cache and added as the first of the two frame buffers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor

from lyra_sim.cameras import Cameras, lyra_trajectory
from lyra_sim.cameras.trajectories import sample_distances
from lyra_sim.errors import InvalidInputError, MissingWeightsError
from lyra_sim.progress import report, track
from lyra_sim.teachers.base import TeacherOutput, TeacherRequest, TrajectoryVideo
from lyra_sim.teachers.cache3d import Cache3D, Cache3DCfg, WarpedFrames
from lyra_sim.teachers.gen3c_sampler import Gen3CSamplerCfg, sample_gen3c
from lyra_sim.teachers.gen3c_text import (
    COSMOS_NEGATIVE_PROMPT,
    TextEmbeddingCache,
    zero_text_embedding,
)
from lyra_sim.teachers.image_prep import resize
from lyra_sim.teachers.local_weights import PathLike, require_local_dir

GEN3C_LAYOUT = (
    "transformer/config.json",
    ("transformer/diffusion_pytorch_model.safetensors", "transformer/diffusion_pytorch_model.safetensors.index.json"),
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
)
GEN3C_HINT = (
    "Convert GEN3C's release with `lyra-sim convert-gen3c --trust-torchscript CKPT_DIR DIR` (CKPT_DIR: nvidia/GEN3C-Cosmos-7B's "
    "model.pt and nvidia/Cosmos-Tokenize1-CV8x8x8-720p's autoencoder.jit + mean_std.pt), put a depth model in "
    "DIR/depth/ (MoGe: `huggingface-cli download Ruicheng/moge-vitl model.pt --local-dir DIR/depth`; or "
    "depth-anything/Depth-Anything-V2-Metric-Indoor-Large-hf) and, for prompts not cached in "
    "DIR/text_embeddings/, google-t5/t5-11b in DIR/text_encoder/."
)


@dataclass
class Gen3CTeacherCfg:
    """How the GEN3C teacher runs; defaults are GEN3C's / Lyra's SDG settings."""

    sampler: Gen3CSamplerCfg = field(default_factory=Gen3CSamplerCfg)
    """Steps, guidance, EDM settings (see :class:`Gen3CSamplerCfg`). Defaults to GEN3C's."""

    cache: Cache3DCfg = field(default_factory=lambda: Cache3DCfg(foreground_masking=True))
    """3D cache filtering and warping. Defaults to Lyra's SDG: depth-edge filter 0.05 and foreground masking on."""

    chunk_frames: int = 121
    """Frames the DiT generates at once (8k + 1). Longer trajectories need (N - 1) divisible by
    chunk_frames - 1 and are generated chunk by chunk, overlapping by one frame. Defaults to 121."""

    dtype: Literal["bfloat16", "float16", "float32"] | None = None
    """DiT and tokenizer dtype; None: bfloat16 on CUDA, float32 on the CPU. Defaults to None."""

    offload: bool = False
    """On CUDA, keep the DiT and the tokenizer on the CPU and move each to the GPU only while it runs
    (GEN3C's ``--offload_*``); T5 is never kept. Defaults to False."""

    use_prompt: bool = False
    """Condition the DiT on the request's prompt; Lyra's SDG uses the empty prompt. Defaults to False."""

    negative_prompt: str = COSMOS_NEGATIVE_PROMPT
    """Prompt of the unconditional pass. Defaults to Cosmos' default negative prompt."""

    text_encoder: Literal["t5", "zeros"] = "t5"
    """"t5": T5-11B embeddings (cached); "zeros": all-zero embeddings for every prompt, GEN3C's
    ``--disable_prompt_encoder``. Defaults to "t5"."""

    text_max_length: int = 512
    """T5 tokens per prompt. Defaults to 512."""

    center_depth: float | None = 1.0
    """Depth of the point the trajectories look at and the scale of their motion; None: the median
    depth of the input image (for metric depth models). Defaults to 1.0 (GEN3C with MoGe)."""

    invalid_depth: float = 100.0
    """Depth given to pixels the estimator marks invalid (sky), so they are splatted far away as
    in GEN3C (1000, clamped to 100 by its cache); 0 leaves them out of the cache. Defaults to 100."""

    depth_path: str | None = None
    """Depth estimator folder; None: ``<weights>/depth``. Defaults to None."""

    text_encoder_path: str | None = None
    """T5 folder; None: ``<weights>/text_encoder``. Defaults to None."""

    text_embedding_dir: str | None = None
    """Cache folder of T5 embeddings; None: ``<weights>/text_embeddings``. Defaults to None."""

    text2image_path: str | None = None
    """diffusers text-to-image pipeline folder for prompt-only requests (see
    :mod:`~lyra_sim.teachers.text2image`); None: such requests are refused. Defaults to None."""

    latent_stats: str | None = None
    """``mean_std.pt`` of the tokenizer to normalise latents with; None: the VAE config's
    ``latents_mean``/``latents_std`` (the converter writes mean_std.pt's values there). Defaults to None."""

    progress: bool = True
    """Report progress over trajectories and denoising steps (:mod:`lyra_sim.progress`: the CLI's
    bars, the Python API's log). Defaults to True."""


class Gen3CTeacher:
    """The GEN3C teacher; see the module docstring. Use :meth:`from_pretrained`.

    Args:
        transformer: GEN3C's ``CosmosTransformer3DModel`` (82 or 81 + padding input channels).
        codec: a :class:`~lyra_sim.codecs.CosmosCodec` (encodes/decodes and normalises latents).
        depth_estimator: a :class:`~lyra_sim.teachers.depth.DepthEstimator`.
        text_embeddings: prompt -> [L, D] embedding (a :class:`TextEmbeddingCache`); None with
            ``text_encoder="zeros"``.
        cfg: options. Defaults to :class:`Gen3CTeacherCfg` ().
        device: where the DiT and tokenizer run. Defaults to "cpu".
        text_to_image: prompt -> image [3, H, W] in [0, 1] for prompt-only requests.
    """

    name = "gen3c"

    def __init__(self, transformer, codec, depth_estimator, text_embeddings=None, cfg: Gen3CTeacherCfg | None = None,
                 device: str | torch.device = "cpu", text_to_image=None):
        self.cfg = cfg or Gen3CTeacherCfg()
        self.transformer = transformer.eval().requires_grad_(False)
        self.codec = codec
        self.depth_estimator = depth_estimator
        self.text_embeddings = text_embeddings
        self.text_to_image = text_to_image
        self.device = torch.device(device)
        if self.cfg.text_encoder == "t5" and text_embeddings is None:
            raise InvalidInputError("text_encoder='t5' needs text_embeddings (a TextEmbeddingCache)")
        if (self.cfg.chunk_frames - 1) % codec.temporal_compression:
            raise InvalidInputError(f"chunk_frames must be {codec.temporal_compression}k + 1; got {self.cfg.chunk_frames}")

    @classmethod
    def from_pretrained(cls, weights_dir: PathLike, device: str | torch.device = "cpu", *, depth_estimator=None,
                        text_to_image=None, **options) -> Gen3CTeacher:
        """Load from a local weights folder (layout in the module docstring); never downloads.

        Args:
            weights_dir: the folder.
            device: where the DiT and the tokenizer run ("cuda" for real use). Defaults to "cpu".
            depth_estimator: use this instead of loading ``<weights>/depth``.
            text_to_image: use this for prompt-only requests instead of ``text2image_path``.
            options: :class:`Gen3CTeacherCfg` fields, or :class:`Gen3CSamplerCfg` /
                :class:`Cache3DCfg` fields by name (``num_steps=35``, ``foreground_masking=False``).

        Raises:
            MissingWeightsError: the folder or a needed file is missing (the message lists the layout).
            InvalidInputError: an unknown option.
        """
        cfg = _cfg_from_options(options)
        root = require_local_dir(weights_dir, what="GEN3C teacher weights", required=GEN3C_LAYOUT, hint=GEN3C_HINT)
        device = torch.device(device)
        dtype = getattr(torch, cfg.dtype) if cfg.dtype else (torch.bfloat16 if device.type == "cuda" else torch.float32)
        home = torch.device("cpu") if cfg.offload else device
        if depth_estimator is None:
            depth_dir = Path(cfg.depth_path).expanduser() if cfg.depth_path else root / "depth"
            if not depth_dir.exists():
                raise MissingWeightsError(f"GEN3C teacher: no depth estimator at {depth_dir}. {GEN3C_HINT}")
            from lyra_sim.teachers.depth import load_depth_estimator

            depth_estimator = load_depth_estimator(depth_dir, device=str(device))
        from lyra_sim.codecs.diffusers_vae import CosmosCodec

        transformer = load_transformer(root / "transformer", dtype).to(home)
        # Cosmos' tokenizer has no bfloat16 avg_pool3d on the CPU.
        codec = CosmosCodec.from_pretrained(root / "vae", device=home, dtype=dtype if device.type == "cuda" else torch.float32,
                                            latent_stats=cfg.latent_stats, sigma_data=cfg.sampler.sigma_data)
        text = None
        if cfg.text_encoder == "t5":
            text = TextEmbeddingCache(
                Path(cfg.text_embedding_dir).expanduser() if cfg.text_embedding_dir else root / "text_embeddings",
                Path(cfg.text_encoder_path).expanduser() if cfg.text_encoder_path else root / "text_encoder",
                max_length=cfg.text_max_length, device=device,
            )
        return cls(transformer, codec, depth_estimator, text, cfg, device, text_to_image)

    # ------------------------------------------------------------------ the protocol
    def generate(self, request: TeacherRequest) -> TeacherOutput:
        """Render the request's image along its trajectories (see the module docstring)."""
        H, W, N = request.height, request.width, request.num_frames
        if request.video is not None or request.dynamic:
            raise InvalidInputError("the GEN3C teacher implements the single-image path only; the video (4D) path is not implemented")
        if H % 16 or W % 16:
            raise InvalidInputError(f"GEN3C needs width and height divisible by 16 (8x tokenizer, 2x2 patches); got {W}x{H}")
        chunks = self.chunk_starts(N)
        image = self.input_image(request)
        cache, K, is_metric = self.lift(image)
        center = self.cfg.center_depth or float(cache.depth[cache.depth > 0].median())
        text = self._text(request.prompt if self.cfg.use_prompt else "")
        negative = self._text(self.cfg.negative_prompt)
        distances = sample_distances(request.trajectories, request.movement_factor, request.seed)
        videos = []
        for idx, (name, dist) in enumerate(self._progress(distances.items(), "trajectories")):
            cams = lyra_trajectory(name, N, dist, K, W, H, center_depth=center)
            generator = torch.Generator().manual_seed(request.seed * 1000 + idx)
            frames, latents, depth = self.render_trajectory(image, cache, cams, chunks, text, negative, generator)
            videos.append(TrajectoryVideo(name, frames, cams, depth=depth, mask=None, latents=latents))
        return TeacherOutput(trajectories=videos, codec=self.codec.name, depth_is_metric=is_metric)

    # ------------------------------------------------------------------ steps
    def chunk_starts(self, num_frames: int) -> list[int]:
        """First frame of each chunk of ``chunk_frames`` frames overlapping by one (GEN3C's N*120+1 rule)."""
        L, tc = self.cfg.chunk_frames, self.codec.temporal_compression
        if num_frames <= L:
            if (num_frames - 1) % tc:
                raise InvalidInputError(f"GEN3C generates {tc}k + 1 frames per chunk; got num_frames={num_frames}")
            return [0]
        if (num_frames - 1) % (L - 1):
            raise InvalidInputError(
                f"trajectories longer than one chunk need k * {L - 1} + 1 frames (chunks of {L} overlapping by one); got {num_frames}"
            )
        return list(range(0, num_frames - 1, L - 1))

    def input_image(self, request: TeacherRequest) -> Tensor:
        """The request's image (or the text-to-image one) squashed to [3, H, W] in [0, 1], as GEN3C resizes."""
        image = request.image
        if image is None:
            if not request.prompt:
                raise InvalidInputError("the GEN3C teacher needs an image, or a prompt and a text-to-image pipeline")
            image = self._text_to_image()(request.prompt, height=request.height, width=request.width, seed=request.seed)
        if image.ndim != 3 or image.shape[0] != 3:
            raise InvalidInputError(f"the input image must be [3, H, W] in [0, 1]; got {tuple(image.shape)}")
        return resize(image.float()[None].cpu(), (request.height, request.width), "bicubic")[0].clamp(0, 1)

    def lift(self, image: Tensor, c2w: Tensor | None = None, K: Tensor | None = None,
             reference: WarpedFrames | None = None) -> tuple[Cache3D, Tensor, bool]:
        """The 3D cache of ``image [3, H, W]``: (cache, K [3, 3], depth is metric).

        Later chunks pass the camera of the frame (``c2w`` [4, 4], ``K`` [3, 3]; default: identity and
        the estimator's K) and ``reference``, the first cache rendered there, to align the new depth to.
        """
        est = self.depth_estimator.estimate(image)
        depth = est.depth.float().cpu()
        valid = est.mask.bool().cpu() & (depth > 0)
        if reference is not None:
            depth = align_depth_affine(depth, valid, reference.depth[0].cpu(), reference.masks[0].cpu())
        if self.cfg.invalid_depth > 0:
            depth = torch.where(valid, depth, torch.full_like(depth, self.cfg.invalid_depth))
            mask = None
        else:
            depth, mask = depth * valid, valid
        depth = depth.clamp(max=self.cfg.cache.max_depth)
        K = est.K.float().cpu() if K is None else K.float().cpu()
        return Cache3D(image, depth, K, c2w, mask, self.cfg.cache), K, est.is_metric

    def render_trajectory(self, image: Tensor, cache: Cache3D, cams: Cameras, chunks: list[int], text: Tensor,
                          negative: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """One trajectory: frames [N, 3, H, W] in [0, 1], the codec's latents [16, t, h, w], and the
        input image's cache depth in each camera [N, H, W] (0 where nothing was warped)."""
        L = self.cfg.chunk_frames
        pieces, depths, latents = [], [], None
        buffers = [cache]
        first = image
        for k, start in enumerate(chunks):
            sub = cams[start:start + min(L, len(cams))]
            if k > 0:
                # GEN3C's cache update: the last generated frame becomes buffer 0, the input image buffer 1.
                first = pieces[-1][-1]
                reference = cache.render(sub[:1])
                buffers = [self.lift(first, sub.c2w[0], sub.K[0], reference)[0], cache]
            warped = [b.render(sub) for b in buffers]
            depths.append(warped[-1].depth.cpu() if k == 0 else warped[-1].depth[1:].cpu())
            x = self._sample_chunk(first, warped, text, negative, generator)
            with self._placed(self.codec.vae):
                raw = self.codec.denormalize_latents(x)
                video = self.codec.decode(raw)
            frames = ((video[0].permute(1, 0, 2, 3).float().cpu() + 1) / 2).clamp(0, 1)
            pieces.append(frames if k == 0 else frames[1:])
            latents = raw[0].float().cpu() if k == 0 else None
        frames = torch.cat(pieces)
        if latents is None:  # several chunks: the latents of the whole video, as the codec makes them
            with self._placed(self.codec.vae):
                latents = self.codec.encode(frames.permute(1, 0, 2, 3)[None].to(self.device) * 2 - 1)[0].float().cpu()
        return frames, latents, torch.cat(depths)

    def _sample_chunk(self, first: Tensor, warped: list[WarpedFrames], text: Tensor, negative: Tensor,
                      generator: torch.Generator) -> Tensor:
        """Normalised latents [1, 16, t, h, w] of one chunk conditioned on its first frame and warped buffers."""
        T = warped[0].frames.shape[0]
        with self._placed(self.codec.vae):
            video = torch.zeros(1, 3, T, *first.shape[-2:], device=self.device)
            video[0, :, 0] = first.to(self.device) * 2 - 1
            first_latent = self._encode(video)
            pose = []
            for w in warped:
                rgb = w.frames.permute(1, 0, 2, 3)[None].to(self.device) * 2 - 1  # empty pixels -> -1
                mask = (w.masks.float() * 2 - 1)[None, None].expand(1, 3, -1, -1, -1).to(self.device)
                pose += [self._encode(rgb), self._encode(mask)]
            pose += [torch.zeros_like(first_latent)] * (4 - len(pose))  # missing buffer: zero latents
        with self._placed(self.transformer):
            if self.cfg.progress:
                report("teacher denoising", 0, self.cfg.sampler.num_steps)
            x = sample_gen3c(self.transformer, first_latent, torch.cat(pose, dim=1), text[None], negative[None],
                             self.cfg.sampler, generator,
                             progress=(lambda i, n: report("teacher denoising", i, n)) if self.cfg.progress else None)
        return x.to(self.device)

    def _encode(self, video: Tensor) -> Tensor:
        """[1, 3, T, H, W] in [-1, 1] -> normalised latents [1, 16, t, h, w] float32."""
        return self.codec.normalize_latents(self.codec.encode(video)).float()

    def _text(self, prompt: str) -> Tensor:
        dim = int(self.transformer.config.text_embed_dim)
        if self.cfg.text_encoder == "zeros":
            return zero_text_embedding(self.cfg.text_max_length, dim)
        emb = self.text_embeddings(prompt)
        if emb.shape[-1] != dim:
            raise InvalidInputError(f"the text encoder gives {emb.shape[-1]}-dim embeddings; the DiT reads {dim}")
        return emb

    def _text_to_image(self):
        if self.text_to_image is None:
            if not self.cfg.text2image_path:
                raise InvalidInputError("a prompt-only request needs text2image_path=<local diffusers text-to-image pipeline>, or pass an image")
            from lyra_sim.teachers.text2image import TextToImage

            self.text_to_image = TextToImage.from_pretrained(self.cfg.text2image_path, device=str(self.device), offload=self.cfg.offload)
        return self.text_to_image

    @contextlib.contextmanager
    def _placed(self, module: torch.nn.Module):
        """Run ``module`` on the teacher's device; with offloading, send it back to the CPU afterwards."""
        if not self.cfg.offload or self.device.type == "cpu":
            yield
            return
        module.to(self.device)
        try:
            yield
        finally:
            module.to("cpu")
            torch.cuda.empty_cache()

    def _progress(self, iterable, desc: str, total: int | None = None):
        return track(iterable, f"teacher {desc}", total) if self.cfg.progress else iterable


def load_transformer(folder: Path, dtype: torch.dtype) -> torch.nn.Module:
    """GEN3C's ``CosmosTransformer3DModel`` from a diffusers folder (single or sharded safetensors).

    Built on the meta device and filled with the stored tensors (``assign``), so the 7B model never
    exists twice in memory, and without accelerate (which diffusers' ``from_pretrained`` needs for
    this class). The learnable position embeddings stay float32, as diffusers keeps them.
    """
    import diffusers  # slow import, paid only by users of real teachers
    from safetensors.torch import load_file

    config = diffusers.CosmosTransformer3DModel.load_config(str(folder), local_files_only=True)
    index = folder / "diffusion_pytorch_model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.is_file() else ["diffusion_pytorch_model.safetensors"]
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise MissingWeightsError(f"GEN3C teacher: {folder} lacks the shard(s) {', '.join(missing)}. {GEN3C_HINT}")
    state = {}
    for f in files:
        state.update(load_file(str(folder / f)))
    with torch.device("meta"):
        model = diffusers.CosmosTransformer3DModel.from_config(config)
    keep = tuple(model._keep_in_fp32_modules or ())
    state = {k: v.to(torch.float32 if k.startswith(keep) else dtype) for k, v in state.items()}
    model.load_state_dict(state, strict=True, assign=True)
    return model


def align_depth_affine(depth: Tensor, valid: Tensor, reference: Tensor, reference_valid: Tensor) -> Tensor:
    """Fit ``depth [H, W]`` to ``reference [H, W]`` by an affine map of inverse depth.

    The first stage of GEN3C's ``align_depth`` (least squares on inverse depth over the pixels
    between the 10th and 90th percentile); GEN3C's second, non-rigid stage (a per-pixel scale map
    refined by 100 Adam steps with an ARAP term) is not reproduced. Falls back to a median-ratio
    scale when the fit is degenerate. Returns the aligned depth, 0 where ``valid`` is False.
    """
    both = valid & reference_valid & (reference > 0) & (depth > 0)
    out = torch.zeros_like(depth)
    if int(both.sum()) < 16:
        return torch.where(valid, depth, out)
    inv, ref = 1.0 / depth[both].double(), 1.0 / reference[both].double()
    lo, hi = torch.quantile(ref, 0.1), torch.quantile(ref, 0.9)
    keep = (ref >= lo) & (ref <= hi)
    A = torch.stack([inv[keep], torch.ones_like(inv[keep])], dim=1)
    sol = torch.linalg.lstsq(A, ref[keep][:, None]).solution[:, 0]
    aligned_inv = sol[0] * (1.0 / depth.double().clamp(min=1e-12)) + sol[1]
    if sol[0] <= 0 or not bool((aligned_inv[valid] > 0).all()):
        scale = (reference[both] / depth[both]).median()
        return torch.where(valid, depth * scale, out)
    return torch.where(valid, (1.0 / aligned_inv).to(depth.dtype), out)


def _cfg_from_options(options: dict) -> Gen3CTeacherCfg:
    """A :class:`Gen3CTeacherCfg` with ``options`` set, looking field names up in it, the sampler and the cache configs."""
    cfg = Gen3CTeacherCfg()
    own = {f.name for f in dataclasses.fields(Gen3CTeacherCfg)}
    sampler = {f.name for f in dataclasses.fields(Gen3CSamplerCfg)}
    cache = {f.name for f in dataclasses.fields(Cache3DCfg)}
    for key, value in options.items():
        if key in own:
            setattr(cfg, key, value)
        elif key in sampler:
            setattr(cfg.sampler, key, value)
        elif key in cache:
            setattr(cfg.cache, key, value)
        else:
            raise InvalidInputError(f"unknown GEN3C teacher option {key!r}; see Gen3CTeacherCfg, Gen3CSamplerCfg, Cache3DCfg")
    return cfg
