"""Process-level settings that make CPU work fast; applied by the CLI and the benchmarks.

The pure-torch renderer and the trainer allocate and free tensors of tens to hundreds of MB
many times per call. glibc serves such sizes with fresh ``mmap`` pages and returns them on
free, so every temporary pays page faults on first touch; on the 2-core VMs we measured this
was over half of the render time (65k Gaussians at 256x256: 3.4 s -> 1.2 s forward+backward
once fixed). Raising glibc's mmap and trim thresholds keeps freed memory in the heap for
reuse. It is process-wide (freed memory up to the threshold is not handed back to the OS), so
it is an explicit call, not an import side effect. The same effect can be had with
``LD_PRELOAD`` of jemalloc or tcmalloc, as PyTorch's CPU tuning guide suggests.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_tuned = False


def tune_cpu_allocator(threshold_bytes: int = 1 << 30) -> bool:
    """Keep freed allocations below ``threshold_bytes`` in the heap (glibc only).

    Returns True if the allocator was tuned (now or earlier), False where it does not apply
    (not Linux/glibc) or when ``LYRA_SIM_TUNE_MALLOC=0`` is set.
    """
    global _tuned
    if _tuned:
        return True
    if os.environ.get("LYRA_SIM_TUNE_MALLOC", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc without mallopt
        return False
    value = ctypes.c_int(min(threshold_bytes, 2**31 - 1))
    _tuned = bool(mallopt(_M_MMAP_THRESHOLD, value)) and bool(mallopt(_M_TRIM_THRESHOLD, value))
    return _tuned


def tune_openmp_wait() -> bool:
    """Let torch's idle OpenMP threads sleep instead of spin (``OMP_WAIT_POLICY=PASSIVE``),
    unless the user chose a policy.

    Torch's CPU build runs every parallel op on a team of ``torch.get_num_threads()`` threads
    (all cores by default). When another process holds a core, one member of the team waits for
    the CPU while the others spin at the op's barrier, so ops that take microseconds take a
    scheduler tick: the depth views of a 10k-splat export took 225 s instead of 8 s with one
    core busy (``bench/omp_wait.py``). libgomp reads the policy once, when torch is first
    imported, so this must run before that; it returns False (and changes nothing) when torch
    is already imported or ``OMP_WAIT_POLICY`` is set.
    """
    if "torch" in sys.modules or "OMP_WAIT_POLICY" in os.environ:
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True
