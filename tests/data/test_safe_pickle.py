"""Latent pickles load as arrays; anything that would run code is refused before it runs."""

import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

from lyra_sim.data.safe_pickle import load_array_pickle
from lyra_sim.errors import DatasetError, InvalidInputError


class _Payload:
    """Unpickling this runs ``touch <marker>``: a stand-in for a malicious dataset file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_loads_gen3c_style_numpy_latents(tmp_path):
    latent = np.random.default_rng(0).normal(size=(1, 16, 2, 6, 8)).astype(np.float32)
    torch.save(latent, tmp_path / "a.pkl")
    out = load_array_pickle(tmp_path / "a.pkl")
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and np.array_equal(out, latent)


def test_loads_tensors(tmp_path):
    t = torch.randn(1, 4, 2, 3, 3)
    torch.save(t, tmp_path / "t.pkl")
    assert torch.equal(load_array_pickle(tmp_path / "t.pkl"), t)


def test_loads_pickles_written_by_numpy_1(tmp_path):
    # numpy 1 named the rebuild function numpy.core.multiarray._reconstruct; Lyra's files use it.
    torch.save(np.arange(6, dtype=np.float32).reshape(2, 3), tmp_path / "new.pkl")
    with zipfile.ZipFile(tmp_path / "new.pkl") as src, zipfile.ZipFile(tmp_path / "old.pkl", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("data.pkl"):
                assert b"numpy._core.multiarray" in data
                data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
            dst.writestr(info, data)
    assert np.array_equal(load_array_pickle(tmp_path / "old.pkl"), np.arange(6).reshape(2, 3))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, writer):
    marker = tmp_path / "pwned"
    path = tmp_path / "latent.pkl"
    # Control: the payload really does run when unpickled unsafely.
    pickle.loads(pickle.dumps(_Payload(tmp_path / "control")))
    assert (tmp_path / "control").exists()
    if writer == "torch":
        torch.save(_Payload(marker), path)
    else:
        path.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    with pytest.raises(DatasetError, match="Nothing from it was executed|nothing from it was executed") as info:
        load_array_pickle(path)
    assert not marker.exists()
    assert str(path) in str(info.value)
    if writer == "torch":
        assert "system" in str(info.value)  # names what it refused


def test_object_arrays_are_refused(tmp_path):
    torch.save(np.array([1, "a"], dtype=object), tmp_path / "o.pkl")
    with pytest.raises(DatasetError):
        load_array_pickle(tmp_path / "o.pkl")


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DatasetError, match="missing"):
        load_array_pickle(tmp_path / "nope.pkl")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle at all")
    with pytest.raises(DatasetError, match="junk.pkl"):
        load_array_pickle(tmp_path / "junk.pkl")
    torch.save({"a": torch.zeros(2)}, tmp_path / "dict.pkl")
    with pytest.raises(DatasetError, match="expected one numpy array"):
        load_array_pickle(tmp_path / "dict.pkl")


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_plain_pickled_array_is_refused_clearly(tmp_path, protocol):
    # Before: protocol 2 failed with "truth value of an array is ambiguous", 4 and 5 with
    # "Unsupported operand 149".
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps(np.arange(6.0).reshape(2, 3), protocol=protocol))
    with pytest.raises(DatasetError) as info:
        load_array_pickle(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: unsafe or unsupported latent file: a plain Python pickle (protocol {protocol}")
    assert "torch.save(array, path)" in msg and "ambiguous" not in msg and "operand" not in msg


def test_torch_save_at_protocol_4_and_npy_are_refused_clearly(tmp_path):
    torch.save(np.zeros((1, 2, 3), np.float32), tmp_path / "p4.pkl", pickle_protocol=4)
    with pytest.raises(DatasetError, match=r"unsafe or unsupported latent file: torch.save wrote it with pickle protocol 4"):
        load_array_pickle(tmp_path / "p4.pkl")
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(DatasetError, match=r"unsafe or unsupported latent file: a .npy file"):
        load_array_pickle(tmp_path / "a.npy")
    torch.save(np.zeros((1, 2, 3), np.float32), tmp_path / "legacy.pkl", _use_new_zipfile_serialization=False)
    assert load_array_pickle(tmp_path / "legacy.pkl").shape == (1, 2, 3)  # the legacy format at protocol 2 still reads


def test_latent_zip_bomb_is_refused_before_inflating(tmp_path):
    from zip_bomb import write_zip_bomb  # tests/io, on sys.path through conftest

    write_zip_bomb(tmp_path / "bomb.pkl", "archive/data.pkl")
    with pytest.raises(InvalidInputError, match="'archive/data.pkl' declares 2,147,483,648 bytes"):
        load_array_pickle(tmp_path / "bomb.pkl")
