"""The self-distillation trainer: teacher scenes on disk -> decoder -> render -> loss -> AdamW.

One optimiser step, per process (lyra-facts.md §3):

1. draw ``batch_size`` samples (input trajectories/frames and target frames of one scene each,
   poses relative to the first input camera) from this rank's shard of the scenes;
2. per sample: latents (stored, or the input frames encoded with the decoder's codec), the
   decoder's Gaussians of all input views fused, a white-background render of every target
   view (deferred backpropagation), the distillation loss against the teacher's frames and
   depth; backward, gradients averaged over the samples and (DDP) over the ranks;
3. clip the gradient norm, AdamW step, constant-with-warmup schedule.

Progressive stages run one after another with the same model, optimiser and schedule. Every
``checkpoint_every`` steps and at every stage end rank 0 writes an atomic checkpoint with
everything needed to continue bit for bit (model, optimiser, schedule, every rank's RNG state
and the data position); ``resume=True`` continues from the newest one.

Distributed: run under ``torchrun --nproc_per_node N`` or ``accelerate launch``; the model is
wrapped in DistributedDataParallel (gloo on CPU, NCCL on CUDA), each rank reads its own shard of
every epoch's scene order, and only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from lyra_sim.cameras import Cameras
from lyra_sim.data import LyraDataset, LyraDatasetCfg, LyraScene, ViewSamplingCfg
from lyra_sim.data.scene_list import list_scenes, split_holdout
from lyra_sim.distill import checkpoint as ckpt
from lyra_sim.distill.config import StageCfg, TrainCfg
from lyra_sim.distill.deferred import render_views
from lyra_sim.distill.distributed import DistInfo, all_gather_objects, all_mean, barrier, init_distributed, shutdown
from lyra_sim.distill.logs import LOG_FILE, PREVIEWS, ScalarLog, write_training_preview
from lyra_sim.distill.losses import DistillationLoss
from lyra_sim.errors import DatasetError, InvalidInputError, LyraSimError, OutputExistsError
from lyra_sim.models import LatentGaussianDecoder, init_from_decoder, load_decoder_cfg, save_decoder

TRAIN_CONFIG_FILE = "train_config.yaml"


@dataclass
class TrainResult:
    """What a call to :func:`train` did.

    Attributes:
        step: global step reached.
        losses: the loss of every step this call ran (this rank's samples), in order.
        run_dir: the run folder; decoder_dir: the final decoder (None until the last stage ends).
        checkpoint: the newest checkpoint folder.
        seconds: wall time of the steps; steps_per_second: their rate.
        rank: this process's rank (0 writes the files).
    """

    step: int
    losses: list[float] = field(default_factory=list)
    run_dir: Path | None = None
    decoder_dir: Path | None = None
    checkpoint: Path | None = None
    seconds: float = 0.0
    steps_per_second: float = 0.0
    rank: int = 0


def train(cfg: TrainCfg, resume: bool = False, overwrite: bool = False, quiet: bool = False, max_steps: int | None = None) -> TrainResult:
    """Run (or continue) the training that ``cfg`` describes; see :class:`Trainer`."""
    trainer = Trainer(cfg, resume=resume, overwrite=overwrite, quiet=quiet)
    try:
        return trainer.run(max_steps=max_steps)
    finally:
        trainer.close()


class SampleStream:
    """This rank's endless, resumable stream of training samples.

    Epoch ``e`` visits the scenes in a permutation seeded by (seed, e), padded to a multiple of
    the world size and split round-robin between ranks. The state is ``(epoch, position)``:
    samples of the current epoch this rank has consumed; prefetching workers do not advance it.
    """

    def __init__(self, dataset: LyraDataset, info: DistInfo, seed: int, num_workers: int = 0, epoch: int = 0, position: int = 0):
        if len(dataset) == 0:
            raise DatasetError(".", "no training scenes")
        self.dataset, self.info, self.seed, self.num_workers = dataset, info, seed, num_workers
        self.epoch, self.position = epoch, position
        self._it = None

    def order(self, epoch: int) -> list[int]:
        n, world = len(self.dataset), self.info.world_size
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)).tolist()
        while len(perm) % world:
            perm += perm[: world - len(perm) % world]
        return perm[self.info.rank :: world]

    def __next__(self) -> dict[str, Tensor]:
        while True:
            if self._it is None:
                self.dataset.set_epoch(self.epoch)
                indices = self.order(self.epoch)[self.position :]
                loader = DataLoader(self.dataset, batch_size=None, sampler=indices, num_workers=self.num_workers,
                                    generator=torch.Generator().manual_seed(self.seed))  # keeps the global RNG untouched
                self._it = iter(loader)
            try:
                item = next(self._it)
            except StopIteration:
                self.epoch, self.position, self._it = self.epoch + 1, 0, None
                continue
            self.position += 1
            return item

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}


class Trainer:
    """Builds the model, optimiser and data for ``cfg`` and runs its stages.

    Args:
        cfg: the run (see :class:`~lyra_sim.distill.config.TrainCfg`).
        resume: continue from the newest checkpoint in ``cfg.out_dir`` (an error if none).
        overwrite: start afresh in a run folder that already holds a run (its checkpoints,
            log and previews are deleted); without it such a folder is refused.
        quiet: no progress bar.
    """

    def __init__(self, cfg: TrainCfg, resume: bool = False, overwrite: bool = False, quiet: bool = False):
        self.cfg = cfg.validate()
        self.quiet = quiet
        self.run_dir = Path(cfg.out_dir)
        self.device = _resolve_device(cfg.device)
        if self.device.type == "cpu":
            from lyra_sim.runtime import tune_cpu_allocator

            tune_cpu_allocator()
        self.dist = init_distributed(self.device.type)
        if self.device.type == "cuda" and cfg.device in ("auto", "cuda"):
            self.device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(self.device)

        model_cfg = load_decoder_cfg(cfg.model, cfg.model_overrides)
        model_cfg.gradient_checkpointing = cfg.gradient_checkpointing
        model_cfg.bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and self.device.type == "cuda")
        torch.manual_seed(cfg.seed)  # identical init on every rank (DDP also broadcasts rank 0's)
        self.model = LatentGaussianDecoder(model_cfg)
        if cfg.init_from:
            init_from_decoder(self.model, cfg.init_from)
        self._check_stages(self.model.cfg)
        self.model.to(self.device)
        self.ddp = None
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp = DistributedDataParallel(self.model, device_ids=ids)
        o = cfg.optim
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay, eps=o.eps)
        warmup = max(0, o.warmup_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0)
        self.loss_fn = DistillationLoss(cfg.loss, self.device)
        self.scenes = self._training_scenes()

        self.step = 0
        self.stage_index = -1
        self.stream: SampleStream | None = None
        self._data_state: dict | None = None
        self._last_checkpoint: Path | None = None
        resume_from = self._prepare_run_dir(resume, overwrite)
        self._seed_rngs()
        if resume_from is not None:
            self._restore(ckpt.load_checkpoint(resume_from))
        self.log = ScalarLog(self.run_dir / LOG_FILE, resume_step=self.step if resume else None) if self.dist.is_main else None
        if self.dist.is_main:
            self._record_config()

    # ------------------------------------------------------------------ setup
    def _record_config(self) -> None:
        """``<out_dir>/train_config.yaml``: the resolved config of this run (the last start or resume)."""
        from omegaconf import OmegaConf

        from lyra_sim.io import atomic_output

        with atomic_output(self.run_dir / TRAIN_CONFIG_FILE, overwrite=True) as tmp:
            tmp.write_text(OmegaConf.to_yaml(OmegaConf.structured(self.cfg)))

    def _check_stages(self, mcfg) -> None:
        tc, unit = mcfg.temporal_compression, mcfg.spatial_compression * mcfg.patch_size
        for i, s in enumerate(self.cfg.stages):
            if (s.num_input_frames - 1) % tc:
                ok = ", ".join(str(1 + k * tc) for k in (1, 2, 6, 15))
                raise InvalidInputError(f"stages.{i}.num_input_frames={s.num_input_frames}: the decoder needs 1 + k*{tc} frames ({ok}, ...)")
            if s.image_size[0] % unit or s.image_size[1] % unit:
                raise InvalidInputError(f"stages.{i}.image_size={list(s.image_size)}: H and W must be multiples of {unit} "
                                        "(spatial_compression * patch_size)")

    def _training_scenes(self) -> list[LyraScene]:
        roots = list(self.cfg.data.roots)
        if not roots:
            raise InvalidInputError("data.roots is empty: name dataset folders made by `lyra-sim sdg` (data.roots=[/path])")
        scenes, _ = split_holdout(list_scenes(roots), self.cfg.data.holdout_scenes)
        if not self.model.cfg.time_embedding:
            dynamic = [s for s in scenes if s.is_dynamic]
            if dynamic:
                raise DatasetError(dynamic[0].root, f"{len(dynamic)} dynamic scene(s) in the data of a static decoder; "
                                   "train a dynamic config (time_embedding: true) or remove them")
        return scenes

    def _prepare_run_dir(self, resume: bool, overwrite: bool) -> Path | None:
        """The checkpoint to resume from (None for a fresh run); clears the folder on overwrite."""
        existing = ckpt.latest_checkpoint(self.run_dir)
        if resume:
            if existing is None:
                raise LyraSimError(f"--resume: no checkpoint in {self.run_dir / ckpt.CHECKPOINTS}; start without --resume")
            return existing
        if existing is not None or (self.run_dir / LOG_FILE).exists():
            if not overwrite:
                raise OutputExistsError(self.run_dir / ckpt.CHECKPOINTS)
            barrier(self.dist)
            if self.dist.is_main:
                for name in (ckpt.CHECKPOINTS, PREVIEWS, ckpt.DECODER_DIR):
                    shutil.rmtree(self.run_dir / name, ignore_errors=True)
                (self.run_dir / LOG_FILE).unlink(missing_ok=True)
        barrier(self.dist)
        return None

    def _seed_rngs(self) -> None:
        seed = self.cfg.seed + self.dist.rank
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    def _enter_stage(self, index: int) -> None:
        s = self.cfg.stages[index]
        sampling = ViewSamplingCfg(
            num_input_frames=s.num_input_frames, num_target_frames=s.num_target_frames, min_gap=s.min_gap, max_gap=s.max_gap,
            target_sampling=s.target_sampling, num_input_trajectories=s.num_input_trajectories,
            sample_num_input_trajectories=s.sample_num_input_trajectories, flipped_supervision=s.flipped_supervision,
        )
        dcfg = LyraDatasetCfg(
            image_size=tuple(s.image_size), sampling=sampling, dynamic=None if self.model.cfg.time_embedding else False,
            load_input_frames=s.inputs == "frames", load_latents=s.inputs == "latents",
            load_depth=self.cfg.loss.lambda_depth > 0, load_input_depth=self.cfg.loss.lambda_decoded_depth > 0,
            seed=self.cfg.data.seed,
        )
        epoch = position = 0
        if self._data_state is not None and self._data_state.get("stage") == index:
            epoch, position = self._data_state["epoch"], self._data_state["position"]
        self._data_state = None
        self.stream = SampleStream(LyraDataset(self.scenes, dcfg), self.dist, self.cfg.data.seed, self.cfg.data.num_workers, epoch, position)
        self.stage_index = index

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Everything a bit-exact resume needs (call on every rank: it gathers RNG states)."""
        rng = all_gather_objects(self.dist, _rng_state(self.device))
        data = {"stage": self.stage_index, **(self.stream.state() if self.stream else {"epoch": 0, "position": 0})}
        from omegaconf import OmegaConf

        return {
            "version": 1,
            "step": self.step,
            "stage": self.stage_index,
            "stage_name": self.cfg.stages[max(self.stage_index, 0)].name,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "data": data,
            "rng": rng,
            "world_size": self.dist.world_size,
            "config": OmegaConf.to_yaml(OmegaConf.structured(self.cfg)),
        }

    def _restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = int(state["step"])
        self._data_state = dict(state["data"])
        rngs = state["rng"]
        if state.get("world_size") != self.dist.world_size:
            import warnings

            warnings.warn(f"resuming a {state.get('world_size')}-process run with {self.dist.world_size} processes: "
                          "data shards and RNG streams differ from the original run", stacklevel=2)
        _set_rng_state(rngs[min(self.dist.rank, len(rngs) - 1)], self.device)

    def save_checkpoint(self) -> Path | None:
        state = self.state_dict()  # collective: every rank takes part
        path = None
        if self.dist.is_main:
            with _inference_flags(self.model):
                path = ckpt.save_checkpoint(self.run_dir, self.step, state, self.model, self.cfg.keep_checkpoints)
            self._last_checkpoint = path
        barrier(self.dist)
        return path

    # ------------------------------------------------------------------ training
    def run(self, max_steps: int | None = None) -> TrainResult:
        """Train until the curriculum ends or the global step reaches ``max_steps``."""
        from tqdm.auto import tqdm

        cfg = self.cfg
        stop = cfg.total_steps if max_steps is None else min(cfg.total_steps, max_steps)
        result = TrainResult(step=self.step, run_dir=self.run_dir, rank=self.dist.rank)
        bar = tqdm(total=stop, initial=min(self.step, stop), disable=self.quiet or not self.dist.is_main, unit="step", dynamic_ncols=True)
        t_start = t_log = time.perf_counter()
        steps_since_log, done = 0, 0
        try:
            while self.step < stop:
                index = cfg.stage_at(self.step)
                if index != self.stage_index:
                    self._enter_stage(index)
                    bar.set_description(cfg.stages[index].name)
                stage = cfg.stages[index]
                items = [next(self.stream) for _ in range(stage.batch_size)]
                logs, views = self.train_step(stage, items)
                done += 1
                steps_since_log += 1
                result.losses.append(logs["loss"])
                bar.update(1)
                bar.set_postfix(loss=f"{logs['loss']:.4f}", psnr=f"{logs['psnr']:.2f}")
                if self.step % cfg.log_every == 0:
                    now = time.perf_counter()
                    logs["it_s"] = steps_since_log / max(now - t_log, 1e-9)
                    t_log, steps_since_log = now, 0
                    self._log(stage, logs)
                if cfg.preview_every and self.step % cfg.preview_every == 0 and self.dist.is_main:
                    write_training_preview(self.run_dir / PREVIEWS / f"step_{self.step:08d}.png", *views, views=cfg.preview_views)
                stage_end = self.step == cfg.stage_start(index) + stage.steps
                if self.step % cfg.checkpoint_every == 0 or stage_end or self.step == stop:
                    self.save_checkpoint()
            result.seconds = time.perf_counter() - t_start
        finally:
            bar.close()
        result.step = self.step
        result.steps_per_second = done / result.seconds if result.seconds > 0 else 0.0
        result.checkpoint = self._last_checkpoint or ckpt.latest_checkpoint(self.run_dir)
        if self.step >= cfg.total_steps and self.dist.is_main:
            with _inference_flags(self.model):
                result.decoder_dir = save_decoder(self.model, self.run_dir / ckpt.DECODER_DIR, overwrite=True)
        barrier(self.dist)
        return result

    def train_step(self, stage: StageCfg, items: list[dict[str, Tensor]]) -> tuple[dict[str, float], tuple[Tensor, ...]]:
        """One optimiser step on ``items``; returns scalar logs and the last sample's images."""
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        n = len(items)
        views = ()
        for j, item in enumerate(items):
            sync = self.ddp is None or j == n - 1
            with contextlib.nullcontext() if sync else self.ddp.no_sync():
                loss, terms, gaussians, views = self.sample_loss(stage, item)
                (loss / n).backward()
            for k, v in {"loss": loss, **terms}.items():
                totals[k] = totals.get(k, 0.0) + float(v.detach()) / n
            totals["gaussians"] = totals.get("gaussians", 0.0) + gaussians / n
        params = [p for p in self.model.parameters() if p.grad is not None]
        clip = self.cfg.optim.grad_clip if self.cfg.optim.grad_clip > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(params, clip)
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        totals.update(grad_norm=float(grad_norm), lr=lr, psnr=-10 * math.log10(max(totals["mse"], 1e-12)))
        return totals, views

    def sample_loss(self, stage: StageCfg, item: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor], int, tuple[Tensor, ...]]:
        """Loss of one sample: decode its inputs, render its targets, compare with the teacher.

        Returns (loss, terms, number of Gaussians, (teacher, render, depth, alpha) detached).
        """
        item = {k: v.to(self.device, non_blocking=True) for k, v in item.items()}
        model = self.ddp if self.ddp is not None else self.model
        latents = item.get("input_latents")
        if latents is None:
            video = item["input_frames"].permute(0, 2, 1, 3, 4) * 2 - 1  # [V, 3, T, H, W] in [-1, 1]
            with torch.no_grad():
                latents = self.model.codec.encode(video.contiguous()).float()
        c2w, K = item["input_c2w"][None], item["input_K"][None]
        if "target_times" in item:  # a dynamic sample (a static one decodes statically, as Lyra's static model)
            out = model(latents[None], c2w, K, input_times=item["input_times"][None],
                        target_times=item["target_times"].flatten()[:1][None], keep_fraction=stage.prune_keep_fraction)[0]
        else:
            out = model(latents[None], c2w, K, keep_fraction=stage.prune_keep_fraction)
        scene = out.scene(0)
        target = item["target_frames"].flatten(0, 1)  # [Vt*Tt, 3, H, W]
        H, W = target.shape[-2:]
        cams = Cameras(item["target_c2w"].reshape(-1, 4, 4), item["target_K"].reshape(-1, 3, 3), W, H)
        r = self.cfg.render
        rendered = render_views(scene, cams, tuple(r.background), r.near, r.far, r.deferred, r.chunk, r.backend)
        rgb = rendered.rgb.permute(0, 3, 1, 2)
        depth = rendered.depth[..., 0]
        target_depth = item["target_depth"].flatten(0, 1) if "target_depth" in item else None
        input_depth = item["input_depth"].flatten(0, 1) if "input_depth" in item else None
        loss, terms = self.loss_fn(
            rgb, target, depth, target_depth, out.opacities[0], stage.lambda_opacity,
            decoded_depth=out.depth[0].flatten(0, 1), input_depth=input_depth, far=self.model.cfg.far,
        )
        views = (target.detach(), rgb.detach(), depth.detach(), rendered.alpha[..., 0].detach())
        return loss, terms, len(out), views

    def _log(self, stage: StageCfg, logs: dict[str, float]) -> None:
        scalars = all_mean(self.dist, {k: v for k, v in logs.items() if k != "it_s"}, self.device)
        if self.log is not None:
            self.log.append({"step": self.step, "stage": stage.name, **scalars, "it_s": logs.get("it_s"), "time": time.time()})

    def close(self) -> None:
        shutdown(self.dist)


# ---------------------------------------------------------------------------------- helpers
def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError("device=cuda but CUDA is not available; use device=cpu or device=auto")
    return dev


def _rng_state(device: torch.device) -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": random.getstate(),
    }


def _set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


@contextlib.contextmanager
def _inference_flags(model: LatentGaussianDecoder):
    """Save decoders with the runtime-only flags off (bf16 autocast, gradient checkpointing)."""
    saved = model.cfg
    model.cfg = dataclasses.replace(saved, bf16=False, gradient_checkpointing=False)
    try:
        yield
    finally:
        model.cfg = saved
