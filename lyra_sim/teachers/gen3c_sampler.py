"""GEN3C's sampler: EDM Euler denoising of a Cosmos DiT conditioned on warped frames.

Everything here works on *normalised* latents ``(z - mean) / std * sigma_data`` of the Cosmos
tokenizer, shaped ``[B, 16, t, h, w]`` (t = 1 + (T - 1) / 8, h = H / 8, w = W / 8). Numbers from
``gen3c-facts.md`` §1.3, §1.5, §3:

* DiT input, in GEN3C's order: ``[x_t (16), first-frame indicator (1), buffer0 rgb (16),
  buffer0 mask (16), buffer1 rgb (16), buffer1 mask (16), padding mask (1, zeros)]`` = 82
  channels. diffusers' ``CosmosTransformer3DModel`` concatenates ``condition_mask`` after
  ``hidden_states`` and then, with ``concat_padding_mask=True``, the padding mask; with the
  converter's ``in_channels=82, concat_padding_mask=False`` the zero padding channel is appended
  here instead (same weights, same function, no torchvision).
* Scheduler: ``EDMEulerScheduler(sigma_max=80, sigma_min=0.0002, sigma_data=0.5)``, Karras rho 7,
  epsilon prediction, final sigma 0; 35 steps; initial noise ``randn * sqrt(80^2 + 1)``; the net
  sees ``x / sqrt(sigma^2 + 0.25)`` and ``t = 0.25 ln sigma``; fps 24 for the temporal RoPE.
* First-frame conditioning: latent frame 0 of x_t is replaced by the image's latent plus noise
  of sigma 0.001, rescaled from ``c_in(0.001)`` to ``c_in(sigma)``; the prediction there is replaced
  by the image's latent; both stop once ``sigma <= 0.001`` (the last step).
* Guidance: ``x0 = cond + guidance * (cond - uncond)``; the unconditional pass uses the negative
  prompt and zeroed warped-frame latents, the same indicator and first frame. GEN3C's default
  guidance 1 therefore runs both passes (70 DiT calls for 35 steps); guidance 0 skips the second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from lyra_sim.errors import InvalidInputError

LATENT_CHANNELS = 16
POSE_CHANNELS = 64  # frame_buffer_max (2) x (warped rgb latent 16 + warped mask latent 16)
GEN3C_INPUT_CHANNELS = LATENT_CHANNELS + 1 + POSE_CHANNELS  # 81; + 1 padding mask = 82 in the patch embedding


@dataclass
class Gen3CSamplerCfg:
    """EDM sampling settings; the defaults are GEN3C's."""

    num_steps: int = 35
    """Denoising steps (``--num_steps``). Defaults to 35."""

    guidance: float = 1.0
    """``x0 = cond + guidance * (cond - uncond)`` (``--guidance``); 0 skips the unconditional pass
    (half the cost, a different result). Defaults to 1."""

    sigma_max: float = 80.0
    """Largest noise level. Defaults to 80."""

    sigma_min: float = 0.0002
    """Smallest non-zero noise level (cosmos_predict1 passes it to diffusers' scheduler and uses it). Defaults to 0.0002."""

    sigma_data: float = 0.5
    """EDM data scale, also the latent normalisation's factor. Defaults to 0.5."""

    rho: float = 7.0
    """Karras schedule exponent. Defaults to 7."""

    augment_sigma: float = 0.001
    """Noise added to the first-frame condition latent (``DEFAULT_AUGMENT_SIGMA``). Defaults to 0.001."""

    fps: int = 24
    """Frame rate given to the DiT's temporal RoPE (base 24: 24 leaves positions unscaled; diffusers'
    pipeline default of 30 would scale them by 0.8). Defaults to 24."""


def make_scheduler(cfg: Gen3CSamplerCfg):
    """diffusers' ``EDMEulerScheduler`` with GEN3C's settings."""
    from diffusers import EDMEulerScheduler

    return EDMEulerScheduler(
        sigma_min=cfg.sigma_min, sigma_max=cfg.sigma_max, sigma_data=cfg.sigma_data, sigma_schedule="karras",
        num_train_timesteps=1000, prediction_type="epsilon", rho=cfg.rho, final_sigmas_type="zero",
    )


def dit_condition(indicator: Tensor, pose: Tensor, transformer_config) -> tuple[Tensor, Tensor | None]:
    """The ``condition_mask`` (and ``padding_mask``) to pass to a GEN3C ``CosmosTransformer3DModel``.

    Args:
        indicator: [B, 1, t, h, w], 1 on the conditioning latent frames.
        pose: [B, 64, t, h, w] warped-frame latents (zeros for the unconditional pass).
        transformer_config: the model's config (``in_channels``, ``concat_padding_mask``).

    Returns:
        (condition_mask [B, 65 or 66, t, h, w], padding_mask [1, 1, 8h, 8w] of zeros or None).
    """
    cond = torch.cat([indicator, pose], dim=1)
    in_ch = int(transformer_config.in_channels)
    if transformer_config.concat_padding_mask:
        if in_ch != GEN3C_INPUT_CHANNELS:
            raise InvalidInputError(f"a GEN3C DiT with concat_padding_mask takes {GEN3C_INPUT_CHANNELS} input channels; this one {in_ch}")
        h, w = pose.shape[-2:]
        return cond, pose.new_zeros(1, 1, h * 8, w * 8)
    if in_ch != GEN3C_INPUT_CHANNELS + 1:
        raise InvalidInputError(
            f"a GEN3C DiT takes {GEN3C_INPUT_CHANNELS} + 1 (padding mask) input channels; this one {in_ch} "
            "(a Cosmos Video2World DiT takes 17 + 1 and cannot read warped frames)"
        )
    return torch.cat([cond, torch.zeros_like(indicator)], dim=1), None


def sample_gen3c(
    transformer: torch.nn.Module,
    first_latent: Tensor,
    pose: Tensor,
    text: Tensor,
    negative_text: Tensor,
    cfg: Gen3CSamplerCfg,
    generator: torch.Generator,
    *,
    num_condition_frames: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Tensor:
    """Denoise one chunk; returns its normalised latents x0.

    Args:
        transformer: the GEN3C ``CosmosTransformer3DModel`` (any device and dtype).
        first_latent: [B, 16, t, h, w] normalised latents of the condition video (the image
            followed by zero frames); only the first ``num_condition_frames`` are used.
        pose: [B, 64, t, h, w] normalised latents of the warped frames and masks, GEN3C's order.
        text, negative_text: [B, L, D] T5 embeddings of the prompt and of the negative prompt.
        cfg: sampler settings.
        generator: CPU generator for the initial and the augmentation noise (same seed, same
            result on any device).
        num_condition_frames: latent frames taken from ``first_latent``. Defaults to 1.
        progress: called with (step, num_steps) after each step.

    Returns:
        [B, 16, t, h, w] float32 normalised latents on the transformer's device.
    """
    if first_latent.shape != (pose.shape[0], LATENT_CHANNELS, *pose.shape[2:]) or pose.shape[1] != POSE_CHANNELS:
        raise InvalidInputError(f"need first_latent [B, 16, t, h, w] and pose [B, 64, t, h, w]; got {tuple(first_latent.shape)}, {tuple(pose.shape)}")
    if cfg.num_steps < 1:
        raise InvalidInputError(f"num_steps must be >= 1; got {cfg.num_steps}")
    param = next(transformer.parameters())
    device, dtype = param.device, param.dtype
    scheduler = make_scheduler(cfg)
    scheduler.set_timesteps(cfg.num_steps, device=device)
    shape = first_latent.shape
    B, t = shape[0], shape[2]

    def randn() -> Tensor:
        return torch.randn(shape, generator=generator, dtype=torch.float32).to(device)

    x = randn() * scheduler.init_noise_sigma
    gt = first_latent.to(device, torch.float32)
    indicator = torch.zeros(1, 1, t, 1, 1, device=device)
    indicator[:, :, :num_condition_frames] = 1.0
    ind_full = indicator.expand(B, 1, *shape[2:])
    cond_mask, padding = dit_condition(ind_full, pose.to(device, torch.float32), transformer.config)
    uncond_mask, _ = dit_condition(ind_full, torch.zeros_like(pose, device=device, dtype=torch.float32), transformer.config)
    passes = [(text, cond_mask)] + ([(negative_text, uncond_mask)] if cfg.guidance != 0 else [])
    passes = [(emb.to(device, dtype), mask.to(dtype)) for emb, mask in passes]
    padding = None if padding is None else padding.to(dtype)
    aug = torch.tensor(cfg.augment_sigma, device=device)
    c_in_aug = scheduler._get_conditioning_c_in(aug)

    for i, timestep in enumerate(scheduler.timesteps):
        sigma = scheduler.sigmas[i].to(device)
        ind = indicator * 0 if cfg.augment_sigma >= float(sigma) else indicator
        x0s = []
        for emb, mask in passes:
            cond_x = (gt + randn() * cfg.augment_sigma) * c_in_aug / scheduler._get_conditioning_c_in(sigma)
            x_in = ind * cond_x + (1 - ind) * x
            out = transformer(
                hidden_states=scheduler.scale_model_input(x_in, timestep).to(dtype),
                timestep=timestep.expand(B).to(dtype),
                encoder_hidden_states=emb,
                fps=cfg.fps,
                condition_mask=mask,
                padding_mask=padding,
                return_dict=False,
            )[0].float()
            # x0 = c_skip x + c_out F; on the condition frames it is the condition latent itself.
            x0 = scheduler.precondition_outputs(x, out, sigma)
            x0s.append(ind * gt + (1 - ind) * x0)
        x0 = x0s[0] if len(x0s) == 1 else x0s[0] + cfg.guidance * (x0s[0] - x0s[1])
        x = scheduler.step(x0, timestep, x, return_dict=False, pred_original_sample=x0)[0]
        if progress is not None:
            progress(i + 1, cfg.num_steps)
    return x
