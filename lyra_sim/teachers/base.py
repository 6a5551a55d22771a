"""The teacher protocol: what a camera-controlled video model gives the rest of lyra-sim.

A teacher takes a prompt and/or an image (video teachers: a video) and renders it along camera
trajectories. Lyra's teacher is GEN3C (monocular depth -> 3D cache -> forward warping ->
Cosmos video DiT); lyra-sim's embedded default is the procedural teacher, which ray-casts a
seeded analytic scene and so also knows the true geometry. Both return a
:class:`TeacherOutput`; the SDG writer (:mod:`lyra_sim.data`) and the trainer read nothing
else.

Frames of reference: every camera and every piece of geometry in a TeacherOutput is in the
*scene frame*, the first input camera's OpenCV frame (x right, y down, z forward), as Lyra's
decoder expects. Teachers that know more (the procedural teacher knows gravity and metres)
record ``world_from_scene``, the rigid/similarity transform to a Z-up metric world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

from torch import Tensor

from lyra_sim.cameras import Cameras
from lyra_sim.cameras.trajectories import LYRA_TRAJECTORIES


@dataclass
class TeacherRequest:
    """What to generate.

    Attributes:
        prompt: text description (the procedural teacher builds its scene from it).
        image: [3, H, W] in [0, 1], the input view (image-conditioned teachers).
        video: [T, 3, H, W] in [0, 1], the input video (video teachers, dynamic scenes).
        trajectories: names of the camera paths to render, Lyra's six by default.
        num_frames: frames per trajectory (Lyra: 121; the curriculum also uses 17 and 49).
        width, height: frame size in pixels (Lyra's first stage: 320 x 176).
        seed: with the same request and seed a teacher returns the same output.
        movement_factor: GEN3C's ``total_movement_distance_factor``.
        dynamic: ask for a moving scene (video -> 4D); the output then carries per-frame times
            and, for Lyra's flipped supervision, the time-reversed copies of each trajectory.
    """

    prompt: str | None = None
    image: Tensor | None = None
    video: Tensor | None = None
    trajectories: Sequence[str] = tuple(LYRA_TRAJECTORIES)
    num_frames: int = 121
    width: int = 320
    height: int = 176
    seed: int = 0
    movement_factor: float = 1.0
    dynamic: bool = False


@dataclass
class TrajectoryVideo:
    """One trajectory as the teacher rendered it.

    Attributes:
        name: trajectory name ("left", ..., "clockwise"; "<name>_flipped" for reversed copies).
        frames: [T, 3, H, W] RGB in [0, 1] (what the teacher's RGB decoder outputs).
        cameras: T cameras in the scene frame.
        depth: [T, H, W] z-depth along the camera axis, scene units; 0 where unknown.
        mask: [T, H, W] bool, True where the frame is trustworthy (None: everywhere).
        latents: [C, t, h, w] the teacher codec's latents of ``frames`` (None if not encoded).
        times: [T] scene time of each frame in [0, 1] (dynamic scenes), else None.
    """

    name: str
    frames: Tensor
    cameras: Cameras
    depth: Tensor | None = None
    mask: Tensor | None = None
    latents: Tensor | None = None
    times: Tensor | None = None

    def __len__(self) -> int:
        return self.frames.shape[0]


@dataclass
class TriangleMesh:
    """Ground-truth geometry: ``vertices [V, 3]`` (float), ``faces [F, 3]`` (int64, CCW outward)."""

    vertices: Tensor
    faces: Tensor


@dataclass
class TeacherOutput:
    """Everything a teacher produced for one request.

    Attributes:
        trajectories: the rendered trajectories, in request order (then flipped copies).
        codec: name of the codec that made the latents (e.g. "dct-t8", "cosmos-cv8x8x8").
        depth_is_metric: True when depth is in metres (procedural teacher, metric estimators).
        world_from_scene: [4, 4] similarity from the scene frame to a Z-up metric world, when
            the teacher knows gravity and scale; None otherwise.
        meshes: ground-truth geometry in the scene frame: one mesh for a static scene, one per
            ``mesh_times`` entry for a dynamic one; empty when unknown.
        mesh_times: [K] times of ``meshes`` for dynamic scenes.
        description: the scene description (procedural teacher), JSON-serialisable.
    """

    trajectories: list[TrajectoryVideo]
    codec: str
    depth_is_metric: bool = False
    world_from_scene: Tensor | None = None
    meshes: list[TriangleMesh] = field(default_factory=list)
    mesh_times: Tensor | None = None
    description: dict | None = None


@runtime_checkable
class Teacher(Protocol):
    """A camera-controlled video generator."""

    name: str

    def generate(self, request: TeacherRequest) -> TeacherOutput:
        """Render ``request``; raises a LyraSimError subclass for requests it cannot serve."""
        ...
