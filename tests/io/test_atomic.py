"""atomic_output / check_writable: write-then-rename, no clobbering, no leftovers, sane permissions."""

import os
import stat

import pytest

from lyra_sim.errors import OutputExistsError
from lyra_sim.io import atomic_output, check_writable


class Boom(RuntimeError):
    pass


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_writes_only_on_success(tmp_path):
    target = tmp_path / "scene.ply"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        assert tmp.suffix == ".ply"  # writers that dispatch on the suffix still work
        assert tmp.exists()  # mkstemp created it
        tmp.write_bytes(b"payload")
        assert not target.exists()  # not visible until the block succeeds
    assert target.read_bytes() == b"payload"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.ply"]


def test_exception_leaves_no_file(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(Boom):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise Boom()
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_exception_leaves_existing_file_untouched(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"original")
    with pytest.raises(Boom):
        with atomic_output(target, overwrite=True) as tmp:
            tmp.write_bytes(b"replacement")
            raise Boom()
    assert target.read_bytes() == b"original"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_refuses_overwrite_without_flag(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"original")
    entered = False
    with pytest.raises(OutputExistsError) as info:
        with atomic_output(target):
            entered = True
    assert not entered
    assert info.value.path == target and "overwrite" in str(info.value)
    assert isinstance(info.value, FileExistsError)
    assert target.read_bytes() == b"original"
    with atomic_output(target, overwrite=True) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_file_created_meanwhile_is_not_clobbered(tmp_path):
    target = tmp_path / "race.txt"
    with pytest.raises(OutputExistsError):
        with atomic_output(target) as tmp:
            tmp.write_text("mine")
            target.write_text("theirs")  # someone else wrote it while we were busy
    assert target.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["race.txt"]


def test_creates_parent_dirs(tmp_path):
    target = tmp_path / "a" / "b" / "c" / "out.txt"
    with atomic_output(str(target)) as tmp:
        tmp.write_text("hi")
    assert target.read_text() == "hi"


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_permissions_respect_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        target = tmp_path / "out.txt"
        with atomic_output(target) as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_written_file_is_not_private(tmp_path, umask_022):
    target = tmp_path / "shared.txt"
    with atomic_output(target) as tmp:
        tmp.write_text("x")
    assert stat.S_IMODE(target.stat().st_mode) != 0o600
    assert target.stat().st_mode & stat.S_IROTH


def test_umask_is_restored(tmp_path, umask_022):
    with atomic_output(tmp_path / "x") as tmp:
        tmp.write_text("x")
    current = os.umask(0o022)
    assert current == 0o022


def test_check_writable(tmp_path):
    p = tmp_path / "new.txt"
    assert check_writable(str(p)) == p
    p.write_text("x")
    with pytest.raises(OutputExistsError):
        check_writable(p)
    assert check_writable(p, overwrite=True) == p
    with pytest.raises(IsADirectoryError):
        check_writable(tmp_path, overwrite=True)
    with pytest.raises(IsADirectoryError):
        with atomic_output(tmp_path, overwrite=True):
            pass
