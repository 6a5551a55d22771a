"""PLY headers: parse and validate the ASCII header of a PLY file without reading its data.

Strict by design: a header that is malformed, truncated, declares unknown types or negative
counts raises :class:`~lyra_sim.errors.PlyHeaderError` naming the file; at most
:data:`MAX_HEADER_BYTES` are read, so a non-PLY file can never make the reader hang.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lyra_sim.errors import PlyError, PlyHeaderError

MAX_HEADER_BYTES = 1 << 20
"""Headers are a few KiB; a file without ``end_header`` in its first MiB is not a PLY."""

MAX_COUNT_DIGITS = 20
"""An element count longer than this (10**20 rows, exabytes) is refused before ``int()`` parses it."""

PLY_FORMATS = {"ascii": None, "binary_little_endian": "<", "binary_big_endian": ">"}
PLY_TYPES = {  # PLY type name -> numpy type code (both the 1.0 spec names and the sized aliases)
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip

@dataclass(frozen=True)
class PlyProperty:
    """One property line: ``type`` is the PLY scalar type (the item type for list properties)."""

    name: str
    type: str
    list_count_type: str | None = None

    @property
    def is_list(self) -> bool:
        return self.list_count_type is not None


@dataclass(frozen=True)
class PlyElement:
    """One ``element`` line with its properties; ``count`` rows."""

    name: str
    count: int
    properties: tuple[PlyProperty, ...]

    @property
    def property_names(self) -> list[str]:
        return [p.name for p in self.properties]

    @property
    def stride(self) -> int | None:
        """Bytes per row in a binary file; None when a list property makes rows variable."""
        if any(p.is_list for p in self.properties):
            return None
        return sum(np.dtype(PLY_TYPES[p.type]).itemsize for p in self.properties)


@dataclass(frozen=True)
class PlyHeader:
    """A parsed PLY header.

    Attributes:
        path: the file.
        format: ``ascii``, ``binary_little_endian`` or ``binary_big_endian``.
        version: the format version string (``1.0``).
        elements: the elements in file order.
        comments: text of the ``comment`` and ``obj_info`` lines.
        header_bytes: length of the header in bytes, i.e. the offset of the data.
        file_size: size of the whole file in bytes.
    """

    path: Path
    format: str
    version: str
    elements: tuple[PlyElement, ...]
    comments: tuple[str, ...]
    header_bytes: int
    file_size: int

    def element(self, name: str) -> PlyElement | None:
        """The first element called ``name``, or None."""
        return next((e for e in self.elements if e.name == name), None)

    @property
    def is_compressed(self) -> bool:
        """True for a SuperSplat/PlayCanvas compressed PLY (``chunk`` + packed ``vertex``)."""
        vertex = self.element("vertex")
        return self.element("chunk") is not None and vertex is not None and "packed_position" in vertex.property_names


def read_ply_header(path: str | Path) -> PlyHeader:
    """Parse the header of a PLY file, reading at most :data:`MAX_HEADER_BYTES`.

    Raises:
        PlyError: the file is missing, a directory or unreadable.
        PlyHeaderError: not a PLY, no ``end_header``, or a malformed/unsupported header line.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(MAX_HEADER_BYTES)
    except FileNotFoundError:
        raise PlyError(path, "no such file") from None
    except IsADirectoryError:
        raise PlyError(path, "is a directory, not a PLY file") from None
    except OSError as err:
        raise PlyError(path, f"cannot be read ({err.strerror or err})") from None
    if not head:
        raise PlyHeaderError(path, "the file is empty")
    if not re.match(rb"ply\r?\n", head):
        raise PlyHeaderError(path, "not a PLY file: it does not start with the line 'ply'")

    lines: list[str] = []
    pos, header_bytes = 0, None
    while header_bytes is None:
        nl = head.find(b"\n", pos)
        # The last line may lack its newline only if the file ends there.
        end = nl if nl >= 0 else (len(head) if len(head) == size and pos < size else -1)
        if end < 0:
            break
        text = head[pos:end].decode("latin-1").strip()  # strip() also drops a CRLF's '\r'
        pos = end + 1
        if text == "end_header":
            header_bytes = min(pos, size)
        else:
            lines.append(text)
    if header_bytes is None:
        where = "in its first 1 MiB" if size > MAX_HEADER_BYTES else "(the file is truncated or not a PLY)"
        raise PlyHeaderError(path, f"the header has no 'end_header' line {where}")

    fmt = version = None
    elements: list[tuple[str, int, list[PlyProperty]]] = []
    comments: list[str] = []
    for lineno, text in enumerate(lines[1:], start=2):
        words = text.split()
        if not words:
            continue

        def bad(problem: str, lineno: int = lineno, text: str = text) -> PlyHeaderError:
            return PlyHeaderError(path, f"header line {lineno} {text[:80]!r}: {problem}")

        keyword = words[0]
        if keyword in ("comment", "obj_info"):
            comments.append(text[len(keyword):].strip())
        elif keyword == "format":
            if len(words) != 3 or words[1] not in PLY_FORMATS:
                raise bad(f"expected 'format <{'|'.join(PLY_FORMATS)}> 1.0'")
            if fmt is not None:
                raise bad("a second 'format' line")
            fmt, version = words[1], words[2]
        elif keyword == "element":
            if len(words) != 3:
                raise bad("expected 'element <name> <count>'")
            if not re.fullmatch(r"[+-]?\d+", words[2]):
                raise bad(f"the count {words[2]!r} is not an integer")
            digits = len(words[2].lstrip("+-").lstrip("0"))
            if digits > MAX_COUNT_DIGITS:  # int() of 4,300+ digits raises; no file holds 10**20 rows
                raise bad(f"the count has {digits:,} digits; no file holds that many rows (the header is corrupt)")
            count = int(words[2])
            if count < 0:
                raise bad("negative element count")
            elements.append((words[1], count, []))
        elif keyword == "property":
            if not elements:
                raise bad("a property before any element")
            is_list = len(words) > 1 and words[1] == "list"
            if len(words) != (5 if is_list else 3):
                raise bad("expected 'property <type> <name>' or 'property list <count type> <item type> <name>'")
            for t in words[1 + is_list : -1]:
                if t not in PLY_TYPES:
                    raise bad(f"unknown property type {t!r}; PLY types are {', '.join(PLY_TYPES)}")
            if is_list and PLY_TYPES[words[2]][0] == "f":
                raise bad("a list count type must be an integer type")
            if any(p.name == words[-1] for p in elements[-1][2]):
                raise bad(f"property {words[-1]!r} is declared twice in element {elements[-1][0]!r}")
            elements[-1][2].append(PlyProperty(words[-1], words[-2], words[2] if is_list else None))
        else:
            raise bad(f"unknown header keyword {keyword!r}")
    if fmt is None:
        raise PlyHeaderError(path, "the header has no 'format' line")
    elements_ = tuple(PlyElement(name, count, tuple(props)) for name, count, props in elements)
    return PlyHeader(path, fmt, version, elements_, tuple(comments), header_bytes, size)
