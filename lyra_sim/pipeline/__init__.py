"""``generate``: one call from a prompt, image or video to a simulation-ready world."""

from lyra_sim.pipeline.config import (
    GenerateCfg,
    GenerateDecoderCfg,
    PreviewCfg,
    TeacherCfg,
    load_generate_cfg,
)
from lyra_sim.pipeline.pipeline import STAGES, GenerateResult, LyraPipeline, generate

__all__ = [
    "STAGES",
    "GenerateCfg",
    "GenerateDecoderCfg",
    "GenerateResult",
    "LyraPipeline",
    "PreviewCfg",
    "TeacherCfg",
    "generate",
    "load_generate_cfg",
]
