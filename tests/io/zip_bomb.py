"""A crafted zip for the hostile-input tests (imported as a top-level helper, see conftest)."""

import struct
import zipfile


def write_zip_bomb(path, member: str = "00000.exr", declared: int = 2 << 30, extra: dict | None = None) -> None:
    """A small deflated zip whose ``member`` declares ``declared`` uncompressed bytes.

    The sizes are patched in the local and central headers, as a crafted archive would state
    them; inflating the real data runs into the declared size. ``extra`` members are stored as is.
    """
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
        zf.writestr(member, b"\0" * 4096, compress_type=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as zf:
        local, central = zf.getinfo(member).header_offset, zf.start_dir
    data = bytearray(path.read_bytes())
    name = member.encode()
    assert data[local : local + 4] == b"PK\x03\x04" and data[local + 30 : local + 30 + len(name)] == name
    struct.pack_into("<I", data, local + 22, declared)
    while data[central + 46 : central + 46 + len(name)] != name:  # walk the central directory
        size = 46 + sum(struct.unpack_from("<HHH", data, central + 28))
        central += size
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))
