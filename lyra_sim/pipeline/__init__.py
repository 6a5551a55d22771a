"""``generate``: one call from a prompt, image or video to a simulation-ready world."""

from lyra_sim.pipeline.config import (
    DecoderSettings,
    GenerateCfg,
    PreviewSettings,
    TeacherSettings,
    load_generate_cfg,
)
from lyra_sim.pipeline.pipeline import STAGES, GenerateResult, LyraPipeline, generate

__all__ = [
    "STAGES",
    "DecoderSettings",
    "GenerateCfg",
    "GenerateResult",
    "LyraPipeline",
    "PreviewSettings",
    "TeacherSettings",
    "generate",
    "load_generate_cfg",
]
