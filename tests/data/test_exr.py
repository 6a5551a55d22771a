"""The built-in EXR codec: round trips, a file assembled byte by byte from the spec, and
cross-checks against the OpenEXR library when it is installed."""

import io
import struct
import sys
import zlib

import numpy as np
import pytest

from lyra_sim.data.exr import decode_exr, encode_exr, read_exr_channel
from lyra_sim.errors import DatasetError


@pytest.mark.parametrize("compression", ["none", "zip"])
@pytest.mark.parametrize("shape", [(1, 1), (17, 33), (40, 7)])  # 40 rows: three 16-line ZIP chunks
def test_round_trip_exact(compression, shape):
    rng = np.random.default_rng(0)
    channels = {
        "Z": (rng.random(shape) * 100).astype(np.float16),
        "A": rng.normal(size=shape).astype(np.float32),
        "N": rng.integers(0, 2**32, size=shape, dtype=np.uint32),
    }
    decoded = decode_exr(encode_exr(channels, compression))
    assert set(decoded) == set(channels)
    for name, values in channels.items():
        assert decoded[name].dtype == values.dtype and np.array_equal(decoded[name], values)


def test_zip_compresses_constant_depth():
    depth = np.full((64, 64), 3.5, np.float16)
    assert len(encode_exr({"Z": depth}, "zip")) < len(encode_exr({"Z": depth}, "none")) / 10


def _spec_attribute(name, kind, value):
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value


def test_reads_a_file_built_from_the_spec():
    # Two half channels "Y" and "Z", 3x2 pixels, ZIPS (one line per chunk), assembled by hand.
    z = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]], np.float16)
    y = -z
    window = struct.pack("<4i", 0, 0, 2, 1)
    chlist = b"Y\0" + struct.pack("<iB3xii", 1, 0, 1, 1) + b"Z\0" + struct.pack("<iB3xii", 1, 0, 1, 1) + b"\0"
    header = (
        struct.pack("<ii", 20000630, 2)
        + _spec_attribute("channels", "chlist", chlist)
        + _spec_attribute("compression", "compression", b"\x02")
        + _spec_attribute("dataWindow", "box2i", window)
        + _spec_attribute("displayWindow", "box2i", window)
        + _spec_attribute("lineOrder", "lineOrder", b"\0")
        + _spec_attribute("pixelAspectRatio", "float", struct.pack("<f", 1))
        + _spec_attribute("screenWindowCenter", "v2f", struct.pack("<2f", 0, 0))
        + _spec_attribute("screenWindowWidth", "float", struct.pack("<f", 1))
        + b"\0"
    )

    def zips(raw: bytes) -> bytes:  # ImfZip.cpp, written out in plain Python
        split = raw[0::2] + raw[1::2]
        out = bytearray([split[0]])
        for i in range(1, len(split)):
            out.append((split[i] - split[i - 1] + 128 + 256) % 256)
        return zlib.compress(bytes(out))

    chunks = []
    for row in range(2):
        packed = zips(y[row].tobytes() + z[row].tobytes())  # channels in name order per line
        chunks.append(struct.pack("<ii", row, len(packed)) + packed)
    offsets = [len(header) + 16, len(header) + 16 + len(chunks[0])]
    data = header + struct.pack("<2Q", *offsets) + b"".join(chunks)
    out = decode_exr(data)
    assert np.array_equal(out["Z"], z) and np.array_equal(out["Y"], y)


def test_corrupt_files_raise_dataset_error():
    good = encode_exr({"Z": np.ones((20, 20), np.float16)})
    with pytest.raises(DatasetError, match="not an OpenEXR file"):
        decode_exr(b"\x00" * 64, "bad.exr")
    with pytest.raises(DatasetError, match="corrupt or truncated"):
        decode_exr(good[: len(good) - 10], "cut.exr")
    with pytest.raises(DatasetError, match="no channel 'Z'"):
        read_exr_channel(encode_exr({"R": np.ones((2, 2), np.float16)}), "Z", "rgb.exr")


def test_unsupported_compression_without_library_says_what_to_install(monkeypatch):
    data = bytearray(encode_exr({"Z": np.ones((4, 4), np.float16)}, "none"))
    i = data.index(b"compression\0compression\0") + len(b"compression\0compression\0") + 4
    data[i] = 4  # PIZ
    monkeypatch.setitem(sys.modules, "OpenEXR", None)  # import fails
    with pytest.raises(DatasetError, match="pip install OpenEXR"):
        decode_exr(bytes(data), "piz.exr")


class TestAgainstOpenEXR:
    """The reference implementation reads what we write and we read what it writes."""

    @pytest.fixture(autouse=True)
    def _lib(self):
        self.lib = pytest.importorskip("OpenEXR")

    @pytest.mark.parametrize("compression", ["none", "zip"])
    def test_library_reads_ours(self, compression):
        z = (np.random.default_rng(1).random((37, 21)) * 50).astype(np.float16)
        part = self.lib.File(io.BytesIO(encode_exr({"Z": z}, compression)))
        pixels = part.channels()["Z"].pixels
        assert pixels.dtype == np.float16 and np.array_equal(pixels, z)

    @pytest.mark.parametrize("name", ["NO_COMPRESSION", "RLE_COMPRESSION", "ZIPS_COMPRESSION", "ZIP_COMPRESSION", "PIZ_COMPRESSION"])
    def test_we_read_the_library(self, name):
        rng = np.random.default_rng(2)
        z = (rng.random((35, 19)) * 50).astype(np.float16)
        z[:10] = 2.0  # runs, so RLE has something to encode
        f = rng.random((35, 19)).astype(np.float32)
        buf = io.BytesIO()
        header = {"compression": getattr(self.lib, name), "type": self.lib.scanlineimage}
        self.lib.File(header, {"Z": z, "F": f}).write(buf)
        out = decode_exr(buf.getvalue())  # PIZ goes through the library fallback
        assert np.array_equal(out["Z"], z) and out["Z"].dtype == np.float16
        assert np.array_equal(out["F"], f)
