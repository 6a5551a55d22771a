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
import zipfile
from pathlib import Path

import numpy as np
import torch

from lyra_sim.errors import DatasetError
from lyra_sim.io.archive import check_torch_file

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


REFUSAL = "unsafe or unsupported latent file"
"""How every refusal of :func:`load_array_pickle` begins (after the path)."""

_TORCH_LEGACY_MAGIC = b"\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"  # torch.serialization.MAGIC_NUMBER as a pickled LONG1


def load_array_pickle(path: str | Path) -> np.ndarray | torch.Tensor:
    """Load a ``torch.save``-d numpy array (or tensor) with no arbitrary code execution.

    Only ``torch.save`` files (zip or legacy format) at pickle protocol 2, ``torch.save``'s
    default, are read, through PyTorch's restricted unpickler. Everything else is refused
    with one line starting :data:`REFUSAL` that says what the file is and what to do: a plain
    ``pickle.dump`` (any protocol; it is never unpickled), a ``torch.save`` at protocol 3+ (the
    restricted unpickler lacks the opcodes numpy needs there), a ``.npy``, or unknown bytes.

    Returns:
        the stored numeric array or tensor, on the CPU.

    Raises:
        DatasetError: the file is missing, corrupt, holds something other than one numeric
            array/tensor, or asks the unpickler for anything outside the allow-list (a
            malicious or unexpected file: nothing from it has run).
        InvalidInputError: a zip member declares more than
            :data:`lyra_sim.io.archive.MAX_INFLATED_BYTES` uncompressed.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "latent file is missing")
    check_torch_file(path)
    kind, protocol = _sniff(path)
    never_run = "nothing from it was executed"
    if kind == "pickle":
        raise DatasetError(path, f"{REFUSAL}: a plain Python pickle (protocol {protocol}, from pickle.dump), not a torch.save "
                           f"file; lyra-sim never unpickles those (a pickle can run any code) and {never_run}; "
                           "re-save the array with torch.save(array, path)")
    if kind == "npy":
        raise DatasetError(path, f"{REFUSAL}: a .npy file, not a torch.save file; {never_run}; "
                           "re-save the array with torch.save(array, path)")
    if kind == "unknown":
        raise DatasetError(path, f"{REFUSAL}: not a torch.save file (neither a zip nor a pickle); {never_run}; regenerate it")
    try:
        with torch.serialization.safe_globals(NUMPY_SAFE_GLOBALS), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Detected pickle protocol 4": noise for the user
            value = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = _refusal_detail(str(exc))
        if "GLOBAL" in detail:
            problem = (
                f"{REFUSAL}: the pickle asks for code that does not build a numeric array "
                f"({detail}). Nothing from it was executed; do not trust this file"
            )
        elif "Unsupported operand" in detail and protocol not in (None, 2):
            problem = (
                f"{REFUSAL}: torch.save wrote it with pickle protocol {protocol}, which PyTorch's restricted "
                f"unpickler cannot read ({detail}); {never_run}; re-save it with torch.save(array, path) "
                "at the default protocol (2)"
            )
        else:
            problem = f"{REFUSAL}: not a valid latent pickle ({detail}); {never_run}; regenerate the file"
        raise DatasetError(path, problem) from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DatasetError(path, f"{REFUSAL}: cannot read it ({_one_line(exc)}); {never_run}; regenerate the file") from None
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiub":
            raise DatasetError(path, f"{REFUSAL}: latent array has non-numeric dtype {value.dtype}")
        return value
    if isinstance(value, torch.Tensor):
        return value
    raise DatasetError(path, f"{REFUSAL}: expected one numpy array or tensor, found {type(value).__name__}")


def _sniff(path: Path) -> tuple[str, int | None]:
    """``(kind, pickle protocol)``: kind is "torch" (zip or legacy), "pickle", "npy" or "unknown"."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                pkl = next((n for n in zf.namelist() if n.endswith("data.pkl")), None)
                head = zf.open(pkl).read(2) if pkl else b""
            return "torch", head[1] if head[:1] == b"\x80" and len(head) == 2 else None
        with open(path, "rb") as fh:
            head = fh.read(32)
    except (OSError, zipfile.BadZipFile, RuntimeError):
        return "torch", None  # let torch.load report it
    if head.startswith(b"\x93NUMPY"):
        return "npy", None
    if head[:1] == b"\x80" and len(head) >= 2:
        return ("torch" if _TORCH_LEGACY_MAGIC in head else "pickle"), head[1]
    return "unknown", None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
def _refusal_detail(message: str) -> str:
    # PyTorch wraps the one informative line in paragraphs of advice that do not apply here
    # (e.g. "re-run with weights_only=False"); keep that line only.
    boilerplate = ("Weights only load failed", "Check the documentation", "Please file an issue", "WeightsUnpickler error")
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    kept = [ln for ln in lines if not ln.startswith(boilerplate)]
    return " ".join(kept) or (lines[0] if lines else "unpickling failed")
