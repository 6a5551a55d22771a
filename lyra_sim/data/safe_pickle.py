"""Load Lyra's ``latent/<key>.pkl`` files without running code from the file.

GEN3C saves latents with ``torch.save(numpy_array)``, i.e. a pickle, and Lyra reads them with
``torch.load(weights_only=False)``, which executes whatever the pickle asks for: a downloaded
dataset could run any command on the training machine. Here the file goes through PyTorch's
restricted ``weights_only`` unpickler, which only rebuilds tensors and plain containers, widened
by exactly the numpy callables that rebuild a numeric array: ``_reconstruct``, ``ndarray``,
``dtype`` and ``scalar`` (under both their numpy 1 ``numpy.core`` and numpy 2 ``numpy._core``
names, since the SDG files were written with numpy 1). Anything else is refused before it runs.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import torch

from lyra_sim.errors import DatasetError

_multiarray = np._core.multiarray  # numpy >= 2; pickles from numpy 1 name it numpy.core.multiarray

NUMPY_SAFE_GLOBALS: list = [
    np.ndarray,
    np.dtype,
    _multiarray._reconstruct,
    _multiarray.scalar,
    (_multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
    (_multiarray.scalar, "numpy.core.multiarray.scalar"),
    # Some numpy versions pickle a dtype through its concrete class.
    *(getattr(np.dtypes, n) for n in (
        "BoolDType", "Float16DType", "Float32DType", "Float64DType", "Int8DType", "Int16DType",
        "Int32DType", "Int64DType", "UInt8DType", "UInt16DType", "UInt32DType", "UInt64DType",
    )),
]
"""What :func:`load_array_pickle` lets a pickle call besides PyTorch's own tensor rebuilders."""


def load_array_pickle(path: str | Path) -> np.ndarray | torch.Tensor:
    """Load a ``torch.save``-d numpy array (or tensor) with no arbitrary code execution.

    Returns:
        the stored numeric array or tensor, on the CPU.

    Raises:
        DatasetError: the file is missing, corrupt, holds something other than one numeric
            array/tensor, or asks the unpickler for anything outside the allow-list (a
            malicious or unexpected file: nothing from it has run).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "latent file is missing")
    try:
        with torch.serialization.safe_globals(NUMPY_SAFE_GLOBALS), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Detected pickle protocol 4": noise for the user
            value = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = _refusal_detail(str(exc))
        if "GLOBAL" in detail:
            problem = (
                f"refused to load: the pickle asks for code that does not build a numeric array "
                f"({detail}). Nothing from it was executed; do not trust this file"
            )
        else:
            problem = f"not a valid latent pickle ({detail}); nothing from it was executed; regenerate the file"
        raise DatasetError(path, problem) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise DatasetError(path, f"cannot read latent pickle ({exc}); regenerate the file") from None
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiub":
            raise DatasetError(path, f"latent array has non-numeric dtype {value.dtype}")
        return value
    if isinstance(value, torch.Tensor):
        return value
    raise DatasetError(path, f"expected one numpy array or tensor, found {type(value).__name__}")


def _refusal_detail(message: str) -> str:
    # PyTorch wraps the one informative line in paragraphs of advice that do not apply here
    # (e.g. "re-run with weights_only=False"); keep that line only.
    boilerplate = ("Weights only load failed", "Check the documentation", "Please file an issue", "WeightsUnpickler error")
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    kept = [ln for ln in lines if not ln.startswith(boilerplate)]
    return " ".join(kept) or (lines[0] if lines else "unpickling failed")
