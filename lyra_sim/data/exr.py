"""A small OpenEXR codec for depth maps, in numpy, with no dependency.

Lyra stores depth as one EXR per frame, a single half-float channel ``Z`` (ViPE writes them with
the OpenEXR library). This module reads and writes exactly that family of files: single-part
*scanline* images with any number of HALF / FLOAT / UINT channels (full resolution, sampling
1x1) and the lossless compressions NO, RLE, ZIPS and ZIP. Everything else in the format (tiles,
multi-part, deep data, PIZ, PXR24, B44, DWA) is read through the ``OpenEXR`` package when it is
installed; without it such a file raises a :class:`DatasetError` that says to install it.

Reference: "OpenEXR File Layout" (openexr.com/en/latest/OpenEXRFileLayout.html): magic and
version, a header of typed attributes ending in a null byte, a table of 64-bit chunk offsets,
then chunks of (int32 y, int32 size, data). ZIP data is zlib over bytes that were first split
into even/odd halves and then delta-coded (``ImfZip.cpp``).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Mapping
from typing import Literal

import numpy as np

from lyra_sim.errors import DatasetError

MAGIC = 20000630
_VERSION = 2
_TILED, _LONG_NAMES, _NON_IMAGE, _MULTIPART = 0x200, 0x400, 0x800, 0x1000

# pixel type code -> numpy dtype (little endian)
_PIXEL_TYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}
_PIXEL_CODES = {np.dtype("<u4"): 0, np.dtype("<f2"): 1, np.dtype("<f4"): 2}
_COMPRESSION_NAMES = {0: "none", 1: "rle", 2: "zips", 3: "zip", 4: "piz", 5: "pxr24", 6: "b44", 7: "b44a", 8: "dwaa", 9: "dwab"}
_LINES_PER_CHUNK = {0: 1, 1: 1, 2: 1, 3: 16}  # the compressions this module implements

Compression = Literal["none", "zip"]


# ---------------------------------------------------------------------------------- reading
def decode_exr(data: bytes, name: str = "<exr>") -> dict[str, np.ndarray]:
    """Decode an EXR file's bytes to ``{channel: [H, W] array}`` (float16, float32 or uint32).

    Args:
        data: the whole file.
        name: what to call the file in error messages (a path, or "depth.zip:00003.exr").

    Raises:
        DatasetError: not an EXR file, truncated, or a variant this reader does not handle and
            the ``OpenEXR`` package is not installed.
    """
    try:
        return _decode(memoryview(data), name)
    except _NeedsLibrary as why:
        return _decode_with_library(data, name, str(why))
    except (struct.error, zlib.error, IndexError, ValueError) as exc:
        raise DatasetError(name, f"corrupt or truncated EXR file ({exc}); regenerate it") from exc


def read_exr_channel(data: bytes, channel: str = "Z", name: str = "<exr>") -> np.ndarray:
    """The ``[H, W]`` pixels of one channel (Lyra depth: ``Z``, float16)."""
    channels = decode_exr(data, name)
    if channel not in channels:
        raise DatasetError(name, f"EXR has no channel {channel!r} (it has {sorted(channels)})")
    return channels[channel]


class _NeedsLibrary(Exception):
    """A valid EXR variant that only the OpenEXR library decodes."""


def _decode(buf: memoryview, name: str) -> dict[str, np.ndarray]:
    if len(buf) < 8 or struct.unpack_from("<i", buf, 0)[0] != MAGIC:
        raise DatasetError(name, "not an OpenEXR file (bad magic number)")
    flags = struct.unpack_from("<i", buf, 4)[0]
    if flags & (_TILED | _NON_IMAGE | _MULTIPART):
        raise _NeedsLibrary("tiled, deep or multi-part EXR")
    header, pos = _read_header(buf, 8)
    for required in ("channels", "compression", "dataWindow"):
        if required not in header:
            raise DatasetError(name, f"EXR header lacks the required attribute {required!r}")
    compression = header["compression"]
    if compression not in _LINES_PER_CHUNK:
        raise _NeedsLibrary(f"{_COMPRESSION_NAMES.get(compression, compression)} compression")
    x0, y0, x1, y1 = header["dataWindow"]
    width, height = x1 - x0 + 1, y1 - y0 + 1
    if width <= 0 or height <= 0:
        raise DatasetError(name, f"EXR data window is empty ({width}x{height})")
    channels = header["channels"]  # [(name, dtype)], sorted by name as the format requires
    lines = _LINES_PER_CHUNK[compression]
    num_chunks = -(-height // lines)
    offsets = np.frombuffer(buf, dtype="<u8", count=num_chunks, offset=pos)

    out = {ch: np.empty((height, width), dtype=dt) for ch, dt in channels}
    row_bytes = sum(dt.itemsize for _, dt in channels) * width
    for offset in offsets:
        y, size = struct.unpack_from("<ii", buf, int(offset))
        start = int(offset) + 8
        packed = bytes(buf[start : start + size])
        if len(packed) != size:
            raise ValueError("chunk runs past the end of the file")
        row0 = y - y0
        n_rows = min(lines, height - row0)
        if row0 < 0 or n_rows <= 0 or row0 % lines:
            raise ValueError(f"chunk has impossible scanline {y}")
        raw = _decompress(packed, compression, n_rows * row_bytes)
        _scatter_rows(raw, out, channels, row0, n_rows, width)
    return out


def _scatter_rows(raw: bytes, out, channels, row0: int, n_rows: int, width: int) -> None:
    # Within a chunk, each scanline holds every channel's row in turn (channel-major per line).
    pos = 0
    for r in range(n_rows):
        for ch, dt in channels:
            n = width * dt.itemsize
            out[ch][row0 + r] = np.frombuffer(raw, dtype=dt, count=width, offset=pos)
            pos += n


def _decompress(packed: bytes, compression: int, expected: int) -> bytes:
    if compression == 0 or len(packed) == expected:
        # A chunk that would not shrink is stored raw even in a compressed file.
        raw = packed
    elif compression == 1:
        raw = _unpredict(_rle_decode(packed, expected))
    else:
        raw = _unpredict(zlib.decompress(packed))
    if len(raw) != expected:
        raise ValueError(f"chunk decodes to {len(raw)} bytes, expected {expected}")
    return raw


def _unpredict(data: bytes) -> bytes:
    """Undo ZIP/RLE preprocessing: delta decode, then re-interleave the two byte halves."""
    t = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
    if t.size == 0:
        return b""
    t[1:] -= 128
    t = (np.cumsum(t) & 0xFF).astype(np.uint8)
    half = (t.size + 1) // 2
    out = np.empty_like(t)
    out[0::2] = t[:half]
    out[1::2] = t[half:]
    return out.tobytes()


def _rle_decode(data: bytes, expected: int) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        count = struct.unpack_from("b", data, i)[0]
        i += 1
        if count < 0:
            out += data[i : i - count]
            i -= count
        else:
            out += data[i : i + 1] * (count + 1)
            i += 1
    if len(out) != expected:
        raise ValueError(f"RLE chunk decodes to {len(out)} bytes, expected {expected}")
    return bytes(out)


def _read_header(buf: memoryview, pos: int) -> tuple[dict, int]:
    header: dict = {}
    while True:
        attr, pos = _cstring(buf, pos)
        if not attr:
            return header, pos
        kind, pos = _cstring(buf, pos)
        (size,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        value = bytes(buf[pos : pos + size])
        if len(value) != size:
            raise ValueError(f"header attribute {attr!r} runs past the end of the file")
        pos += size
        if kind == "chlist":
            header[attr] = _parse_chlist(value)
        elif kind == "compression":
            header[attr] = value[0]
        elif kind == "box2i":
            header[attr] = struct.unpack("<4i", value)


def _parse_chlist(value: bytes) -> list[tuple[str, np.dtype]]:
    channels = []
    pos = 0
    view = memoryview(value)
    while True:
        ch, pos = _cstring(view, pos)
        if not ch:
            return channels
        pixel_type, _linear, x_sampling, y_sampling = struct.unpack_from("<iB3xii", value, pos)
        pos += 16
        if pixel_type not in _PIXEL_TYPES:
            raise ValueError(f"channel {ch!r} has unknown pixel type {pixel_type}")
        if (x_sampling, y_sampling) != (1, 1):
            raise _NeedsLibrary("sub-sampled channels")
        channels.append((ch, _PIXEL_TYPES[pixel_type]))


def _cstring(buf: memoryview, pos: int) -> tuple[str, int]:
    end = bytes(buf[pos : pos + 256]).index(b"\0")  # names are at most 255 bytes
    return bytes(buf[pos : pos + end]).decode("utf-8"), pos + end + 1


def _decode_with_library(data: bytes, name: str, why: str) -> dict[str, np.ndarray]:
    try:
        import OpenEXR
    except ImportError:
        raise DatasetError(
            name, f"this EXR uses {why}, which lyra-sim's built-in reader does not decode; "
            "install the OpenEXR package (pip install OpenEXR) to read it"
        ) from None
    try:
        part = OpenEXR.File(io.BytesIO(data))
        return {ch: np.asarray(c.pixels) for ch, c in part.channels().items()}
    except Exception as exc:  # the library raises plain RuntimeError for any bad file
        raise DatasetError(name, f"OpenEXR cannot read this file ({exc}); regenerate it") from exc


# ---------------------------------------------------------------------------------- writing
def encode_exr(channels: Mapping[str, np.ndarray], compression: Compression = "zip") -> bytes:
    """Encode ``{channel: [H, W] array}`` as a single-part scanline EXR.

    Arrays must share one shape; dtypes float16 (HALF), float32 (FLOAT) or uint32 (UINT).
    ``compression="zip"`` (16 lines per chunk, lossless) is what OpenEXR writes by default.
    """
    if not channels:
        raise ValueError("encode_exr needs at least one channel")
    items = sorted((ch, np.ascontiguousarray(a)) for ch, a in channels.items())
    shapes = {a.shape for _, a in items}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"EXR channels must be 2-D arrays of one shape, got {sorted(shapes)}")
    height, width = shapes.pop()
    if height == 0 or width == 0:
        raise ValueError("EXR images cannot be empty")
    arrays = []
    for ch, a in items:
        dt = a.dtype.newbyteorder("<")
        if dt not in _PIXEL_CODES:
            raise ValueError(f"channel {ch!r}: dtype {a.dtype} is not float16, float32 or uint32")
        arrays.append((ch, a.astype(dt, copy=False)))
    code = {"none": 0, "zip": 3}[compression]
    lines = _LINES_PER_CHUNK[code]

    chlist = b"".join(
        ch.encode() + b"\0" + struct.pack("<iB3xii", _PIXEL_CODES[a.dtype], 0, 1, 1) for ch, a in arrays
    ) + b"\0"
    window = struct.pack("<4i", 0, 0, width - 1, height - 1)
    header = b"".join(
        [
            _attribute("channels", "chlist", chlist),
            _attribute("compression", "compression", bytes([code])),
            _attribute("dataWindow", "box2i", window),
            _attribute("displayWindow", "box2i", window),
            _attribute("lineOrder", "lineOrder", b"\0"),  # INCREASING_Y
            _attribute("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
            _attribute("screenWindowCenter", "v2f", struct.pack("<2f", 0.0, 0.0)),
            _attribute("screenWindowWidth", "float", struct.pack("<f", 1.0)),
            b"\0",
        ]
    )
    prefix = struct.pack("<ii", MAGIC, _VERSION) + header
    num_chunks = -(-height // lines)
    chunks = []
    for c in range(num_chunks):
        rows = slice(c * lines, min((c + 1) * lines, height))
        raw = b"".join(a[r].tobytes() for r in range(rows.start, rows.stop) for _, a in arrays)
        packed = raw if code == 0 else _compress_zip(raw)
        chunks.append(struct.pack("<ii", rows.start, len(packed)) + packed)
    offsets, pos = [], len(prefix) + 8 * num_chunks
    for chunk in chunks:
        offsets.append(pos)
        pos += len(chunk)
    return prefix + np.asarray(offsets, dtype="<u8").tobytes() + b"".join(chunks)


def _attribute(name: str, kind: str, value: bytes) -> bytes:
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value


def _compress_zip(raw: bytes) -> bytes:
    t = np.frombuffer(raw, dtype=np.uint8)
    split = np.concatenate([t[0::2], t[1::2]]).astype(np.int16)
    delta = split.copy()
    delta[1:] = (split[1:] - split[:-1] + 128) & 0xFF
    packed = zlib.compress(delta.astype(np.uint8).tobytes(), 6)
    return packed if len(packed) < len(raw) else raw  # the format stores non-shrinking chunks raw
