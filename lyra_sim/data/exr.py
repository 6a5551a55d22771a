"""Depth-map EXR files through the official ``OpenEXR`` Python bindings.

Lyra stores depth as one EXR per frame: a single-part scanline image with one half-float
channel ``Z`` (metres, ``[H, W]``), ZIP-compressed (ViPE writes them with the OpenEXR library).
This module is a thin layer over ``OpenEXR.File`` that keeps lyra-sim's contract:

* reading accepts every variant the library reads (scanline or tiled, any compression) and
  returns ``{channel: [H, W] array}`` with the stored dtype (float16 HALF, float32 FLOAT,
  uint32 UINT); any failure is a :class:`DatasetError` naming the file;
* writing produces exactly Lyra's layout: single part, scanline, ``compression="zip"`` (the
  library's default, 16 lines per chunk, lossless) or ``"none"``, channels in name order;
* the header's data window is checked before any pixel is decoded: a file of a few bytes can
  declare a 100000 x 100000 image, and the library allocates the declared size up front, so a
  file declaring more than :data:`MAX_EXR_DECODED_BYTES` is refused (the same cap as archive
  members, :data:`lyra_sim.io.archive.MAX_INFLATED_BYTES`).

The library reads and writes file-like objects, so no temporary files are involved; the bytes
come from Lyra's ``depth/<key>.zip`` members.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Literal

import numpy as np
import OpenEXR

from lyra_sim.errors import DatasetError
from lyra_sim.io.archive import MAX_INFLATED_BYTES

MAGIC = 20000630
"""The first four bytes of every OpenEXR file, as a little-endian int32."""

MAX_EXR_DECODED_BYTES = MAX_INFLATED_BYTES
"""Largest decoded image (width x height x channels x 4 bytes) :func:`decode_exr` will decode."""

Compression = Literal["none", "zip"]
_COMPRESSIONS = {"none": OpenEXR.NO_COMPRESSION, "zip": OpenEXR.ZIP_COMPRESSION}
_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.uint32))


# ---------------------------------------------------------------------------------- reading
def decode_exr(data: bytes, name: str = "<exr>") -> dict[str, np.ndarray]:
    """Decode an EXR file's bytes to ``{channel: [H, W] array}`` (float16, float32 or uint32).

    Args:
        data: the whole file.
        name: what to call the file in error messages (a path, or "depth.zip:00003.exr").

    Raises:
        DatasetError: not an EXR file, truncated or corrupt, or it declares an image larger
            than :data:`MAX_EXR_DECODED_BYTES`.
    """
    if len(data) < 8 or int.from_bytes(data[:4], "little", signed=True) != MAGIC:
        raise DatasetError(name, "not an OpenEXR file (bad magic number)")
    try:
        header = OpenEXR.File(io.BytesIO(data), header_only=True).header()
        (x0, y0), (x1, y1) = (np.asarray(v, np.int64) for v in header["dataWindow"])
        declared = (int(x1) - int(x0) + 1) * (int(y1) - int(y0) + 1) * len(header["channels"]) * 4
    except Exception as exc:  # noqa: BLE001 - the library raises RuntimeError/ValueError/IndexError for bad files
        raise DatasetError(name, f"corrupt or truncated EXR file ({_one_line(exc)}); regenerate it") from None
    if declared > MAX_EXR_DECODED_BYTES:
        raise DatasetError(
            name, f"EXR declares {declared / 2**20:,.0f} MiB of pixels, over the {MAX_EXR_DECODED_BYTES >> 20} MiB "
            "limit; refused before decoding (a depth frame is a few MiB)"
        )
    try:
        part = OpenEXR.File(io.BytesIO(data), separate_channels=True)
        return {ch: np.asarray(c.pixels) for ch, c in part.channels().items()}
    except Exception as exc:  # noqa: BLE001 - as above
        raise DatasetError(name, f"corrupt or truncated EXR file ({_one_line(exc)}); regenerate it") from None


def read_exr_channel(data: bytes, channel: str = "Z", name: str = "<exr>") -> np.ndarray:
    """The ``[H, W]`` pixels of one channel (Lyra depth: ``Z``, float16, metres)."""
    channels = decode_exr(data, name)
    if channel not in channels:
        raise DatasetError(name, f"EXR has no channel {channel!r} (it has {sorted(channels)})")
    return channels[channel]


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    if "has 0 parts" in text:  # the library's only words when a chunk fails to decode
        return "its pixel data cannot be decoded"
    return text or type(exc).__name__


# ---------------------------------------------------------------------------------- writing
def encode_exr(channels: Mapping[str, np.ndarray], compression: Compression = "zip") -> bytes:
    """Encode ``{channel: [H, W] array}`` as a single-part scanline EXR.

    Arrays must share one shape; dtypes float16 (HALF), float32 (FLOAT) or uint32 (UINT).
    ``compression="zip"`` (16 lines per chunk, lossless) is what OpenEXR writes by default and
    what Lyra's depth files use.
    """
    if not channels:
        raise ValueError("encode_exr needs at least one channel")
    items = {ch: np.ascontiguousarray(a) for ch, a in sorted(channels.items())}
    shapes = {a.shape for a in items.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"EXR channels must be 2-D arrays of one shape, got {sorted(shapes)}")
    if 0 in next(iter(shapes)):
        raise ValueError("EXR images cannot be empty")
    for ch, a in items.items():
        if a.dtype.newbyteorder("=") not in _DTYPES:
            raise ValueError(f"channel {ch!r}: dtype {a.dtype} is not float16, float32 or uint32")
    if compression not in _COMPRESSIONS:
        raise ValueError(f"compression must be one of {sorted(_COMPRESSIONS)}, got {compression!r}")
    # Native byte order: the bindings take the array's memory as it is.
    items = {ch: a.astype(a.dtype.newbyteorder("="), copy=False) for ch, a in items.items()}
    header = {"compression": _COMPRESSIONS[compression], "type": OpenEXR.scanlineimage}
    buf = io.BytesIO()
    OpenEXR.File(header, items).write(buf)
    return buf.getvalue()
