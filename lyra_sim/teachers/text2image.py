"""Text to image from a local diffusers pipeline: the first step of prompt -> image -> video -> Gaussians.

Lyra generates its input images with FLUX; an image-conditioned teacher (GEN3C) then turns the
image into video. :class:`TextToImage` wraps any diffusers text-to-image pipeline saved in a
local folder (``model_index.json`` plus one subfolder per component), loaded with
``DiffusionPipeline.from_pretrained(folder, local_files_only=True)``; nothing is downloaded.

Commercially usable weights (licences as recorded in the project's reference notes):

* ``black-forest-labs/FLUX.1-schnell`` (``FluxPipeline``): apache-2.0. 4 steps, no guidance.
  (FLUX.1-dev is non-commercial.)
* ``Qwen/Qwen-Image`` (``QwenImagePipeline``): apache-2.0 (Qwen-Image-2.1 moved to a
  non-commercial research licence).
* ``nvidia/Cosmos-Predict2-2B-Text2Image`` (``Cosmos2TextToImagePipeline``): NVIDIA Open Model
  License, commercial use allowed; the same family as GEN3C.

Not commercially usable without another agreement: FLUX.1-dev, Sana (NVIDIA non-commercial),
SD3/SD3.5 (Stability Community License: free below US$1M annual revenue).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
from dataclasses import dataclass

import torch
from torch import Tensor

from lyra_sim.config import set_options
from lyra_sim.errors import InvalidInputError, MissingWeightsError
from lyra_sim.teachers.local_weights import PathLike, require_local_dir

TEXT2IMAGE_HINT = (
    "Download a diffusers-format text-to-image pipeline, e.g. `huggingface-cli download "
    "black-forest-labs/FLUX.1-schnell --local-dir DIR` (apache-2.0; Qwen/Qwen-Image and "
    "nvidia/Cosmos-Predict2-2B-Text2Image are commercially usable too) and pass DIR."
)
TEXT2IMAGE_LAYOUT = ("model_index.json",)


@dataclass
class TextToImageCfg:
    """Which text-to-image pipeline to load and how to sample it."""

    path: str
    """Local diffusers pipeline folder: model_index.json and the component subfolders it names
    (e.g. transformer/, vae/, text_encoder/, tokenizer/, scheduler/). Required."""

    num_inference_steps: int | None = None
    """Denoising steps; None: the pipeline's default (FLUX.1-schnell: use 4). Defaults to None."""

    guidance_scale: float | None = None
    """Classifier-free guidance scale, passed only to pipelines that take one; None: the
    pipeline's default. Defaults to None."""

    negative_prompt: str | None = None
    """Passed to pipelines that take one. Defaults to None."""

    device: str | None = None
    """Where the pipeline runs; None: CUDA if available, else CPU. Defaults to None."""

    dtype: str | None = None
    """Torch dtype name ("bfloat16", "float16", "float32"); None: bfloat16 on CUDA, float32 on
    CPU. Defaults to None."""

    offload: bool = False
    """On CUDA, keep components on the CPU and move each to the GPU only while it runs
    (``enable_model_cpu_offload``; needs accelerate): a 12B FLUX fits in ~24 GB. Defaults to False."""


class TextToImage:
    """A diffusers text-to-image pipeline: ``prompt -> image [3, H, W] in [0, 1]``.

    Use :meth:`from_pretrained`; the constructor wraps a pipeline that is already loaded.
    """

    def __init__(self, pipeline, cfg: TextToImageCfg):
        self.pipeline = pipeline
        self.cfg = cfg
        self.name = type(pipeline).__name__
        self._accepts = set(inspect.signature(pipeline.__call__).parameters)

    @classmethod
    def from_pretrained(cls, cfg: TextToImageCfg | PathLike, **overrides) -> TextToImage:
        """Load from a local folder; ``overrides`` set :class:`TextToImageCfg` fields.

        Raises:
            MissingWeightsError: the folder is missing or has no model_index.json.
            InvalidInputError: an unknown option, or the folder is a single model, not a pipeline.
        """
        if not isinstance(cfg, TextToImageCfg):
            cfg = TextToImageCfg(path=str(cfg))
        set_options(cfg, overrides, "text-to-image")
        root = require_local_dir(cfg.path, what="text-to-image pipeline", required=TEXT2IMAGE_LAYOUT, hint=TEXT2IMAGE_HINT)
        index = json.loads((root / "model_index.json").read_text())
        missing = [name for name, spec in index.items() if not name.startswith("_") and isinstance(spec, list)
                   and spec[0] is not None and not (root / name).is_dir()]
        if missing:
            raise MissingWeightsError(
                f"text-to-image pipeline: {root} has model_index.json but lacks the component folders "
                f"{', '.join(missing)}/. lyra-sim never downloads weights. {TEXT2IMAGE_HINT}"
            )
        device = torch.device(cfg.device if cfg.device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = getattr(torch, cfg.dtype) if cfg.dtype else (torch.bfloat16 if device.type == "cuda" else torch.float32)
        import diffusers  # slow import, paid only by users of real teachers

        # diffusers renamed torch_dtype to dtype (0.42 warns on the old name); older ones know only torch_dtype.
        dtype_key = "dtype" if hasattr(diffusers.utils.deprecation_utils, "_resolve_dtype") else "torch_dtype"
        pipe = diffusers.DiffusionPipeline.from_pretrained(
            str(root), local_files_only=True, **{dtype_key: dtype},
            low_cpu_mem_usage=importlib.util.find_spec("accelerate") is not None,
        )
        if cfg.offload and device.type == "cuda":
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe = pipe.to(device)
        pipe.set_progress_bar_config(disable=True)
        return cls(pipe, cfg)

    @property
    def device(self) -> torch.device:
        return self.pipeline._execution_device

    def __call__(self, prompt: str, *, height: int, width: int, seed: int = 0) -> Tensor:
        """One image of ``prompt``.

        Args:
            prompt: the text.
            height, width: image size in pixels (most pipelines need multiples of 16).
            seed: the same prompt, size and seed give the same image.

        Returns:
            [3, height, width] float32 RGB in [0, 1], on the CPU.
        """
        if not prompt or not prompt.strip():
            raise InvalidInputError("text-to-image needs a non-empty prompt")
        kwargs = {"prompt": prompt, "height": height, "width": width, "output_type": "pt",
                  "generator": torch.Generator(device="cpu").manual_seed(seed)}
        optional = {"num_inference_steps": self.cfg.num_inference_steps, "guidance_scale": self.cfg.guidance_scale,
                    "negative_prompt": self.cfg.negative_prompt}
        kwargs.update({k: v for k, v in optional.items() if v is not None and k in self._accepts})
        with torch.no_grad():
            images = self.pipeline(**kwargs).images
        image = torch.as_tensor(images)[0].float().cpu()
        if image.shape[0] != 3 and image.shape[-1] == 3:  # pipelines that return [H, W, 3]
            image = image.permute(2, 0, 1)
        return image.clamp(0, 1)
