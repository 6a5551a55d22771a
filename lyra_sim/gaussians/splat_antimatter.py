"""Read and write antimatter15 ``.splat`` files (the WebGL viewer's format, also written by
Luma, Polycam and many web viewers).

Layout (``antimatter15/splat``'s ``convert.py`` and ``main.js``): no header, no magic, one 32-byte
little-endian row per Gaussian, ``N = file size / 32``::

    bytes  0-11  float32 x, y, z          position, scene units, the PLY's own frame (no axis change)
    bytes 12-23  float32 sx, sy, sz       standard deviations, *linear* (exp of the PLY's scale_*)
    bytes 24-27  uint8   r, g, b, a       colour 0.5 + C0 * f_dc clipped to [0, 1] and a = sigmoid(opacity),
                                          both times 255
    bytes 28-31  uint8   w, x, y, z       unit quaternion, each component q * 128 + 128 clipped to [0, 255]

Only the base colour is stored: higher SH bands are dropped on write (with a warning). Decoding
is ``colour = byte / 255`` (so ``f_dc = (colour - 0.5) / C0``), ``opacity = a / 255`` and
``q = (byte - 128) / 128`` normalised, so what this module writes reads back to within half a
quantisation step (1/510 in colour and opacity, 1/256 per quaternion component before
normalisation); positions and scales are float32 and exact.

The reader refuses a size that is not a multiple of 32 (truncated), NaN/inf positions or scales,
scales <= 0 and all-128 (zero-length) quaternions, naming the count and the property. With no
header there is no count to check: every allocation is proportional to the file itself.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lyra_sim.errors import InvalidInputError, SplatFileError
from lyra_sim.gaussians.arrays import GaussianArrays, check_float_dtype
from lyra_sim.gaussians.sh_layout import C0
from lyra_sim.io.atomic import atomic_output

if TYPE_CHECKING:
    from lyra_sim.gaussians.scene import GaussianScene

ROW_BYTES = 32
ROW = np.dtype([("position", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4), ("rot", "u1", 4)])
"""One ``.splat`` row (32 bytes, no padding)."""
assert ROW.itemsize == ROW_BYTES

_BLOCK_ROWS = 1 << 16  # rows per written block: 2 MiB, so no file-sized buffer besides the scene


def looks_like_splat(head: bytes) -> bool:
    """True when the first whole rows of ``head`` (the file's first bytes) are plausible Gaussians:
    finite positions within 1e7 units and finite scales in (0, 1e7). Random or other binary data
    fails this within a few rows; the file size is checked separately."""
    rows = len(head) // ROW_BYTES
    if rows == 0:
        return False
    r = np.frombuffer(head[: rows * ROW_BYTES], dtype=ROW)
    with np.errstate(invalid="ignore"):
        pos_ok = np.isfinite(r["position"]).all() and (np.abs(r["position"]) < 1e7).all()
        scale_ok = np.isfinite(r["scale"]).all() and (r["scale"] > 0).all() and (r["scale"] < 1e7).all()
    return bool(pos_ok and scale_ok)


def read_splat(path: str | Path, *, dtype=None, device="cpu") -> GaussianScene:
    """Read an antimatter15 ``.splat`` file.

    Returns:
        GaussianScene with means [N,3], quats [N,4] unit (w,x,y,z), scales [N,3] linear,
        opacities [N] in [0,1], sh [N,1,3] (degree 0), in ``dtype`` on ``device``.

    Raises:
        SplatFileError: missing/unreadable/empty file, a size that is not a multiple of 32 bytes,
            NaN/inf positions or scales, scales <= 0, zero-length quaternions.
    """
    return read_splat_arrays(path, float64=check_float_dtype(dtype, "read_splat")).to_scene(dtype, device)


def read_splat_arrays(path: str | Path, *, float64: bool = False) -> GaussianArrays:
    """:func:`read_splat` without torch: the activated Gaussians as numpy arrays (float64 when
    ``float64`` else float32; same checks, same errors)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise SplatFileError(path, "is a directory, not a .splat file")
        if size == 0:
            raise SplatFileError(path, "the file is empty")
        if size % ROW_BYTES:
            raise SplatFileError(
                path, f"{size:,} bytes is not a whole number of 32-byte .splat rows ({size % ROW_BYTES} bytes "
                "over): the file is truncated or not an antimatter15 .splat",
            )  # fmt: skip
        rows = np.fromfile(path, dtype=ROW)  # file-sized, and nothing more: no header to lie about
    except FileNotFoundError:
        raise SplatFileError(path, "no such file") from None
    except OSError as err:
        raise SplatFileError(path, f"cannot be read ({err.strerror or err})") from None
    n = len(rows)
    if n * ROW_BYTES != size:  # the file changed between stat and read
        raise SplatFileError(path, f"only {n * ROW_BYTES:,} of {size:,} bytes could be read")

    means = rows["position"].astype(np.float64)
    scales = rows["scale"].astype(np.float64)
    problems = []
    with np.errstate(invalid="ignore"):
        for name, values in (("position", means), ("scale", scales)):
            bad = ~np.isfinite(values)
            if bad.any():
                per = ", ".join(f"{name}_{'xyz'[a]} ({int(c):,})" for a, c in enumerate(bad.sum(0)) if c)
                problems.append(f"{int(bad.any(1).sum()):,} Gaussians have NaN/inf values in: {per}")
        nonpositive = int((np.isfinite(scales) & (scales <= 0)).any(1).sum())
    if nonpositive:
        problems.append(f"{nonpositive:,} Gaussians have scales <= 0 (scale_x/y/z are linear standard deviations)")
    quats = (rows["rot"].astype(np.float64) - 128.0) / 128.0
    norm = np.linalg.norm(quats, axis=1, keepdims=True)
    zero = int((norm[:, 0] == 0).sum())
    if zero:
        problems.append(f"{zero:,} Gaussians have zero-length quaternions (all four rotation bytes 128)")
    if problems:
        raise SplatFileError(path, "; ".join(problems) + "; drop those rows or re-export the file")
    quats /= norm
    rgba = rows["rgba"].astype(np.float64) / 255.0
    sh = ((rgba[:, :3] - 0.5) / C0)[:, None, :]
    work = np.float64 if float64 else np.float32
    return GaussianArrays(*(a.astype(work, copy=False) for a in (means, quats, scales, rgba[:, 3], sh)))


def encode_splat_rows(scene: GaussianScene) -> np.ndarray:
    """``scene`` as .splat rows [N] of :data:`ROW` (positions/scales float32, colour, opacity and
    quaternion rounded to the nearest byte). Raises InvalidInputError for NaN/inf or scales <= 0."""
    import torch

    means, scales = (t.detach().to("cpu", torch.float64).numpy() for t in (scene.means, scene.scales))
    quats, opac = (t.detach().to("cpu", torch.float64).numpy() for t in (scene.quats, scene.opacities))
    rgb = scene.sh[:, 0, :].detach().to("cpu", torch.float64).numpy() * C0 + 0.5
    finite = [name for name, a in (("means", means), ("scales", scales), ("quats", quats), ("opacities", opac), ("sh", rgb))
              if not np.isfinite(a).all()]  # fmt: skip
    if finite or (scales <= 0).any():
        raise InvalidInputError(
            f"cannot write a .splat: NaN/inf in {', '.join(finite) or 'nothing'}"
            f"{'' if not (scales <= 0).any() else ', scales <= 0'}; scene.validate() finds the bad Gaussians"
        )
    rows = np.empty(len(scene), ROW)
    rows["position"], rows["scale"] = means, scales
    byte = lambda v: np.clip(np.floor(v * 255.0 + 0.5), 0, 255)  # noqa: E731
    rows["rgba"] = np.concatenate([byte(rgb), byte(np.clip(opac, 0, 1))[:, None]], 1)
    q = quats / np.maximum(np.linalg.norm(quats, axis=1, keepdims=True), 1e-300)
    rows["rot"] = np.clip(np.floor(q * 128.0 + 128.5), 0, 255)
    return rows


def write_splat(scene: GaussianScene, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``scene`` as an antimatter15 ``.splat`` (layout in the module docstring), atomically.

    SH bands above the DC term are dropped (a warning says so). An empty scene cannot be written:
    a zero-byte file has nothing that says it is a .splat.

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is False.
        InvalidInputError: an empty scene, NaN/inf values or scales <= 0.
    """
    from lyra_sim.gaussians.scene import GaussianScene

    if not isinstance(scene, GaussianScene):
        raise InvalidInputError(f"write_splat needs a GaussianScene, got {type(scene).__name__}")
    if len(scene) == 0:
        raise InvalidInputError(f"cannot write {path}: a .splat file cannot hold 0 Gaussians (it has no header)")
    if scene.sh_degree > 0:
        warnings.warn(f"{path}: .splat stores only the base colour; SH degree {scene.sh_degree} bands are dropped", stacklevel=2)
    with atomic_output(path, overwrite) as tmp:
        with open(tmp, "r+b") as f:
            for r0 in range(0, len(scene), _BLOCK_ROWS):
                f.write(encode_splat_rows(scene[r0 : r0 + _BLOCK_ROWS]).tobytes())
    return Path(path)
