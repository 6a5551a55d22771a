"""Refuse zip members that would inflate past a cap, before inflating them.

Several inputs are zip archives: Lyra's ``depth/<key>.zip`` and ``mask/<key>.zip``, ``.npz``
tables and trajectories, NuRec ``.usdz`` packages, and ``torch.save`` files (latents,
checkpoints). A zip states each member's uncompressed size in its central directory, so a
"zip bomb" (a 2 MB depth zip whose one member expands to 2 GiB took 62 s and 4.45 GB of memory
before the EXR reader refused it) can be refused up front, in microseconds, by reading the
directory alone. Python's :mod:`zipfile` never inflates past the declared size (it stops there
and reports a CRC error), so the declared size is a real bound on what a read allocates.

Every reader of these archives calls one of the checks below first. Members stored without
compression are bounded by the bytes on disk, so :func:`check_torch_file` (checkpoints can be
many GB, always stored) only caps compressed members; the generic :func:`check_zip_members` caps
every member the caller is about to read.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

from lyra_sim.errors import InvalidInputError

MAX_INFLATED_BYTES = 1 << 30
"""Largest uncompressed size (bytes, 1 GiB) lyra-sim will inflate from one archive member.

A Lyra depth frame (one float16 channel at 1280 x 704) is under 2 MiB; a pose table a few KiB."""


def check_zip_members(
    zf: zipfile.ZipFile, name: str | Path, members: Iterable[str] | None = None, cap: int | None = None,
    compressed_only: bool = False,
) -> None:
    """Raise if a member of ``zf`` declares more than ``cap`` uncompressed bytes.

    Args:
        zf: an open archive (only its central directory is read).
        name: what to call the archive in the message (its path).
        members: the member names about to be read; None: all of them. Unknown names are
            skipped (the caller reports them as missing).
        cap: the limit in bytes; None: :data:`MAX_INFLATED_BYTES` (read at call time). Defaults to None.
        compressed_only: only check members that are compressed (stored members are read
            byte for byte from disk). Defaults to False.

    Raises:
        InvalidInputError: one line naming the archive, the member, its declared and
            compressed sizes, and the cap.
    """
    cap = MAX_INFLATED_BYTES if cap is None else cap
    infos = zf.infolist() if members is None else [i for m in members if (i := _info(zf, m)) is not None]
    for info in infos:
        stored = info.compress_type == zipfile.ZIP_STORED
        if stored and info.file_size != info.compress_size:
            raise InvalidInputError(
                f"{name}: member {info.filename!r} is stored uncompressed yet declares {info.file_size:,} bytes "
                f"for {info.compress_size:,} on disk; the archive is corrupt or crafted, refused"
            )
        if compressed_only and stored:
            continue
        if info.file_size > cap:
            raise InvalidInputError(
                f"{name}: member {info.filename!r} declares {info.file_size:,} bytes uncompressed "
                f"({info.compress_size:,} compressed), over the {cap:,}-byte limit "
                "(lyra_sim.io.archive.MAX_INFLATED_BYTES); refused before inflating it"
            )


def _info(zf: zipfile.ZipFile, member: str) -> zipfile.ZipInfo | None:
    try:
        return zf.getinfo(member)
    except KeyError:
        return None


def check_zip_file(path: str | Path, cap: int | None = None, compressed_only: bool = False) -> None:
    """:func:`check_zip_members` on every member of the file at ``path``, if it is a zip.

    Files that are not zips (a ``.npy``, a legacy ``torch.save`` pickle) and unreadable zips
    pass silently: the reader that follows reports them in its own terms.
    """
    try:
        if not zipfile.is_zipfile(path):
            return
        with zipfile.ZipFile(path) as zf:
            check_zip_members(zf, path, None, cap, compressed_only)
    except (OSError, zipfile.BadZipFile):
        return


def check_torch_file(path: str | Path, cap: int | None = None) -> None:
    """Check a ``torch.save`` file (a zip of stored members) before ``torch.load`` reads it.

    ``torch.load`` inflates compressed members in full; ``torch.save`` never compresses, so a
    compressed member over ``cap`` can only come from a crafted file.
    """
    check_zip_file(path, cap, compressed_only=True)
