"""Gaussians as OpenUSD ``UsdVol.ParticleField3DGaussianSplat`` (OpenUSD >= 26.03), both ways.

The schema holds *activated* values, like :class:`GaussianScene`: linear scales, linear
opacities in [0, 1], unit orientations, and SH coefficients grouped per particle
(``radiance:sphericalHarmonicsCoefficients``, K = (degree+1)^2 float3 per particle, DC first,
then the higher bands in the INRIA/gsplat basis order, as NVIDIA's usd-convert-gsplat and
3DGRUT write them; ``elementSize = K`` is authored on the attribute like theirs). Colour
follows the 3DGS convention ``rgb = 0.5 + C0 * dc``.

Two numpy details matter for speed and correctness: ``Vt.QuatfArray.FromNumpy`` reads rows as
(x, y, z, w), so our (w, x, y, z) quaternions are reordered, and every array goes through
``FromNumpy`` (no per-Gaussian Python), so 2M Gaussians at SH degree 3 author in about a second.

A data layer is one ``.usdc`` file whose default prim is the particle field; scenes larger than
``UsdGaussiansCfg.max_layer_bytes`` are split into several prims, one layer each (a USDZ member
must stay under 4 GiB). :func:`write_usd_gaussians` writes a standalone file; the world export
(:mod:`lyra_sim.export.scene`) references the same data layers from its root layer.
"""

from __future__ import annotations

import itertools
import math
import tempfile
from pathlib import Path

import numpy as np
import torch
from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, UsdUtils, UsdVol, Vt

from lyra_sim.errors import ExportError, InvalidInputError
from lyra_sim.export.config import GIB, UsdGaussiansCfg
from lyra_sim.gaussians import GaussianScene
from lyra_sim.gaussians.sh_layout import num_sh_bases, sh_degree_from_bases
from lyra_sim.io.atomic import atomic_output, check_writable
from lyra_sim.export.usd_prims import gaussian_prims, prim_array

USD_SUFFIXES = (".usda", ".usdc", ".usd", ".usdz")
KERNEL_SUPPORT = 3.0
"""The schema's kernel is a unit-sigma Gaussian; 3 sigma holds 99.7 %, so the extent pads by it."""
USDZ_LIMIT = 4 * GIB


def _require_particle_field() -> None:
    if not hasattr(UsdVol, "ParticleField3DGaussianSplat"):
        raise ExportError("this OpenUSD has no UsdVol.ParticleField3DGaussianSplat; install usd-core>=26.3")


# ---------------------------------------------------------------------------------------- stage
def new_stage(path: str | Path | None = None, up_axis: str = "Z", default_prim: str | None = "World"):
    """A stage (in memory when ``path`` is None) with the metadata every lyra-sim layer carries:
    ``upAxis``, ``metersPerUnit = 1``, ``kilogramsPerUnit = 1`` and an Xform default prim
    (none when ``default_prim`` is None)."""
    _require_particle_field()
    stage = Usd.Stage.CreateInMemory() if path is None else Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z if up_axis.upper() == "Z" else UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.SetStageKilogramsPerUnit(stage, 1.0)
    if default_prim is not None:
        stage.SetDefaultPrim(UsdGeom.Xform.Define(stage, f"/{default_prim}").GetPrim())
    return stage


def layer_bytes(num_gaussians: int, sh_bases: int, half: bool = False) -> int:
    """Bytes of one data layer's arrays (positions, orientations, scales, opacities, SH)."""
    per = (3 + 4 + 3 + 1 + 3 * sh_bases) * (2 if half else 4)
    return num_gaussians * per + 4096


def partition_ranges(num_gaussians: int, sh_bases: int, cfg: UsdGaussiansCfg) -> list[tuple[int, int]]:
    """Contiguous [start, end) ranges so each range's layer stays under ``cfg.max_layer_bytes``."""
    per = layer_bytes(1, sh_bases, cfg.half) - 4096
    per_layer = max(1, (cfg.max_layer_bytes - 4096) // per)
    parts = max(1, math.ceil(num_gaussians / per_layer))
    edges = np.linspace(0, num_gaussians, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def check_exportable(scene: GaussianScene) -> GaussianScene:
    """Raise ExportError for a scene nothing sensible can be made of; returns the scene."""
    if len(scene) == 0:
        raise ExportError("the scene has no Gaussians; nothing to export (check the PLY or the pruning threshold)")
    try:
        scene.validate()
    except InvalidInputError as err:
        raise ExportError(f"the scene holds invalid Gaussians: {err}") from None
    if float(scene.opacities.max()) <= 1e-3:
        raise ExportError("every Gaussian is fully transparent (opacity <= 0.001): the scene would be invisible "
                          "and has no surface to collide with; check the opacity activation of the source")
    return scene


# ---------------------------------------------------------------------------------------- write
def schema_arrays(scene: GaussianScene) -> dict[str, np.ndarray]:
    """The scene as contiguous numpy float32 arrays in the schema's layout, ready for ``FromNumpy``.

    Returns:
        {"positions" [N, 3], "orientations" [N, 4] unit (x, y, z, w) rows, "scales" [N, 3]
        linear, "opacities" [N] in [0, 1], "sh" [N * K, 3] grouped per particle}.
    """
    s = scene.detach().to("cpu", torch.float32)
    quats = torch.nn.functional.normalize(s.quats, dim=-1)
    return {
        "positions": np.ascontiguousarray(s.means.numpy()),
        "orientations": np.ascontiguousarray(quats[:, [1, 2, 3, 0]].numpy()),
        "scales": np.ascontiguousarray(s.scales.numpy()),
        "opacities": np.ascontiguousarray(s.opacities.clamp(0, 1).numpy()),
        "sh": np.ascontiguousarray(s.sh.reshape(-1, 3).numpy()),
    }


def author_gaussians(stage, prim_path: str, scene: GaussianScene, cfg: UsdGaussiansCfg | None = None):
    """Define a ParticleField3DGaussianSplat at ``prim_path`` holding ``scene`` (local space).

    Returns:
        the ``UsdVol.ParticleField3DGaussianSplat`` schema object.
    """
    _require_particle_field()
    cfg = cfg or UsdGaussiansCfg()
    a = schema_arrays(scene)
    gs = UsdVol.ParticleField3DGaussianSplat.Define(stage, prim_path)
    if cfg.half:
        h = lambda x: np.ascontiguousarray(x.astype(np.float16))
        gs.CreatePositionshAttr(Vt.Vec3hArray.FromNumpy(h(a["positions"])))
        gs.CreateOrientationshAttr(Vt.QuathArray.FromNumpy(h(a["orientations"])))
        gs.CreateScaleshAttr(Vt.Vec3hArray.FromNumpy(h(a["scales"])))
        gs.CreateOpacitieshAttr(Vt.HalfArray.FromNumpy(h(a["opacities"])))
        sh_attr = gs.CreateRadianceSphericalHarmonicsCoefficientshAttr(Vt.Vec3hArray.FromNumpy(h(a["sh"])))
    else:
        gs.CreatePositionsAttr(Vt.Vec3fArray.FromNumpy(a["positions"]))
        gs.CreateOrientationsAttr(Vt.QuatfArray.FromNumpy(a["orientations"]))
        gs.CreateScalesAttr(Vt.Vec3fArray.FromNumpy(a["scales"]))
        gs.CreateOpacitiesAttr(Vt.FloatArray.FromNumpy(a["opacities"]))
        sh_attr = gs.CreateRadianceSphericalHarmonicsCoefficientsAttr(Vt.Vec3fArray.FromNumpy(a["sh"]))
    sh_attr.SetMetadata("elementSize", scene.sh.shape[1])
    gs.CreateRadianceSphericalHarmonicsDegreeAttr(scene.sh_degree)
    gs.CreateSortingModeHintAttr(cfg.sorting_mode_hint)
    gs.CreateProjectionModeHintAttr(cfg.projection_mode_hint)
    if len(scene):
        pad = KERNEL_SUPPORT * a["scales"].max(axis=1, keepdims=True)
        lo, hi = (a["positions"] - pad).min(0), (a["positions"] + pad).max(0)
    else:
        lo = hi = np.zeros(3, np.float32)
    gs.CreateExtentAttr(Vt.Vec3fArray.FromNumpy(np.stack([lo, hi]).astype(np.float32)))
    if cfg.color_space:
        Usd.ColorSpaceAPI.Apply(gs.GetPrim()).CreateColorSpaceNameAttr(cfg.color_space)
    return gs


def write_gaussian_layers(
    scene: GaussianScene, directory: str | Path, stem: str, cfg: UsdGaussiansCfg | None = None, overwrite: bool = False
) -> list[str]:
    """Write ``scene`` as one or more ``.usdc`` data layers in ``directory``.

    Each layer's default prim ``/Gaussians`` is a particle field; names are ``{stem}.usdc`` or,
    when split, ``{stem}_000.usdc, {stem}_001.usdc, ...``. Returns the file names (relative).
    """
    cfg = cfg or UsdGaussiansCfg()
    directory = Path(directory)
    ranges = partition_ranges(len(scene), scene.sh.shape[1], cfg)
    names = [f"{stem}.usdc"] if len(ranges) == 1 else [f"{stem}_{i:03d}.usdc" for i in range(len(ranges))]
    for name in names:
        check_writable(directory / name, overwrite)
    for name, (a, b) in zip(names, ranges):
        stage = new_stage(None, default_prim=None)
        gs = author_gaussians(stage, "/Gaussians", scene[a:b], cfg)
        stage.SetDefaultPrim(gs.GetPrim())
        with atomic_output(directory / name, overwrite=overwrite) as tmp:
            stage.GetRootLayer().Export(str(tmp))
    return names


def reference_gaussian_layers(stage, parent_path: str, names: list[str]) -> list[str]:
    """Add one prim per data layer under ``parent_path``, each referencing ``./name``.

    The layers need not exist yet (or be resolvable from an in-memory stage): the unresolved
    reference warnings OpenUSD would print while authoring are collected and dropped.
    """
    paths = []
    delegate = UsdUtils.CoalescingDiagnosticDelegate()
    for i, name in enumerate(names):
        path = f"{parent_path}/gaussians" if len(names) == 1 else f"{parent_path}/Partition_{i:03d}"
        prim = stage.DefinePrim(path)
        prim.GetReferences().AddReference(f"./{name}")
        paths.append(path)
    del delegate
    return paths


def set_transform(xformable, matrix) -> None:
    """Author one ``xformOp:transform`` from a [4, 4] column-vector matrix (``p' = M p``)."""
    m = np.asarray(torch.as_tensor(matrix, dtype=torch.float64).cpu(), dtype=np.float64)
    # Gf matrices act on row vectors, so the column-vector matrix goes in transposed.
    xformable.ClearXformOpOrder()
    xformable.AddTransformOp().Set(Gf.Matrix4d(*m.T.flatten().tolist()))


def package_usdz(root_layer: str | Path, out_path: str | Path, overwrite: bool = False) -> Path:
    """Package ``root_layer`` and every layer it references into one ``.usdz``, atomically.

    Raises:
        ExportError: the package would reach 4 GiB (USD's zip writer has no ZIP64).
    """
    _require_particle_field()
    root_layer = Path(root_layer)
    total = sum(p.stat().st_size for p in root_layer.parent.iterdir() if p.is_file())
    if total >= USDZ_LIMIT - (1 << 20):
        raise ExportError(
            f"the USDZ package would hold {total / GIB:.2f} GiB, but a USDZ (a zip without ZIP64) must stay under "
            "4 GiB; write .usd/.usda instead (Gaussians then go to several .usdc layers beside it)"
        )
    with atomic_output(out_path, overwrite=overwrite) as tmp:
        if not UsdUtils.CreateNewUsdzPackage(Sdf.AssetPath(str(root_layer)), str(tmp)):
            raise ExportError(f"OpenUSD could not package {root_layer} as USDZ")
    return Path(out_path)


def write_usd_gaussians(
    scene: GaussianScene,
    path: str | Path,
    cfg: UsdGaussiansCfg | None = None,
    transform=None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``scene`` as a standalone USD file (``.usda``, ``.usdc``, ``.usd`` or ``.usdz``).

    Layout: ``/World`` (default prim, Z-up metadata, metres) > ``/World/Gaussians`` (Xform
    carrying ``transform``, identity when None) > ``gaussians`` (or ``Partition_NNN`` when the
    scene is split). A single-layer ``.usda``/``.usdc`` holds the data itself; split scenes get
    ``{stem}_NNN.usdc`` data layers beside the root; ``.usdz`` packs everything into one file.

    Args:
        transform: [4, 4] similarity from the Gaussians' frame to the stage frame.

    Returns:
        the files written (root first).
    """
    cfg = cfg or UsdGaussiansCfg()
    path = Path(path)
    if path.suffix.lower() not in USD_SUFFIXES:
        raise ExportError(f"{path}: unknown USD extension; use one of {', '.join(USD_SUFFIXES)}")
    check_exportable(scene)
    check_writable(path, overwrite)
    ranges = partition_ranges(len(scene), scene.sh.shape[1], cfg)
    if path.suffix.lower() == ".usdz":
        with tempfile.TemporaryDirectory(dir=_existing_parent(path), prefix=".lyra-usdz-") as tmp:
            root = Path(tmp) / "default.usda"
            names = write_gaussian_layers(scene, tmp, "gaussians", cfg)
            stage = new_stage(None)
            xf = _gaussians_xform(stage, transform)
            reference_gaussian_layers(stage, str(xf.GetPath()), names)
            stage.GetRootLayer().Export(str(root))
            package_usdz(root, path, overwrite)
        return [path]
    if len(ranges) == 1:
        stage = new_stage(None)
        xf = _gaussians_xform(stage, transform)
        author_gaussians(stage, f"{xf.GetPath()}/gaussians", scene, cfg)
        with atomic_output(path, overwrite=overwrite) as tmp:
            stage.GetRootLayer().Export(str(tmp))
        return [path]
    names = write_gaussian_layers(scene, path.parent, path.stem, cfg, overwrite)
    written = [path.parent / n for n in names]
    try:
        stage = new_stage(None)
        xf = _gaussians_xform(stage, transform)
        reference_gaussian_layers(stage, str(xf.GetPath()), names)
        with atomic_output(path, overwrite=overwrite) as tmp:
            stage.GetRootLayer().Export(str(tmp))
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return [path, *written]


def _gaussians_xform(stage, transform):
    xf = UsdGeom.Xform.Define(stage, "/World/Gaussians")
    if transform is not None:
        set_transform(xf, transform)
    return xf


def _existing_parent(path: Path) -> Path:
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    return parent


# ---------------------------------------------------------------------------------------- read
def read_prim_gaussians(prim) -> GaussianScene:
    """The Gaussians of one ParticleField3DGaussianSplat prim, in its local space.

    Follows the schema's per-attribute rules: the position count is N; a missing (or too short)
    array takes the schema default (identity orientation, unit scale, opacity 1, grey SH).
    """
    pos = prim_array(prim, "positions")
    if pos is None:
        raise ExportError(f"{prim.GetPath()}: ParticleField3DGaussianSplat without positions")
    n = len(pos)

    def per_particle(name: str, width: int, default) -> np.ndarray:
        v = prim_array(prim, name)
        if v is None or len(v) < n:
            return np.tile(np.asarray(default, np.float32), (n, 1)).reshape(n, width) if width > 1 else np.full(n, default, np.float32)
        return v[:n].reshape(n, width) if width > 1 else v[:n]

    xyzw = per_particle("orientations", 4, [0.0, 0.0, 0.0, 1.0])
    scales = per_particle("scales", 3, [1.0, 1.0, 1.0])
    opacities = per_particle("opacities", 1, 1.0)
    degree_attr = prim.GetAttribute("radiance:sphericalHarmonicsDegree")
    degree = int(degree_attr.Get()) if degree_attr and degree_attr.HasAuthoredValue() else 3
    k = num_sh_bases(degree)
    sh = prim_array(prim, "radiance:sphericalHarmonicsCoefficients")
    if sh is None or len(sh) < n * k:
        sh_t = torch.zeros(n, 1, 3)
    else:
        sh_t = torch.from_numpy(np.ascontiguousarray(sh[: n * k])).reshape(n, k, 3)
    sh_degree_from_bases(sh_t.shape[1])
    return GaussianScene(
        means=torch.from_numpy(np.ascontiguousarray(pos)),
        quats=torch.from_numpy(np.ascontiguousarray(xyzw[:, [3, 0, 1, 2]])),
        scales=torch.from_numpy(np.ascontiguousarray(scales)),
        opacities=torch.from_numpy(np.ascontiguousarray(opacities)),
        sh=sh_t,
    )


def read_usd_gaussians(source, frame: str = "local") -> GaussianScene:
    """Read every ParticleField3DGaussianSplat of a USD file (or an open stage) into one scene.

    Args:
        source: a path (``.usda``, ``.usdc``, ``.usd``, ``.usdz``) or a ``Usd.Stage``.
        frame: "local" returns each prim's data as stored (e.g. the scene frame of a lyra-sim
            world); "world" applies each prim's local-to-world transform (must be a similarity).

    Raises:
        ExportError: the file cannot be opened or holds no Gaussians.
    """
    _require_particle_field()
    if frame not in ("local", "world"):
        raise InvalidInputError(f"frame must be 'local' or 'world', got {frame!r}")
    stage = source
    if not isinstance(source, Usd.Stage):
        if not Path(source).is_file():
            raise ExportError(f"{source}: no such file")
        stage = Usd.Stage.Open(str(source))
        if stage is None:
            raise ExportError(f"{source}: OpenUSD cannot open it")
    prims = gaussian_prims(stage)
    if not prims:
        raise ExportError(f"{stage.GetRootLayer().identifier}: no ParticleField3DGaussianSplat prim in it")
    scenes = []
    cache = UsdGeom.XformCache()
    for prim in prims:
        scene = read_prim_gaussians(prim)
        if frame == "world":
            m = np.array(cache.GetLocalToWorldTransform(prim), dtype=np.float64).T  # to column-vector form
            if not np.allclose(m, np.eye(4), atol=1e-12):
                scene = scene.transform(torch.from_numpy(m))
        scenes.append(scene)
    return GaussianScene.merge(scenes)
