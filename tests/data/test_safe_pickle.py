"""Latent pickles load as arrays; anything that would run code is refused before it runs."""

import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

from lyra_sim.data.safe_pickle import load_array_pickle
from lyra_sim.errors import DatasetError


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
