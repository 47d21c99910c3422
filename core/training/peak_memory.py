"""A process's resident memory at its peak: read through the Linux ``/proc`` files, and reset before each
run or calibration so that the peak it adds can be read back (nothing here imports Keras).
"""

from __future__ import annotations

import ctypes
import re
import resource
from pathlib import Path

STATUS_FIELDS = re.compile(r"^(VmHWM|VmRSS):\s+(\d+) kB$", re.MULTILINE)


def peak_memory_mb() -> float:
    """This process's peak resident memory since the last run or calibration began (``reset_peak_memory``
    resets the high-water mark to measure each), or since it started.
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_kb() -> dict[str, int] | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = dict(STATUS_FIELDS.findall(status))
    return {name: int(value) for name, value in found.items()} if len(found) == 2 else None


def reset_peak_memory() -> float | None:
    """Hand freed heap back to the system and reset this process's resident high-water mark; returns
    the resident memory now in MB (None where that cannot be done, e.g. outside Linux).
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")
    except (OSError, AttributeError):
        return None
    memory = _memory_kb()
    return memory["VmRSS"] / 1024 if memory else None


def peak_memory_above(baseline: float | None) -> float | None:
    """MB the process's resident memory rose above ``baseline`` at its peak since the reset."""
    memory = _memory_kb()
    if baseline is None or memory is None:
        return None
    return max(memory["VmHWM"] / 1024 - baseline, 0.0)
