"""Atomic, non-clobbering file output.

Every lyra-sim writer goes through :func:`atomic_output`: the data is written to a temporary
file in the destination directory and renamed over the destination only once it is complete,
so an interrupted run never leaves a half-written PLY/PNG/USD behind, and an existing file is
only replaced when the caller asked for it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from lyra_sim.errors import OutputExistsError


def check_writable(path: str | Path, overwrite: bool = False) -> Path:
    """Return ``path`` as a Path after checking it may be written.

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is False.
        IsADirectoryError: ``path`` is an existing directory.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; give a file path")
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    return path


@contextlib.contextmanager
def atomic_output(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    The parent directory is created if needed. On any exception the temporary file is removed
    and ``path`` is left untouched.

    Example:
        >>> with atomic_output("scene.ply") as tmp:  # doctest: +SKIP
        ...     write_bytes_to(tmp)
    """
    path = check_writable(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep the real suffix last so writers that dispatch on it (imageio, USD) still work.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not overwrite and path.exists():
            # Someone else created it while we were writing: do not clobber their file.
            raise OutputExistsError(path)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs should be shareable
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_directory(path: str | Path, overwrite: bool = False,
                     check_replaceable: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Yield an empty staging folder next to ``path``; it becomes ``path`` on success.

    Everything a run writes goes into the staging folder (``.<name>.<random>.partial``), so an
    error (or Ctrl-C) leaves no half-written output: the staging folder is removed and ``path``
    is untouched. An existing empty folder counts as no output. An existing non-empty ``path``
    is an :class:`OutputExistsError` up front unless ``overwrite``; then the old folder is swapped
    out only once the new one is complete (and put back if the swap fails).

    Args:
        check_replaceable: with ``overwrite``, called with an existing non-empty ``path`` before
            anything is written and again just before the swap; it raises to refuse replacing a
            folder that does not look like this writer's output (a mistyped path must not wipe
            an unrelated folder).

    Raises:
        OutputExistsError: ``path`` holds files and ``overwrite`` is False.
        InvalidInputError: ``path`` is a file, or its parent cannot be written.
    """
    import shutil

    from lyra_sim.errors import InvalidInputError

    path = Path(path)

    def check_existing() -> bool:
        """Whether ``path`` holds files that may be replaced (raises when they may not)."""
        if path.exists() and not path.is_dir():
            raise InvalidInputError(f"{path} is a file; give a folder for the outputs")
        if not path.is_dir() or not any(path.iterdir()):
            return False
        if not overwrite:
            raise OutputExistsError(path)
        if check_replaceable is not None:
            check_replaceable(path)
        return True

    check_existing()
    parent = path.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=parent))
    except OSError as err:
        raise InvalidInputError(f"cannot write to {parent}: {err.strerror or err}; choose another output folder") from None
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700; outputs should be shareable
        check_existing()  # someone may have filled it meanwhile
        if path.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=parent))
            os.replace(path, old / "previous")
            try:
                os.replace(staging, path)
            except OSError:
                os.replace(old / "previous", path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, path)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
