"""Every 3DGS file format lyra-sim reads and writes, told apart by content, behind one reader and
one writer.

=================  ================================================  ====================  =====
name               what identifies it (never the file extension)      module                write
=================  ================================================  ====================  =====
``ply``            ``ply\\n`` header with x..rot_3 vertex properties   :mod:`.ply`           yes
``compressed-ply`` ``ply\\n`` header with ``chunk`` + ``packed_*``      :mod:`.ply_compressed`  yes
``spz``            ``NGSP`` (v4) or a gzip stream holding ``NGSP``     :mod:`.spz`           v2-4
``splat``          no header: size a multiple of 32 and the first      :mod:`.splat_antimatter` yes
                   rows are finite positions with positive scales
=================  ================================================  ====================  =====

Formats recognised but not read (KSPLAT, SOG, glTF/GLB, USD/USDZ, SPX, gzip of something else,
images, NPZ/zip) are refused by :func:`detect_format` with one line naming the format and what to
do (:class:`~lyra_sim.errors.UnsupportedFormatError`, an InvalidInputError: exit code 2 in the CLI).

:func:`read_gaussians` also does what every reader shares: it warns about bytes after the declared
data (``warnings.warn``), and refuses a scene with any NaN/inf value after decoding and the cast
to ``dtype`` (e.g. a PLY of float64 values beyond float32), naming the count and the property.
All scenes are in the PLY/INRIA frame (x right, y down, z forward; SPZ's RUB is converted).
"""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lyra_sim.errors import InvalidInputError, PlyValueError, SplatFileError, UnsupportedFormatError
from lyra_sim.gaussians.arrays import GaussianArrays, check_float_dtype

if TYPE_CHECKING:
    from lyra_sim.gaussians.scene import GaussianScene

READ_FORMATS = ("ply", "compressed-ply", "splat", "spz")
"""Names of the formats :func:`read_gaussians` reads."""
WRITE_FORMATS = ("ply", "compressed-ply", "splat", "spz")
"""Names of the formats :func:`write_gaussians` writes."""
SUFFIXES = {".compressed.ply": "compressed-ply", ".ply": "ply", ".splat": "splat", ".spz": "spz"}
"""File name endings -> the format :func:`write_gaussians` writes (reading never looks at them)."""
LABELS = {
    "ply": "3DGS PLY (INRIA layout)",
    "compressed-ply": "SuperSplat compressed PLY",
    "splat": "antimatter15 .splat",
    "spz": "Niantic SPZ",
}
_HEAD_BYTES = 1 << 16  # bytes read to detect a format: 2,048 .splat rows, any magic number
_SUPPORTED = "lyra-sim reads 3DGS PLY, SuperSplat compressed PLY, antimatter15 .splat and Niantic .spz (v1-4)"
_VIA_SPLAT_TRANSFORM = "convert it to PLY first, e.g. `npx @playcanvas/splat-transform {name} out.ply`"


@dataclass(frozen=True)
class SplatFileFormat:
    """What :func:`detect_format` found.

    Attributes:
        name: one of :data:`READ_FORMATS`.
        version: the SPZ version (1-4); None for the other formats.
    """

    name: str
    version: int | None = None

    @property
    def label(self) -> str:
        """Human-readable name, e.g. ``Niantic SPZ v3``."""
        return LABELS[self.name] + (f" v{self.version}" if self.version is not None else "")


def _refuse(path: Path, what: str, todo: str) -> UnsupportedFormatError:
    return UnsupportedFormatError(f"{path}: this is {what}, which lyra-sim does not read; {todo} ({_SUPPORTED})")


def _zip_kind(path: Path) -> tuple[str, str]:
    """(what, what to do) for a zip archive, from its member names (central directory only)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = [n.lower() for n in z.namelist()[:10_000]]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        names = []  # a damaged directory: still refused, as a plain zip archive
    if any(n.endswith("meta.json") for n in names):
        return "a PlayCanvas SOG bundle", _VIA_SPLAT_TRANSFORM.format(name=path.name)
    if any(n.endswith((".usda", ".usdc", ".usd")) for n in names):
        return "a USDZ package", "it is already a USD world; re-export from the 3DGS PLY it was made from"
    if any(n.endswith(".npy") for n in names):
        return "a NumPy .npz archive", "save the Gaussians as a 3DGS PLY (lyra_sim.gaussians.write_ply)"
    return "a zip archive", "extract the 3DGS file from it first"


def detect_format(path: str | Path) -> SplatFileFormat:
    """The format of the file at ``path``, from its content (magic numbers, header, size).

    Raises:
        SplatFileError: missing, a directory, unreadable or empty.
        UnsupportedFormatError: a format lyra-sim does not read, or none it recognises; the
            message names it and what to do.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
            f.seek(0, io.SEEK_END)
            size = f.tell()
    except FileNotFoundError:
        raise SplatFileError(path, "no such file") from None
    except IsADirectoryError:
        raise SplatFileError(path, "is a directory, not a 3DGS file") from None
    except OSError as err:
        raise SplatFileError(path, f"cannot be read ({err.strerror or err})") from None
    if not head:
        raise SplatFileError(path, "the file is empty")

    if head.startswith((b"ply\n", b"ply\r\n")):
        from lyra_sim.gaussians.ply_header import read_ply_header

        return SplatFileFormat("compressed-ply" if read_ply_header(path).is_compressed else "ply")
    if head.startswith(b"NGSP"):
        return SplatFileFormat("spz", struct.unpack_from("<I", head, 4)[0] if len(head) >= 8 else None)
    if head.startswith(b"\x1f\x8b"):
        try:
            inner = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 16)
        except zlib.error:
            inner = b""
        if inner.startswith(b"NGSP") and len(inner) >= 8:
            return SplatFileFormat("spz", struct.unpack_from("<I", inner, 4)[0])
        if inner.startswith(b"ply"):
            raise _refuse(path, "a gzip-compressed PLY", "decompress it first (gunzip)")
        raise _refuse(path, "a gzip-compressed file that is not SPZ", "decompress it (gunzip) and pass the 3DGS file inside")
    if _looks_like_ksplat(head, size):
        raise _refuse(path, "a KSPLAT file (mkkellogg GaussianSplats3D)", _VIA_SPLAT_TRANSFORM.format(name=path.name))
    if head.startswith(b"PK\x03\x04"):
        raise _refuse(path, *_zip_kind(path))
    if head.startswith(b"glTF"):
        raise _refuse(path, "a binary glTF (GLB)", "export the Gaussians as a 3DGS PLY from the tool that wrote it")
    if head.startswith(b"PXR-USDC") or head.startswith(b"#usda"):
        raise _refuse(path, "a USD layer", "it is already a USD scene; re-export from the 3DGS PLY it was made from")
    if head.startswith(b"spx"):
        raise _refuse(path, "an SPX file (Reall3d)", "export a 3DGS PLY from the tool that wrote it")
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff")) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        raise _refuse(path, "an image", "to make a world from one image use `lyra-sim generate --image FILE`")
    text = head.lstrip()[:1]
    if text in (b"{", b"["):
        if b'"means"' in head and b'"files"' in head:
            raise _refuse(path, "a PlayCanvas SOG meta.json", _VIA_SPLAT_TRANSFORM.format(name=path.name))
        if b'"asset"' in head:
            raise _refuse(path, "a glTF (JSON)", "export the Gaussians as a 3DGS PLY from the tool that wrote it")
        raise _refuse(path, "a JSON file", "pass the 3DGS file itself")

    from lyra_sim.gaussians.splat_antimatter import ROW_BYTES, looks_like_splat

    if looks_like_splat(head[: 64 * ROW_BYTES]):
        return SplatFileFormat("splat")  # read_splat refuses a size that is not a multiple of 32
    raise UnsupportedFormatError(
        f"{path}: not a 3DGS file lyra-sim recognises (it starts with {head[:8]!r}); {_SUPPORTED}"
    )


def _looks_like_ksplat(head: bytes, size: int) -> bool:
    """mkkellogg's .ksplat: a 4,096-byte header, version 0.x, compression level 0-2, section
    counts within their maxima (GaussianSplats3D ``SplatBuffer.parseHeader``)."""
    if size < 4096 or len(head) < 24 or head[0] != 0 or not 1 <= head[1] <= 32:
        return False
    max_sections, sections, max_splats, splats = struct.unpack_from("<4I", head, 4)
    level = struct.unpack_from("<H", head, 20)[0]
    return level <= 2 and 0 < sections <= max_sections <= 1 << 20 and splats <= max_splats


def format_for_path(path: str | Path) -> str:
    """The format :func:`write_gaussians` writes to ``path``, from its name (see :data:`SUFFIXES`).

    Raises:
        InvalidInputError: a name that does not end in one of :data:`SUFFIXES`.
    """
    name = Path(path).name.lower()
    for suffix, fmt in SUFFIXES.items():  # .compressed.ply before .ply
        if name.endswith(suffix):
            return fmt
    raise InvalidInputError(f"cannot tell which format to write {path} in: name it {', '.join('*' + s for s in SUFFIXES)} or pass the format")


def read_gaussians(path: str | Path, *, dtype=None, device="cpu") -> GaussianScene:
    """Read any 3DGS file lyra-sim supports (:data:`READ_FORMATS`), detected by content.

    Returns:
        GaussianScene in the PLY frame with means [N,3], quats [N,4] unit (w,x,y,z), scales [N,3]
        linear, opacities [N] in [0,1], sh [N,K,3], in ``dtype`` on ``device``.

    Raises:
        LyraSimError subclasses only, for anything a file can do: SplatFileError / PlyError (and
        its subclasses) for broken files, UnsupportedFormatError for other formats,
        MissingDependencyError for an SPZ v4 without a zstd decoder, InvalidInputError for a bad
        ``dtype``.
    """
    float64 = check_float_dtype(dtype, "read_gaussians")
    path = Path(path)
    fmt = detect_format(path)
    scene = _read_arrays(path, fmt, float64).to_scene(dtype, device)
    _check_decoded(path, scene, fmt)
    return scene


def read_gaussian_arrays(path: str | Path, *, float64: bool = False) -> GaussianArrays:
    """:func:`read_gaussians` without torch: the activated Gaussians of any supported file as numpy
    arrays (float64 when ``float64`` else float32), with the same detection, warnings and errors
    (except the check after a cast to a torch dtype, which only :func:`read_gaussians` makes)."""
    path = Path(path)
    return _read_arrays(path, detect_format(path), float64)


def _read_arrays(path: Path, fmt: SplatFileFormat, float64: bool) -> GaussianArrays:
    if fmt.name in ("ply", "compressed-ply"):
        from lyra_sim.gaussians.ply import read_ply_arrays
        from lyra_sim.gaussians.ply_header import read_ply_header

        arrays = read_ply_arrays(path, float64=float64)
        _warn_ply_trailing(read_ply_header(path))
        return arrays
    if fmt.name == "spz":
        from lyra_sim.gaussians.spz import read_spz_arrays

        return read_spz_arrays(path, float64=float64)
    from lyra_sim.gaussians.splat_antimatter import read_splat_arrays

    return read_splat_arrays(path, float64=float64)


def _warn_ply_trailing(header) -> None:
    """Warn when a binary PLY has bytes after its declared elements (ascii and list rows have no
    fixed size, so nothing is said for them)."""
    if header.format == "ascii" or any(e.count and e.stride is None for e in header.elements):
        return
    end = header.header_bytes + sum(e.count * (e.stride or 0) for e in header.elements)
    if header.file_size > end:
        warnings.warn(
            f"{header.path}: {header.file_size - end:,} bytes after the data the PLY header declares were ignored",
            stacklevel=3,
        )


def _check_decoded(path: Path, scene: GaussianScene, fmt: SplatFileFormat) -> None:
    """Refuse NaN/inf in the decoded scene (after the cast to its dtype), naming count and property."""
    import torch

    bad = {}
    for name in ("means", "quats", "scales", "opacities", "sh"):
        t = getattr(scene, name)
        if len(scene) and not bool(torch.isfinite(t).all()):
            bad[name] = int((~torch.isfinite(t)).reshape(len(scene), -1).any(1).sum())
    if bad:
        rows = ", ".join(f"{k} ({v:,})" for k, v in bad.items())
        problem = (f"after decoding to {str(scene.dtype).removeprefix('torch.')}, Gaussians have NaN/inf values in: {rows} "
                   "(values too large for the type?); drop them or read with dtype=torch.float64")  # fmt: skip
        raise (PlyValueError if fmt.name in ("ply", "compressed-ply") else SplatFileError)(path, problem)


def write_gaussians(scene: GaussianScene, path: str | Path, *, format: str | None = None, overwrite: bool = False,
                    spz_version: int = 3) -> Path:
    """Write ``scene`` (PLY frame) in ``format`` (None: from the name, :func:`format_for_path`).

    Args:
        format: one of :data:`WRITE_FORMATS`.
        spz_version: 2, 3 (default) or 4 for ``spz`` (see :func:`lyra_sim.gaussians.spz.write_spz`).

    Lossy formats: ``compressed-ply`` (11/10/11-bit positions and log-scales per 256-splat chunk,
    8-bit colour, opacity and SH), ``spz`` (int24 positions, 8-bit the rest) and ``splat``
    (float32 positions and scales, 8-bit colour/opacity/rotation, no SH beyond the DC term).

    Raises:
        InvalidInputError: unknown format or name, values the format cannot hold.
        OutputExistsError: ``path`` exists and ``overwrite`` is False.
    """
    fmt = format or format_for_path(path)
    if fmt == "ply":
        from lyra_sim.gaussians.ply import write_ply

        return write_ply(scene, path, overwrite=overwrite)
    if fmt == "compressed-ply":
        from lyra_sim.gaussians.ply_compressed_writer import write_compressed_ply

        return write_compressed_ply(scene, path, overwrite=overwrite)
    if fmt == "spz":
        from lyra_sim.gaussians.spz import write_spz

        return write_spz(scene, path, version=spz_version, overwrite=overwrite)
    if fmt == "splat":
        from lyra_sim.gaussians.splat_antimatter import write_splat

        return write_splat(scene, path, overwrite=overwrite)
    raise InvalidInputError(f"unknown 3DGS format {fmt!r}; lyra-sim writes {', '.join(WRITE_FORMATS)}")


__all__ = [
    "READ_FORMATS",
    "WRITE_FORMATS",
    "SplatFileFormat",
    "detect_format",
    "format_for_path",
    "read_gaussian_arrays",
    "read_gaussians",
    "write_gaussians",
]
