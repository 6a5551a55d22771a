"""Zip members are refused from their declared size, before anything is inflated."""

import struct
import time
import zipfile

import pytest
from zip_bomb import write_zip_bomb

from lyra_sim.errors import InvalidInputError
from lyra_sim.io import archive
from lyra_sim.io.archive import check_torch_file, check_zip_file, check_zip_members


def test_declared_2_gib_member_is_refused_at_once(tmp_path):
    path = tmp_path / "00042.zip"
    write_zip_bomb(path, extra={"00001.exr": b"ok"})
    assert path.stat().st_size < 10_000
    start = time.perf_counter()
    with zipfile.ZipFile(path) as zf, pytest.raises(InvalidInputError) as info:
        check_zip_members(zf, path)
    assert time.perf_counter() - start < 1.0
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and "'00000.exr'" in msg
    assert "2,147,483,648 bytes uncompressed" in msg and "MAX_INFLATED_BYTES" in msg
    with zipfile.ZipFile(path) as zf:
        check_zip_members(zf, path, ["00001.exr", "missing.exr"])  # only the members about to be read


def test_real_inflation_over_the_cap_is_refused(tmp_path, monkeypatch):
    # Honest sizes, real deflated data: the cap applies to what the member really expands to.
    path = tmp_path / "t.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("small.npy", b"\0" * 1000)
        zf.writestr("big.npy", b"\0" * 300_000)
    monkeypatch.setattr(archive, "MAX_INFLATED_BYTES", 200_000)
    with pytest.raises(InvalidInputError, match=r"'big.npy' declares 300,000 bytes .* over the 200,000-byte limit"):
        check_zip_file(path)
    monkeypatch.setattr(archive, "MAX_INFLATED_BYTES", 300_000)
    check_zip_file(path)  # at the cap: allowed


def test_torch_files_only_cap_compressed_members(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_INFLATED_BYTES", 1000)
    stored = tmp_path / "stored.pt"
    with zipfile.ZipFile(stored, "w") as zf:  # torch.save stores, never compresses
        zf.writestr("archive/data/0", b"\1" * 5000)
    check_torch_file(stored)
    with pytest.raises(InvalidInputError, match="'archive/data/0' declares 5,000 bytes"):
        check_zip_file(stored)  # the generic check caps stored members too
    bomb = tmp_path / "bomb.pt"
    write_zip_bomb(bomb, "archive/data.pkl")
    with pytest.raises(InvalidInputError, match="'archive/data.pkl' declares"):
        check_torch_file(bomb)


def test_stored_member_with_inconsistent_sizes_is_refused(tmp_path):
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a", b"x" * 100)
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10_000)  # uncompressed size only
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidInputError, match="stored uncompressed yet declares 10,000 bytes for 100 on disk"):
        check_torch_file(path)


def test_non_zip_files_pass_to_their_reader(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"\x93NUMPY not a zip")
    check_zip_file(tmp_path / "a.npy")
    check_torch_file(tmp_path / "missing.pt")
