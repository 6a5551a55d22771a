"""File-system helpers shared by every writer: atomic, non-clobbering output."""

from lyra_sim.io.atomic import atomic_directory, atomic_output, check_writable

__all__ = ["atomic_directory", "atomic_output", "check_writable"]
