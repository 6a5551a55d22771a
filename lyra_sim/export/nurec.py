"""The legacy NuRec USDZ (Omniverse Kit 107.3-110.1, Isaac Sim 5.0-6.0), both ways.

Isaac Sim 6 renders ``ParticleField3DGaussianSplat`` natively; this format is only for Isaac
Sim 5.x. Layout (as 3DGRUT's NuRec exporter writes it; see shared/reference/usd-isaac-facts.md):

* ``default.usda`` first: Z-up, ``over "gauss"`` under ``/World`` referencing ``gauss.usda``,
  and the NuRec ``customLayerData.renderSettings``;
* ``<stem>.nurec``: gzip (level 0) of msgpack ``{"nre_data": {version, model, config,
  state_dict}}`` holding *pre-activation* float16 tensors: positions, rotations (w, x, y, z),
  log-scales, logit densities [N, 1], ``features_albedo`` [N, 3] (SH DC) and
  ``features_specular`` [N, 45] (the other 15 coefficients, RGB per coefficient), each with its
  ``.shape`` list; SH is padded to degree 3 with ``n_active_features`` = the true degree;
* ``gauss.usda``: a ``UsdVol.Volume`` ``/World/gauss`` with the NuRec attributes, its
  ``xformOp:transform`` (the transform to the stage frame), and two ``OmniNuRecFieldAsset``
  children pointing at the payload.

msgpack is encoded by the few lines below (the subset this payload needs), so there is no
dependency on the msgpack package.
"""

from __future__ import annotations

import gzip
import io
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

from lyra_sim.errors import ExportError
from lyra_sim.export.usd_gaussians import (
    USDZ_LIMIT,
    check_exportable,
    new_stage,
    set_transform,
)
from lyra_sim.gaussians import GaussianScene
from lyra_sim.io.archive import check_zip_members
from lyra_sim.io.atomic import atomic_output

NUREC_VERSION = "0.2.576"
_PREFIX = ".gaussians_nodes.gaussians."
RENDER_SETTINGS = {
    "rtx:rendermode": "RaytracedLighting",
    "rtx:directLighting:sampledLighting:samplesPerPixel": 8,
    "rtx:post:histogram:enabled": False,
    "rtx:post:registeredCompositing:invertToneMap": True,
    "rtx:post:registeredCompositing:invertColorCorrection": True,
    "rtx:material:enableRefraction": False,
    "rtx:post:tonemap:op": 2,
    "rtx:raytracing:fractionalCutoutOpacity": False,
    "rtx:matteObject:visibility:secondaryRays": True,
}


# ------------------------------------------------------------------------------- msgpack subset
def msgpack_pack(obj) -> bytes:
    """Encode None, bool, int, float (as float64), str, bytes, list/tuple and dict."""
    out = io.BytesIO()
    _pack(obj, out)
    return out.getvalue()


def _pack(obj, out) -> None:
    w = out.write
    if obj is None:
        w(b"\xc0")
    elif obj is True:
        w(b"\xc3")
    elif obj is False:
        w(b"\xc2")
    elif isinstance(obj, (int, np.integer)):
        v = int(obj)
        if 0 <= v < 128:
            w(struct.pack("B", v))
        elif -32 <= v < 0:
            w(struct.pack("b", v))
        elif 0 <= v < 1 << 64:
            w(b"\xcf" + struct.pack(">Q", v))
        else:
            w(b"\xd3" + struct.pack(">q", v))
    elif isinstance(obj, (float, np.floating)):
        w(b"\xcb" + struct.pack(">d", float(obj)))
    elif isinstance(obj, str):
        b = obj.encode()
        w((struct.pack("B", 0xA0 | len(b)) if len(b) < 32 else b"\xdb" + struct.pack(">I", len(b))) + b)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        w(b"\xc6" + struct.pack(">I", len(obj)))
        w(obj)
    elif isinstance(obj, (list, tuple)):
        w(b"\xdd" + struct.pack(">I", len(obj)))
        for item in obj:
            _pack(item, out)
    elif isinstance(obj, dict):
        w(b"\xdf" + struct.pack(">I", len(obj)))
        for k, v in obj.items():
            _pack(k, out)
            _pack(v, out)
    else:
        raise TypeError(f"cannot msgpack {type(obj).__name__}")


def msgpack_unpack(data: bytes):
    """Decode the msgpack that :func:`msgpack_pack` (or the msgpack package) writes."""
    return _unpack(memoryview(data), 0)[0]


def _unpack(b: memoryview, p: int):
    t = b[p]
    p += 1
    if t <= 0x7F:
        return t, p
    if t >= 0xE0:
        return t - 256, p
    if 0xA0 <= t <= 0xBF:
        n = t & 0x1F
        return bytes(b[p : p + n]).decode(), p + n
    if 0x90 <= t <= 0x9F or 0x80 <= t <= 0x8F:
        n, is_map = t & 0x0F, t < 0x90
        return _collection(b, p, n, is_map)
    simple = {0xC0: None, 0xC2: False, 0xC3: True}
    if t in simple:
        return simple[t], p
    fixed = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
    if t in fixed:
        fmt = fixed[t]
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, b[p : p + size])[0], p + size
    lengths = {0xC4: ">B", 0xC5: ">H", 0xC6: ">I", 0xD9: ">B", 0xDA: ">H", 0xDB: ">I", 0xDC: ">H", 0xDD: ">I", 0xDE: ">H", 0xDF: ">I"}
    if t in lengths:
        fmt = lengths[t]
        size = struct.calcsize(fmt)
        n = struct.unpack(fmt, b[p : p + size])[0]
        p += size
        if t in (0xC4, 0xC5, 0xC6):
            return bytes(b[p : p + n]), p + n
        if t in (0xD9, 0xDA, 0xDB):
            return bytes(b[p : p + n]).decode(), p + n
        return _collection(b, p, n, t in (0xDE, 0xDF))
    raise ExportError(f"unsupported msgpack type byte 0x{t:02x} in a .nurec payload")


def _collection(b, p, n, is_map):
    if is_map:
        out = {}
        for _ in range(n):
            k, p = _unpack(b, p)
            out[k], p = _unpack(b, p)
        return out, p
    items = []
    for _ in range(n):
        v, p = _unpack(b, p)
        items.append(v)
    return items, p


# ------------------------------------------------------------------------------- payload
def nurec_payload(scene: GaussianScene) -> dict:
    """The ``nre_data`` dictionary of a scene (pre-activation float16 tensors)."""
    s = scene.detach().to("cpu", torch.float32).with_sh_degree(3)
    eps = 1e-6
    op = s.opacities.clamp(eps, 1 - eps)
    tensors = {
        "positions": s.means.numpy(),
        "rotations": torch.nn.functional.normalize(s.quats, dim=-1).numpy(),
        "scales": torch.log(s.scales).numpy(),
        "densities": torch.log(op / (1 - op))[:, None].numpy(),
        "features_albedo": s.sh[:, 0].numpy(),
        "features_specular": s.sh[:, 1:].reshape(len(s), -1).numpy(),
        "extra_signal": np.zeros((len(s), 0), np.float32),
    }
    state = {"._extra_state": {"obj_track_ids": {"gaussians": []}}}
    for name, arr in tensors.items():
        state[_PREFIX + name] = np.ascontiguousarray(arr, dtype=np.float16).tobytes()
        state[_PREFIX + name + ".shape"] = list(arr.shape)
    state[_PREFIX + "n_active_features"] = np.array([scene.sh_degree], np.int64).tobytes()
    state[_PREFIX + "n_active_features.shape"] = []
    config = {
        "layers": {"gaussians": {
            "name": "sh-gaussians", "device": "cuda", "density_activation": "sigmoid", "scale_activation": "exp",
            "rotation_activation": "normalize", "precision": 16,
            "particle": {"density_kernel_planar": False, "density_kernel_degree": 2,
                         "density_kernel_density_clamping": True, "density_kernel_min_response": 0.0113,
                         "radiance_sph_degree": 3},
            "transmittance_threshold": 0.0001,
        }},
        "renderer": {
            "name": "3dgut-nrend", "log_level": 3, "force_update": False, "update_step_train_batch_end": False,
            "per_ray_features": False, "global_z_order": True,
            "projection": {"n_rolling_shutter_iterations": 5, "ut_dim": 3, "ut_alpha": 1.0, "ut_beta": 2.0,
                           "ut_kappa": 0.0, "ut_require_all_sigma_points": False, "image_margin_factor": 0.1,
                           "min_projected_ray_radius": 0.5477225575051661},
            "culling": {"rect_bounding": True, "tight_opacity_bounding": True, "tile_based": True,
                        "near_clip_distance": 1e-8, "far_clip_distance": 3.402823466e38},
            "render": {"mode": "kbuffer", "k_buffer_size": 0},
        },
        "name": "gaussians_primitive",
        "appearance_embedding": {"name": "skip-appearance", "embedding_dim": 0, "device": "cuda"},
        "background": {"name": "skip-background", "device": "cuda", "composite_in_linear_space": False},
    }
    return {"nre_data": {"version": NUREC_VERSION, "model": "nre", "config": config, "state_dict": state}}


def payload_to_scene(payload: dict) -> GaussianScene:
    """Inverse of :func:`nurec_payload` (activations applied, SH cut to ``n_active_features``)."""
    sd = payload["nre_data"]["state_dict"]

    def get(name):
        return torch.from_numpy(np.frombuffer(sd[_PREFIX + name], np.float16).astype(np.float32).reshape(sd[_PREFIX + name + ".shape"]))

    degree = int(np.frombuffer(sd[_PREFIX + "n_active_features"], np.int64)[0])
    n = get("positions").shape[0]
    sh = torch.cat([get("features_albedo")[:, None], get("features_specular").reshape(n, -1, 3)], 1)
    scene = GaussianScene(get("positions"), get("rotations"), torch.exp(get("scales")), torch.sigmoid(get("densities")[:, 0]), sh)
    return scene.with_sh_degree(degree)


# ------------------------------------------------------------------------------- USDZ
def write_nurec_usdz(
    scene: GaussianScene, path: str | Path, transform=None, overwrite: bool = False, final_name: str | None = None,
) -> Path:
    """Write ``scene`` as a NuRec USDZ; ``transform`` [4, 4] maps its frame to the Z-up stage.

    The payload inside is named after the package (``scene.nurec.usdz`` holds
    ``scene_nurec.nurec``), so the same scene always gives the same bytes.

    Args:
        final_name: the file name the package will end up with, when ``path`` is a temporary
            file renamed into place afterwards (the payload must not carry the temporary
            name, or no two exports would be identical). None: ``path``'s own name.
    """
    from pxr import Gf, Sdf, UsdVol

    path = Path(path)
    name = final_name or path.name
    if path.suffix.lower() != ".usdz" or not name.lower().endswith(".usdz"):
        raise ExportError(f"{path}: a NuRec package must be a .usdz file")
    check_exportable(scene)
    stem = name[: -len(".usdz")].replace(".", "_")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=0, mtime=0) as gz:
        gz.write(msgpack_pack(nurec_payload(scene)))
    model = buf.getvalue()
    if len(model) >= USDZ_LIMIT - (1 << 20):
        raise ExportError("the NuRec payload reaches 4 GiB, past the USDZ limit; export fewer Gaussians (prune) "
                          "or use the ParticleField USD, which splits into layers")

    gauss = new_stage(None)
    gauss.SetMetadataByDictKey("customLayerData", "renderSettings", RENDER_SETTINGS)
    vol = UsdVol.Volume.Define(gauss, "/World/gauss")
    if transform is not None:
        set_transform(vol, transform)
    prim = vol.GetPrim()
    means = scene.means.detach().cpu().double().numpy()
    lo, hi = means.min(0), means.max(0)
    prim.CreateAttribute("omni:nurec:isNuRecVolume", Sdf.ValueTypeNames.Bool).Set(True)
    prim.CreateAttribute("omni:nurec:useProxyTransform", Sdf.ValueTypeNames.Bool).Set(False)
    prim.CreateAttribute("omni:nurec:offset", Sdf.ValueTypeNames.Float3).Set(Gf.Vec3f(0, 0, 0))
    prim.CreateAttribute("omni:nurec:crop:minBounds", Sdf.ValueTypeNames.Float3).Set(Gf.Vec3f(*lo.tolist()))
    prim.CreateAttribute("omni:nurec:crop:maxBounds", Sdf.ValueTypeNames.Float3).Set(Gf.Vec3f(*hi.tolist()))
    vol.CreateExtentAttr([Gf.Vec3f(*lo.tolist()), Gf.Vec3f(*hi.tolist())])
    prim.CreateRelationship("proxy")
    for field, dtype in (("density", "float"), ("emissiveColor", "float3")):
        fpath = f"/World/gauss/{'density_field' if field == 'density' else 'emissive_color_field'}"
        fprim = gauss.DefinePrim(fpath, "OmniNuRecFieldAsset")
        vol.CreateFieldRelationship(field, fpath)
        fprim.CreateAttribute("filePath", Sdf.ValueTypeNames.Asset).Set(f"./{stem}.nurec")
        fprim.CreateAttribute("fieldName", Sdf.ValueTypeNames.Token).Set(field)
        fprim.CreateAttribute("fieldDataType", Sdf.ValueTypeNames.Token).Set(dtype)
        fprim.CreateAttribute("fieldRole", Sdf.ValueTypeNames.Token).Set(field)
        if field == "emissiveColor":
            for i, name in enumerate("RGB"):
                row = [0.0] * 4
                row[i] = 1.0
                fprim.CreateAttribute(f"omni:nurec:ccm{name}", Sdf.ValueTypeNames.Float4).Set(Gf.Vec4f(*row))

    default = new_stage(None, default_prim="World")
    default.SetMetadataByDictKey("customLayerData", "renderSettings", RENDER_SETTINGS)
    over = default.OverridePrim("/World/gauss")
    from pxr import UsdUtils

    delegate = UsdUtils.CoalescingDiagnosticDelegate()
    over.GetReferences().AddReference("gauss.usda")
    del delegate

    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name, stage in (("default.usda", default), ("gauss.usda", gauss)):
            stage.GetRootLayer().Export(str(Path(tmp) / name))
            files[name] = (Path(tmp) / name).read_bytes()
        members = (("default.usda", files["default.usda"]), (f"{stem}.nurec", model), ("gauss.usda", files["gauss.usda"]))
        with atomic_output(path, overwrite) as out, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, data in members:
                _write_aligned(zf, name, data)
    return path


def _write_aligned(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    """Store ``data`` so it starts on a 64-byte boundary (the USDZ rule), padding the extra field."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    header = 30 + len(name.encode())
    offset = zf.fp.tell() + header
    pad = (-(offset + 4)) % 64
    info.extra = struct.pack("<HH", 0x1986, pad) + b"\x00" * pad  # an unregistered id, as USD's writer uses
    zf.writestr(info, data)


def read_nurec_usdz(path: str | Path) -> GaussianScene:
    """The Gaussians of a NuRec USDZ, in the Volume's local frame."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(".nurec")]
            if not names:
                raise ExportError(f"{path}: no .nurec payload inside")
            check_zip_members(zf, path, names[:1])
            raw = zf.read(names[0])
    except zipfile.BadZipFile as err:
        raise ExportError(f"{path}: not a USDZ/zip file ({err})") from None
    return payload_to_scene(msgpack_unpack(gzip.decompress(raw)))
