"""The procedural teacher: seeded analytic scenes from prompts, ray-cast exactly in torch."""

from lyra_sim.teachers.procedural.generators import classify, generate_description
from lyra_sim.teachers.procedural.scene import SceneDescription
from lyra_sim.teachers.procedural.teacher import ProceduralTeacher

__all__ = ["ProceduralTeacher", "SceneDescription", "classify", "generate_description"]
