"""Teachers: camera-controlled video generators that make Lyra's training data."""

from lyra_sim.teachers.base import Teacher, TeacherOutput, TeacherRequest, TrajectoryVideo, TriangleMesh
from lyra_sim.teachers.procedural import ProceduralTeacher

__all__ = ["ProceduralTeacher", "Teacher", "TeacherOutput", "TeacherRequest", "TrajectoryVideo", "TriangleMesh"]
