"""`ProceduralTeacher`: the weight-free teacher that makes the whole method run on a CPU.

prompt + seed -> :func:`generate_description` (a seeded analytic scene in metres) -> the input
camera at eye height -> Lyra's six trajectories from it -> exact ray casting of every frame
(colour, z-depth, hit mask) -> the codec's latents. It also returns the scene's ground-truth
mesh and ``world_from_scene`` (gravity and metres), which no generative teacher can give.

Dynamic requests animate a few objects over normalised time [0, 1]: frame i of every
trajectory shows time i / (T - 1), and each trajectory gets a time-reversed twin
("<name>_flipped": the same times, the camera path run backwards), Lyra's flipped supervision
that gives 12 views of every instant.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lyra_sim.cameras import Cameras, intrinsics_matrix, look_at, lyra_trajectory
from lyra_sim.cameras.rays import camera_rays
from lyra_sim.cameras.trajectories import sample_distances, trajectory_positions
from lyra_sim.errors import InvalidInputError
from lyra_sim.progress import track
from lyra_sim.teachers.base import TeacherOutput, TeacherRequest, TrajectoryVideo
from lyra_sim.teachers.procedural.generators import generate_description
from lyra_sim.teachers.procedural.mesh import scene_mesh, transform_mesh
from lyra_sim.teachers.procedural.raycast import PackedScene, cast_rays, occluded
from lyra_sim.teachers.procedural.scene import SceneDescription
from lyra_sim.teachers.procedural.shading import MaterialTable, albedo, shade, sky

SHADOW_BIAS = 2e-3  # metres: shadow rays start this far off the surface
CLEARANCE = 0.25  # metres: trajectories are shortened to keep the camera this far from surfaces


class ProceduralTeacher:
    """Seeded analytic scenes, ray-cast exactly; see the module docstring.

    Args:
        codec: encodes frames to latents (``encode([B,3,T,H,W] in [-1,1])``): a codec, a name
            for :func:`lyra_sim.codecs.load_codec`, or None for the DCT codec with Cosmos-like
            8x temporal compression. ``False`` skips latents.
        shadows: cast shadow rays toward the sun (about 1.6x the render time).
        mesh_times: for dynamic scenes, how many evenly spaced times get a ground-truth mesh.
    """

    name = "procedural"

    def __init__(self, codec=None, shadows: bool = True, mesh_times: int = 5, device: str | torch.device = "cpu"):
        if codec is None or isinstance(codec, str):
            from lyra_sim.codecs import load_codec

            codec = load_codec(codec or "dct")
        self.codec = codec
        self.shadows = shadows
        self.mesh_times = mesh_times
        self.device = torch.device(device)

    # ------------------------------------------------------------------ public API
    def describe(self, request: TeacherRequest) -> SceneDescription:
        """The scene description ``generate`` would render for ``request``."""
        return generate_description(request.prompt or "", request.seed, dynamic=request.dynamic)

    def generate(self, request: TeacherRequest) -> TeacherOutput:
        if request.image is not None or request.video is not None:
            raise InvalidInputError(
                "the procedural teacher builds scenes from a prompt; images and videos need a real teacher "
                "(a GEN3C-style model from local weights)"
            )
        if request.num_frames < 1 or request.width < 8 or request.height < 8:
            raise InvalidInputError(f"need num_frames >= 1 and at least 8x8 pixels, got {request.num_frames} frames of {request.width}x{request.height}")
        desc = self.describe(request)
        world_from_scene, K = self.input_camera(desc, request.width, request.height)
        center_depth = self._center_depth(desc, world_from_scene, K, request.width, request.height)
        distances = sample_distances(request.trajectories, request.movement_factor, request.seed)
        trajs = {
            name: lyra_trajectory(
                name, request.num_frames, self._safe_distance(desc, world_from_scene, name, dist, center_depth),
                K, request.width, request.height, center_depth=center_depth,
            )
            for name, dist in distances.items()
        }
        times = torch.linspace(0, 1, request.num_frames) if request.dynamic else None
        packed = self._packed_per_frame(desc, request.num_frames, times)
        materials = MaterialTable(desc, self.device)
        videos = []
        plan = [(name, cams, False) for name, cams in trajs.items()]
        if request.dynamic:
            plan += [(f"{name}_flipped", cams, True) for name, cams in trajs.items()]
        for name, cams, flipped in track(plan, "teacher trajectories"):
            if flipped:
                cams = Cameras(cams.c2w.flip(0), cams.K.flip(0), cams.width, cams.height)
            frames, depth, mask = self.render(desc, packed, materials, cams, world_from_scene)
            videos.append(TrajectoryVideo(name, frames, cams, depth, mask, self._encode(frames), times))
        scene_from_world = torch.linalg.inv(world_from_scene.double())
        if request.dynamic:
            mesh_times = torch.linspace(0, 1, self.mesh_times)
            meshes = [transform_mesh(scene_mesh(desc.at(float(t))), scene_from_world) for t in mesh_times]
        else:
            mesh_times, meshes = None, [transform_mesh(scene_mesh(desc), scene_from_world)]
        return TeacherOutput(
            trajectories=videos,
            codec=getattr(self.codec, "name", "none") if self.codec else "none",
            depth_is_metric=True,
            world_from_scene=world_from_scene,
            meshes=meshes,
            mesh_times=mesh_times,
            description=desc.to_dict(),
        )

    def input_camera(self, desc: SceneDescription, width: int, height: int) -> tuple[Tensor, Tensor]:
        """(world_from_scene [4, 4]: the input camera's OpenCV pose in the Z-up world, K [3, 3])."""
        eye = torch.tensor(desc.camera.eye, dtype=torch.float64)
        target = torch.tensor(desc.camera.target, dtype=torch.float64)
        c2w = look_at(eye, target, down=(0.0, 0.0, -1.0))
        f = 0.5 * height / math.tan(math.radians(desc.camera.fov_y_degrees) / 2)
        return c2w.float(), intrinsics_matrix(f, f, width / 2, height / 2)

    def render(self, desc: SceneDescription, packed: list[PackedScene], materials: MaterialTable, cams: Cameras, world_from_scene: Tensor):
        """Ray-cast every frame of ``cams`` (scene frame).

        Returns:
            frames [T, 3, H, W] in [0, 1], depth [T, H, W] (camera z, metres, 0 = sky),
            mask [T, H, W] (True where a surface was hit).
        """
        T, H, W = len(cams), cams.height, cams.width
        world_cams = Cameras(world_from_scene.to(cams.c2w) @ cams.c2w, cams.K, W, H).to(self.device)
        origins, dirs = camera_rays(world_cams)
        forward = world_cams.c2w[:, :3, 2]
        frames = torch.empty(T, 3, H, W)
        depth = torch.empty(T, H, W)
        for i in track(range(T), "teacher frames"):
            o, d = origins[i].reshape(-1, 3), dirs[i].reshape(-1, 3)
            scene = packed[i if len(packed) > 1 else 0]
            hits = cast_rays(scene, o, d)
            hit = hits.prim >= 0
            p = o + hits.t.clamp(max=1e6)[:, None] * d
            color = sky(desc, d)
            if hit.any():
                idx = hit.nonzero().squeeze(1)
                base = albedo(materials, hits.prim[idx], p[idx], hits.normal[idx])
                shadow = self._shadowed(desc, scene, p[idx], hits.normal[idx]) if self.shadows else None
                color[idx] = shade(desc, base, hits.normal[idx], shadow)
            frames[i] = color.T.reshape(3, H, W).cpu()
            z = hits.t * (d @ forward[i])
            depth[i] = torch.where(hit, z, torch.zeros_like(z)).reshape(H, W).cpu()
        return frames, depth, depth > 0

    def depth_at_times(self, output: TeacherOutput, cameras: Cameras, times: list[float]) -> Tensor:
        """Exact depth of ``cameras`` (scene frame) with the scene of ``output`` at each time.

        The same cameras at several instants, which is what tells moving geometry from static
        (:mod:`lyra_sim.export.moving`); a video's frames never show one camera twice.

        Returns:
            [K, V, H, W] z-depth in metres, 0 where a ray hits nothing (sky).
        """
        if output.description is None or output.world_from_scene is None:
            raise InvalidInputError("depth_at_times needs the procedural teacher's own output (scene description and frame)")
        desc = SceneDescription.from_dict(output.description)
        H, W = cameras.height, cameras.width
        world_cams = Cameras(output.world_from_scene.to(cameras.c2w) @ cameras.c2w, cameras.K, W, H).to(self.device)
        origins, dirs = camera_rays(world_cams)
        forward = world_cams.c2w[:, :3, 2]
        out = torch.zeros(len(times), len(cameras), H, W)
        for k, t in enumerate(times):
            scene = PackedScene.from_description(desc.at(float(t)), self.device)
            for i in range(len(cameras)):
                d = dirs[i].reshape(-1, 3)
                hits = cast_rays(scene, origins[i].reshape(-1, 3), d)
                z = hits.t * (d @ forward[i])
                out[k, i] = torch.where(hits.prim >= 0, z, torch.zeros_like(z)).reshape(H, W).cpu()
        return out

    # ------------------------------------------------------------------ helpers
    def _shadowed(self, desc: SceneDescription, scene: PackedScene, p: Tensor, n: Tensor) -> Tensor:
        sun = torch.nn.functional.normalize(torch.tensor(desc.lighting.sun_direction, device=p.device), dim=0)
        facing = (n @ sun) > 0
        result = torch.zeros(len(p), dtype=torch.bool, device=p.device)
        idx = facing.nonzero().squeeze(1)
        if idx.numel():
            result[idx] = occluded(scene, p[idx] + SHADOW_BIAS * n[idx], sun.expand(len(idx), 3).contiguous())
        return result

    def _packed_per_frame(self, desc: SceneDescription, num_frames: int, times: Tensor | None) -> list[PackedScene]:
        if times is None:
            return [PackedScene.from_description(desc, self.device)]
        return [PackedScene.from_description(desc.at(float(t)), self.device) for t in times]

    def _center_depth(self, desc: SceneDescription, world_from_scene: Tensor, K: Tensor, width: int, height: int) -> float:
        """Median depth of the input view (at 1/4 size): the distance Lyra's trajectories face."""
        small = Cameras(world_from_scene, K, width, height).resized(max(width // 4, 8), max(height // 4, 8)).to(self.device)
        o, d = camera_rays(small)
        hits = cast_rays(PackedScene.from_description(desc.at(0.0), self.device), o.reshape(-1, 3), d.reshape(-1, 3))
        z = (hits.t * (d.reshape(-1, 3) @ small.c2w[0, :3, 2]))[hits.prim >= 0]
        return float(z.median()) if z.numel() else 3.0

    def _safe_distance(self, desc: SceneDescription, world_from_scene: Tensor, name: str, distance: float, center_depth: float) -> float:
        """Shrink a trajectory's movement so the camera stays CLEARANCE metres from any surface.

        A generative teacher can fly through a wall and hallucinate; a ray caster would render
        the inside of the wall. So each camera position is checked against the geometry, along
        the path from the input camera, and the distance is scaled down until the path is free.
        """
        path = trajectory_positions(name, 64, distance, center_depth).float()  # scene frame
        world = world_from_scene.float()
        pts = path @ world[:3, :3].T + world[:3, 3]
        eye = pts[0]
        steps = pts - eye
        length = steps.norm(dim=-1)
        moving = length > 1e-6
        if not moving.any():
            return distance
        dirs = torch.nn.functional.normalize(steps[moving], dim=-1)
        scene = PackedScene.from_description(desc.at(0.0), self.device)
        free = cast_rays(scene, eye.expand(len(dirs), 3).contiguous(), dirs).t
        # The largest fraction of the path whose every position keeps the clearance.
        ratio = ((free - CLEARANCE).clamp(min=0) / length[moving]).min().item()
        return distance * min(1.0, ratio)

    def _encode(self, frames: Tensor) -> Tensor | None:
        if not self.codec:
            return None
        with torch.no_grad():
            return self.codec.encode(frames.permute(1, 0, 2, 3)[None] * 2 - 1)[0]
