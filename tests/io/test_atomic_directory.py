"""atomic_directory: a folder appears whole or not at all, and replaces only what it may."""

import pytest

from lyra_sim.errors import InvalidInputError, OutputExistsError
from lyra_sim.io.atomic import atomic_directory


class _Boom(Exception):
    pass


def test_folder_appears_only_when_complete(tmp_path):
    dest = tmp_path / "out"
    with pytest.raises(_Boom), atomic_directory(dest) as staging:
        (staging / "a.txt").write_text("half")
        assert staging.name.startswith(".out.") and staging.name.endswith(".partial")
        raise _Boom
    assert list(tmp_path.iterdir()) == []
    with atomic_directory(dest) as staging:
        (staging / "a.txt").write_text("whole")
    assert (dest / "a.txt").read_text() == "whole" and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_empty_folder_counts_as_none_and_a_full_one_needs_overwrite(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    with atomic_directory(dest) as staging:
        (staging / "a.txt").write_text("1")
    with pytest.raises(OutputExistsError), atomic_directory(dest):
        pass
    with atomic_directory(dest, overwrite=True) as staging:
        (staging / "b.txt").write_text("2")
    assert sorted(p.name for p in dest.iterdir()) == ["b.txt"] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInputError, match="is a file"), atomic_directory(tmp_path / "file", overwrite=True):
        pass


def test_check_replaceable_guards_an_unrelated_folder(tmp_path):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("do not delete")

    def refuse(path):
        raise InvalidInputError(f"{path} is not ours")

    with pytest.raises(InvalidInputError, match="not ours"), atomic_directory(precious, overwrite=True, check_replaceable=refuse):
        pass
    assert (precious / "thesis.tex").read_text() == "do not delete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
