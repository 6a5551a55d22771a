"""``generate``: one call from a prompt, image or video to a simulation-ready world."""

import lazy_loader

# Submodules load on first use of a name (SPEC 1, lazy_loader), so `lyra-sim --help` and the
# commands that need no tensors never import torch.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "config": ["GenerateCfg", "GenerateDecoderCfg", "PreviewCfg", "TeacherCfg", "load_generate_cfg"],
        "pipeline": ["STAGES", "GenerateResult", "LyraPipeline", "generate"],
    },
)

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
