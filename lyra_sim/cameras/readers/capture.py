"""Which reader a capture's camera file needs, told by its path (:func:`read_capture_cameras`)."""

from __future__ import annotations

from pathlib import Path

from lyra_sim.cameras.cameras import Cameras
from lyra_sim.cameras.readers.colmap import find_colmap_text, read_colmap_text
from lyra_sim.cameras.readers.common import FORMATS, CameraFileError, check_file
from lyra_sim.cameras.readers.lyra_npz import read_lyra_pose_npz
from lyra_sim.cameras.readers.nerfstudio import read_transforms_json


def read_capture_cameras(path: str | Path) -> Cameras:
    """The cameras of ``path``: a ``.json`` (nerfstudio), ``images.txt``/``cameras.txt`` or a
    folder holding them (COLMAP text, also under ``sparse/0/``), or a ``.npz`` (Lyra).

    Raises:
        CameraFileError: an unknown kind of file, or one that cannot be read.
    """
    path = Path(path)
    if path.is_dir():
        return _colmap(find_colmap_text(path))
    suffix = path.suffix.lower()
    if suffix == ".json":
        return read_transforms_json(path)
    if suffix == ".txt":
        return _colmap(path)
    if suffix == ".npz":
        return read_lyra_pose_npz(path)
    check_file(path)
    raise CameraFileError(path, f"unknown camera file; --cameras takes {FORMATS}")


def _colmap(path: Path) -> Cameras:
    if path.name == "cameras.txt":
        return read_colmap_text(path.parent / "images.txt", path)
    other = path.parent / "cameras.txt"
    return read_colmap_text(path, other if other.is_file() else None)
