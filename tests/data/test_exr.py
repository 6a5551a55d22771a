"""Depth EXR files: round trips, Lyra's exact layout checked byte by byte, a file assembled from
the spec, files the OpenEXR library writes with every compression, and hostile headers."""

import io
import struct
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
    # Two half channels "Y" and "Z", 24x2 pixels, ZIPS (one line per chunk), assembled by hand.
    # Wide and smooth enough that every chunk shrinks: the format stores a chunk that would not
    # shrink raw, and the reference reader rejects a "compressed" chunk larger than its pixels.
    z = np.stack([np.linspace(1.0, 4.0, 24), np.full(24, 6.5)]).astype(np.float16)
    y = -z
    window = struct.pack("<4i", 0, 0, 23, 1)
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
        raw = y[row].tobytes() + z[row].tobytes()  # channels in name order per line
        packed = zips(raw)
        assert len(packed) < len(raw)
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


def _header_attributes(data: bytes) -> dict[str, tuple[str, bytes]]:
    """``{name: (type, raw value)}`` of a single-part EXR header, parsed from the bytes."""
    pos, out = 8, {}
    while data[pos] != 0:
        name_end = data.index(b"\0", pos)
        kind_end = data.index(b"\0", name_end + 1)
        (size,) = struct.unpack_from("<i", data, kind_end + 1)
        value = data[kind_end + 5 : kind_end + 5 + size]
        out[data[pos:name_end].decode()] = (data[name_end + 1 : kind_end].decode(), value)
        pos = kind_end + 5 + size
    return out


@pytest.mark.parametrize(("compression", "code"), [("zip", 3), ("none", 0)])
def test_written_file_has_lyra_depth_layout(compression, code):
    # Lyra's depth frame: magic, version 2 with no tiled/multi-part/deep flag, one HALF channel
    # "Z" at full resolution, ZIP compression, a data window of the image size.
    z = np.arange(12, dtype=np.float16).reshape(3, 4)
    data = encode_exr({"Z": z}, compression)
    magic, version = struct.unpack_from("<ii", data, 0)
    assert magic == 20000630 and version & 0xFF == 2 and version & ~0xFF == 0
    attrs = _header_attributes(data)
    assert attrs["channels"] == ("chlist", b"Z\0" + struct.pack("<iB3xii", 1, 0, 1, 1) + b"\0")
    assert attrs["compression"] == ("compression", bytes([code]))
    assert attrs["dataWindow"] == ("box2i", struct.pack("<4i", 0, 0, 3, 2))
    assert attrs["lineOrder"] == ("lineOrder", b"\0")
    out = read_exr_channel(data)
    assert out.dtype == np.float16 and np.array_equal(out, z)


def test_declared_huge_image_is_refused_before_decoding():
    # A valid header declaring 100000 x 100000 pixels and no pixel data: the library would
    # allocate 20 GB for it; we refuse from the header alone.
    data = bytearray(encode_exr({"Z": np.ones((2, 2), np.float16)}, "none"))
    i = data.index(b"dataWindow\0box2i\0") + len(b"dataWindow\0box2i\0") + 4
    data[i : i + 16] = struct.pack("<4i", 0, 0, 99_999, 99_999)
    with pytest.raises(DatasetError, match=r"huge.exr: EXR declares .* MiB of pixels, over the 1024 MiB limit"):
        decode_exr(bytes(data), "huge.exr")


class TestAgainstOpenEXR:
    """The reference implementation reads what we write and we read what it writes."""

    @pytest.fixture(autouse=True)
    def _lib(self):
        import OpenEXR  # a core dependency

        self.lib = OpenEXR

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
        out = decode_exr(buf.getvalue())
        assert np.array_equal(out["Z"], z) and out["Z"].dtype == np.float16
        assert np.array_equal(out["F"], f)
