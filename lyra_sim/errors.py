"""Errors a user can cause.

Every error raised because of bad input, a missing file or a refused overwrite is a
:class:`LyraSimError` subclass whose message says what went wrong *and what to do*. Bugs in
lyra-sim itself raise ordinary Python exceptions.
"""

from __future__ import annotations

from pathlib import Path


class LyraSimError(Exception):
    """Base class of every error a user of lyra-sim can cause and fix."""


class InvalidInputError(LyraSimError, ValueError):
    """An argument (tensor shape, value range, option) is not what the function accepts."""


class SplatFileError(LyraSimError):
    """A splat file cannot be read as 3D Gaussians: truncated, corrupt, an impossible header, or
    values that are not a valid Gaussian (:class:`PlyError` for PLY files; raised as is for
    antimatter15 ``.splat`` and Niantic ``.spz``).

    Attributes:
        path: the file.
        problem: what is wrong with it, in one sentence.
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class PlyError(SplatFileError):
    """A PLY file cannot be read as 3D Gaussians (``path`` and ``problem`` as :class:`SplatFileError`)."""


class PlyHeaderError(PlyError):
    """The header is missing, malformed, or declares an impossible layout."""


class PlyTruncatedError(PlyError):
    """The file ends before the data its header declares."""


class PlyMissingPropertyError(PlyError):
    """A property every 3DGS PLY must have (x, y, z, opacity, scale_*, rot_*, f_dc_*) is absent."""


class PlyValueError(PlyError):
    """The data holds values that are not a valid Gaussian (NaN, inf, zero quaternion)."""




class UnsupportedFormatError(InvalidInputError):
    """A file in a format lyra-sim recognises but does not read (KSPLAT, SOG, glTF, USD, an image,
    ...) or does not recognise at all; the message names the format and what to do."""


class OutputExistsError(LyraSimError, FileExistsError):
    """An output file exists and overwriting it was not asked for."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        super().__init__(
            f"{self.path} already exists; pass overwrite=True (CLI: --overwrite) to replace it, "
            "or choose another output path"
        )


class TrajectoryError(LyraSimError):
    """A camera trajectory file or specification is invalid."""


class DatasetError(LyraSimError):
    """A scene of the Lyra SDG layout is missing a file, inconsistent, corrupt or unsafe to load.

    Attributes:
        path: the scene root or the offending file.
        problem: what is wrong, in one sentence that says what to do.
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class MissingWeightsError(LyraSimError, FileNotFoundError):
    """Model weights the user named are not where they were said to be.

    lyra-sim never downloads weights; the message names what to download and where to put it.
    """


class ExportError(LyraSimError):
    """A scene cannot be exported as asked: nothing to export, an output that cannot be written,
    a format limit (e.g. USDZ's 4 GiB), or an optional dependency the asked-for step needs."""


class MissingDependencyError(LyraSimError, ImportError):
    """An optional package that the asked-for backend needs is not installed.

    The message names the package, how to install it, and the alternative that works without it.
    """
