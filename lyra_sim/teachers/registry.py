"""Teachers by name: what ``--teacher`` accepts, and how each one is loaded.

=============  ==============================================================================
name           what it needs
=============  ==============================================================================
procedural     nothing (embedded): seeded analytic scenes from a prompt, ray-cast exactly
gen3c          ``--weights DIR`` made by ``lyra-sim convert-gen3c`` (a GPU in practice): an
               image (or a prompt, with a text-to-image pipeline) rendered by GEN3C
=============  ==============================================================================

A teacher that needs weights and gets none is a :class:`~lyra_sim.errors.MissingWeightsError`
naming the folder layout, raised before anything is computed; nothing is ever downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lyra_sim.errors import InvalidInputError, MissingWeightsError


@dataclass(frozen=True)
class TeacherInfo:
    """What a teacher can take as input."""

    name: str
    needs_weights: bool
    prompt: bool
    """Makes a scene from a text prompt alone."""
    image: bool
    """Makes a scene from an input image."""
    video: bool
    """Makes a moving (4D) scene from an input video."""
    dynamic: bool
    """Makes moving scenes (with time-reversed trajectory copies) on request."""
    exact_depth: bool
    """Its depth maps are exact geometry (ray-cast), better for a collider than any decoded depth."""
    summary: str


TEACHERS: dict[str, TeacherInfo] = {
    "procedural": TeacherInfo("procedural", False, prompt=True, image=False, video=False, dynamic=True, exact_depth=True,
                              summary="embedded, weight-free: seeded analytic scenes from a prompt"),
    "gen3c": TeacherInfo("gen3c", True, prompt=True, image=True, video=False, dynamic=False, exact_depth=False,
                         summary="GEN3C (Cosmos 7B video DiT) from local weights: an image or prompt rendered along camera paths"),
}

GEN3C_LAYOUT = ("DIR/transformer/ and DIR/vae/ (made by `lyra-sim convert-gen3c --trust-torchscript CKPT_DIR DIR` from the released "
                "Gen3C-Cosmos-7B model.pt and Cosmos-Tokenize1-CV8x8x8-720p), DIR/depth/ (MoGe or a transformers "
                "Depth Anything / ZoeDepth folder), and for new prompts DIR/text_encoder/ (google-t5/t5-11b)")


def teacher_info(name: str) -> TeacherInfo:
    """The :class:`TeacherInfo` of ``name``; an error listing the known teachers otherwise."""
    if name not in TEACHERS:
        known = "; ".join(f"{n} ({t.summary})" for n, t in TEACHERS.items())
        raise InvalidInputError(f"unknown teacher {name!r}; choose one of: {known}")
    return TEACHERS[name]


def load_teacher(name: str, weights: str | None = None, device: str | torch.device = "cpu", **options):
    """Build the teacher ``name``.

    Args:
        weights: local weights folder (teachers that need one); see the module table.
        options: teacher-specific settings (procedural: ``codec``, ``shadows``; gen3c: any field
            of ``Gen3CTeacherCfg`` / ``Gen3CSamplerCfg`` / ``Cache3DCfg``).

    Raises:
        InvalidInputError: an unknown teacher or option.
        MissingWeightsError: a teacher that needs weights got none, or the folder is incomplete.
    """
    info = teacher_info(name)
    if name == "procedural":
        if weights:
            raise InvalidInputError("the procedural teacher is embedded and takes no --weights")
        from lyra_sim.teachers.procedural import ProceduralTeacher

        unknown = sorted(set(options) - {"codec", "shadows", "mesh_times"})
        if unknown:
            raise InvalidInputError(f"unknown procedural teacher option(s) {unknown}; known: codec, shadows, mesh_times")
        return ProceduralTeacher(device=device, **options)
    if info.needs_weights and not weights:
        raise MissingWeightsError(f"the {name} teacher needs its weights in a local folder: pass --weights DIR with {GEN3C_LAYOUT}; "
                                  "nothing is downloaded (see README, 'Real teachers')")
    from lyra_sim.teachers.gen3c import Gen3CTeacher

    return Gen3CTeacher.from_pretrained(weights, device=device, **options)
