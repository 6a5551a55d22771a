"""`TrainCfg`: everything ``lyra-sim train`` does, loadable from YAML with ``key=value`` overrides.

A training run is a list of progressive stages (Lyra's curriculum, lyra-facts.md §3.3): each
stage sets the resolution, the input/target frames, the trajectories, the input source (RGB
encoded on the fly, or stored latents) and pruning, runs for ``steps`` optimiser steps and
hands its weights, optimiser and schedule to the next one; the global step counts across
stages. See ``configs/train/embedded.yaml`` for the shipped decoder's curriculum and
``configs/train/tiny.yaml`` for the one the tests run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

from lyra_sim.errors import InvalidInputError


Perceptual = Literal["ssim", "lpips", "none"]


@dataclass
class LossCfg:
    """Weights of the distillation loss terms."""

    lambda_mse: float = 1.0
    """Weight of the RGB mean squared error (Lyra: 1). Defaults to 1.0."""
    perceptual: Perceptual = "ssim"
    """"lpips" (LPIPS-VGG, Lyra's choice; needs the `lpips` package and local VGG16 weights,
    i.e. a GPU environment), "ssim" (1 - SSIM, 11-tap Gaussian window, no weights) or "none".
    Defaults to "ssim"."""
    lambda_perceptual: float = 0.2
    """Weight of the perceptual term (Lyra: 0.5 for LPIPS; 0.2 is the usual D-SSIM weight of
    3DGS). Defaults to 0.2."""
    lambda_depth: float = 0.05
    """Weight of the scale-and-shift-invariant depth loss (Lyra: 0.05). Defaults to 0.05."""
    lambda_decoded_depth: float = 0.0
    """Weight of the metric loss on the decoder's own per-ray depth against the teacher's
    exact depth of the input frames (:func:`decoded_depth_loss_per_view`); needs a metric
    teacher (the procedural one) and makes the dataset load input depth. 0 = Lyra's loss.
    Defaults to 0.0."""
    sky_weight: float = 0.1
    """Weight of the sky rays (teacher depth unknown) in that loss, relative to surface rays.
    Defaults to 0.1."""
    lpips_max_height: int = 704
    """Images taller than this are downsampled (area) before LPIPS (Lyra ``lpips_img_size_min``).
    Defaults to 704."""


@dataclass
class StageCfg:
    """One stage of the curriculum."""

    steps: int
    """Optimiser steps in this stage (Lyra's ``max_train_steps`` is cumulative; ours is per stage)."""
    image_size: tuple[int, int]
    """Training (H, W): frames are centre-cropped and resized to it; both must be multiples of
    the decoder's spatial_compression * patch_size (16 for the shipped configs)."""
    name: str = ""
    """Shown in logs and recorded in checkpoints. Defaults to "" (then "stage<i>")."""
    num_input_frames: int = 17
    """Input frames per input trajectory; 1 + k * temporal_compression (9, 17, 49, 121 for tc 8).
    Defaults to 17."""
    num_target_frames: int = 17
    """Target frames rendered per selected trajectory (Lyra: 17, 49, then 9 at 121 inputs).
    Defaults to 17."""
    num_input_trajectories: int = 1
    """(Largest) number of input trajectories per sample (Lyra stage 6+: 6). Defaults to 1."""
    sample_num_input_trajectories: bool = False
    """Draw the number of input trajectories uniformly in 1..num_input_trajectories (Lyra
    stage 6+). Defaults to False."""
    target_sampling: Literal["uniform", "exponential"] = "uniform"
    """Target frame distribution over the context gap (Lyra: exponential from stage 6).
    Defaults to "uniform"."""
    flipped_supervision: bool = True
    """Dynamic data: supervise the target time from all trajectories, the motion-reversed
    copies included (Lyra); False uses only the non-flipped half (the ablation). Defaults to True."""
    min_gap: int = 45
    """Smallest context gap in frames (clamped to the video length). Defaults to 45."""
    max_gap: int = 121
    """Largest context gap in frames. Defaults to 121."""
    inputs: Literal["frames", "latents"] = "frames"
    """"frames": encode the input RGB frames with the decoder's codec on the fly (Lyra stages
    1-4); "latents": read the teacher's stored latents (stage 5+; needs every frame as input
    and the stored resolution). Defaults to "frames"."""
    prune_keep_fraction: float | None = None
    """Opacity pruning inside the decoder: keep this fraction (Lyra *_prune: 0.2). None keeps
    all. Defaults to None."""
    lambda_opacity: float = 0.0
    """Weight of the mean-opacity regulariser (Lyra: 0.1 in pruning stages). Defaults to 0.0."""
    batch_size: int = 1
    """Samples per optimiser step per process (processed one after another, gradients
    averaged). Defaults to 1."""


@dataclass
class DataCfg:
    """Where training scenes come from."""

    roots: list[str] = field(default_factory=list)
    """Dataset roots written by ``lyra-sim sdg`` (or Lyra's SDG layout); every scene found is used."""
    holdout_scenes: int = 0
    """Leave the last k scenes (in sorted order) out of training, for ``lyra-sim eval --holdout k``.
    Defaults to 0."""
    num_workers: int = 0
    """DataLoader worker processes per training process (video decoding). Defaults to 0."""
    seed: int = 0
    """Seed of the frame draws: item i of epoch e draws from (seed, e, i). Defaults to 0."""


@dataclass
class OptimCfg:
    """AdamW with a constant-with-warmup schedule and gradient clipping (Lyra §3.2)."""

    lr: float = 1e-4
    """Peak learning rate. Defaults to 1e-4."""
    betas: tuple[float, float] = (0.9, 0.999)
    """Adam betas. Defaults to (0.9, 0.999)."""
    weight_decay: float = 0.01
    """Decoupled weight decay. Defaults to 0.01."""
    eps: float = 1e-8
    """Adam epsilon. Defaults to 1e-8."""
    warmup_steps: int = 100
    """Linear warmup from lr / warmup_steps to lr, then constant. Defaults to 100."""
    grad_clip: float = 1.0
    """Clip the global gradient norm to this (0 disables). Defaults to 1.0."""


@dataclass
class RenderCfg:
    """How the Gaussians are rendered against the teacher."""

    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """Background colour; Lyra always trains on white. Defaults to (1, 1, 1)."""
    near: float = 0.1
    """Near clip plane (Lyra znear). Defaults to 0.1."""
    far: float = 500.0
    """Far clip plane (Lyra zfar). Defaults to 500."""
    deferred: bool = True
    """Deferred backpropagation over target views (memory independent of their number).
    Defaults to True."""
    chunk: int = 1
    """Target views rendered together in deferred mode. Defaults to 1."""
    backend: Literal["auto", "torch", "gsplat", "gsplat-3dgut"] = "auto"
    """Rasteriser: gsplat on CUDA, the torch twin on CPU. Defaults to "auto"."""


@dataclass
class TrainCfg:
    """A training run: model, data, curriculum, optimiser, loss, logging and checkpoints."""

    model: str
    """Decoder config YAML (e.g. configs/model/embedded.yaml); relative paths are tried from the
    working directory, then from the training config's folder and the repository root."""
    out_dir: str
    """Run folder: checkpoints/, decoder/ (the final weights), train_log.jsonl, previews/."""
    stages: list[StageCfg]
    """The curriculum, in order; each stage resumes from the previous one's weights."""
    model_overrides: list[str] = field(default_factory=list)
    """``key=value`` overrides of the decoder config. Defaults to []."""
    init_from: str | None = None
    """A decoder folder (save_decoder layout, e.g. a run's ``decoder/``, or "embedded" for the
    one shipped in the package) whose weights replace the random init. ``model`` still defines
    the architecture, which must match; a static decoder may start a dynamic one (Lyra's stage
    8), whose time embeddings keep their zero init. Defaults to None."""
    data: DataCfg = field(default_factory=DataCfg)
    """Training scenes. Defaults to ``DataCfg()``."""
    optim: OptimCfg = field(default_factory=OptimCfg)
    """Optimiser and schedule. Defaults to ``OptimCfg()``."""
    loss: LossCfg = field(default_factory=LossCfg)
    """Loss weights. Defaults to ``LossCfg()``."""
    render: RenderCfg = field(default_factory=RenderCfg)
    """Rendering and deferred backpropagation. Defaults to ``RenderCfg()``."""
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    """Backbone precision: "bf16" autocast (CUDA), "fp32", or "auto" = bf16 on CUDA else fp32.
    Rendering and losses always run in fp32. Defaults to "auto"."""
    gradient_checkpointing: bool = False
    """Recompute backbone blocks in backward to save memory. Defaults to False."""
    device: str = "auto"
    """"auto" (cuda:LOCAL_RANK if CUDA is available, else cpu), "cpu" or "cuda". Defaults to "auto"."""
    seed: int = 42
    """Seed of the model init and of torch/numpy/python RNGs (per rank: seed + rank). Defaults to 42."""
    checkpoint_every: int = 100
    """Write a resumable checkpoint every N steps (and at the end). Defaults to 100."""
    keep_checkpoints: int = 5
    """Most recent checkpoints kept (older ones deleted). Defaults to 5."""
    log_every: int = 1
    """Append scalars to train_log.jsonl every N steps. Defaults to 1."""
    preview_every: int = 0
    """Write previews/step_XXXXXXXX.png (teacher | render | depth) every N steps; 0 disables.
    Defaults to 0."""
    preview_views: int = 4
    """Target views shown in a preview. Defaults to 4."""

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)

    def stage_at(self, step: int) -> int:
        """Index of the stage that optimiser step ``step`` (0-based) belongs to."""
        end = 0
        for i, s in enumerate(self.stages):
            end += s.steps
            if step < end:
                return i
        return len(self.stages) - 1

    def stage_start(self, index: int) -> int:
        return sum(s.steps for s in self.stages[:index])

    def validate(self) -> "TrainCfg":
        if not self.stages:
            raise InvalidInputError("a training config needs at least one stage (stages: [...])")
        for i, s in enumerate(self.stages):
            where = f"stages.{i}"
            if s.steps < 0:
                raise InvalidInputError(f"{where}.steps must be >= 0, got {s.steps}")
            if len(s.image_size) != 2 or min(s.image_size) <= 0:
                raise InvalidInputError(f"{where}.image_size must be [H, W], got {list(s.image_size)}")
            if s.batch_size < 1:
                raise InvalidInputError(f"{where}.batch_size must be >= 1")
            if s.inputs not in ("frames", "latents"):
                raise InvalidInputError(f"{where}.inputs must be 'frames' or 'latents', got {s.inputs!r}")
            if not s.name:
                s.name = f"stage{i}"
        if self.precision not in ("auto", "fp32", "bf16"):
            raise InvalidInputError(f"precision must be auto, fp32 or bf16, got {self.precision!r}")
        if self.checkpoint_every < 1 or self.log_every < 1:
            raise InvalidInputError("checkpoint_every and log_every must be >= 1")
        return self


def load_train_cfg(path: str | Path | None = None, overrides: Sequence[str] = ()) -> TrainCfg:
    """A :class:`TrainCfg` from a YAML file plus Hydra-style ``key=value`` overrides.

    Overrides use dotted keys, list items by index: ``optim.lr=3e-4 stages.0.steps=50
    data.roots=[/data/sdg]``. Relative ``model`` / ``init_from`` paths are resolved here.
    """
    from lyra_sim.config import load_structured
    from lyra_sim.models.embedded import is_embedded_name

    out = load_structured(TrainCfg, path, overrides, what="training config", hint="see configs/train/")
    out.model = str(resolve_path(out.model, path))
    if out.init_from and not is_embedded_name(out.init_from):
        out.init_from = str(resolve_path(out.init_from, path))
    return out.validate()


def resolve_path(value: str, config_path: str | Path | None) -> Path:
    """``value`` as given if it exists, else relative to the config's folder or the repository root."""
    p = Path(value).expanduser()
    if p.is_absolute() or p.exists() or config_path is None:
        return p
    base = Path(config_path).resolve().parent
    for root in (base, *base.parents[:2]):
        if (root / p).exists():
            return root / p
    return p
