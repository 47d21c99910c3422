"""A memory limit for a group of processes, as Streamlit Community Cloud sets one for an app and its
child processes together: a Linux cgroup (version 1's memory controller, or version 2's ``memory.max``)
that processes join before they start, with its peak use, its out-of-memory kills, and a watch that
samples each member's resident memory.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import proc_mb, resident_mb

CGROUP_V1 = Path("/sys/fs/cgroup/memory")
CGROUP_V2 = Path("/sys/fs/cgroup")
MB = 1024 * 1024


@dataclass
class MemoryLimit:
    """One cgroup with a memory limit; ``join`` is a ``preexec_fn`` that puts a new process in it."""

    folder: Path
    version: int

    def _file(self, v1: str, v2: str) -> Path:
        return self.folder / (v1 if self.version == 1 else v2)

    def join(self) -> None:
        (self.folder / "cgroup.procs").write_text(str(os.getpid()))

    def set_limit(self, limit_bytes: int) -> None:
        """The group's limit, swap included (Community Cloud's container has no swap)."""
        memory = self._file("memory.limit_in_bytes", "memory.max")
        if self.version == 2:
            memory.write_text(str(limit_bytes))
            (self.folder / "memory.swap.max").write_text("0")
            return
        swap = self.folder / "memory.memsw.limit_in_bytes"  # at least the memory limit, always
        raising = limit_bytes > int(memory.read_text())
        for limit_file in (swap, memory) if raising else (memory, swap):
            if limit_file.exists():
                limit_file.write_text(str(limit_bytes))

    def usage_bytes(self) -> int:
        return int(self._file("memory.usage_in_bytes", "memory.current").read_text())

    def anonymous_bytes(self) -> int:
        """The group's own memory (heap and stacks), which only an out-of-memory kill can take back
        without swap; the rest is page cache the kernel can drop.
        """
        stat = dict(line.split() for line in (self.folder / "memory.stat").read_text().splitlines())
        return int(stat["total_rss"] if self.version == 1 else stat["anon"])

    def lower_to(self, target_bytes: int, step_bytes: int = 16 * MB) -> int:
        """Lower the limit step by step towards ``target_bytes`` (the kernel drops page cache on the
        way) as far as it accepts; the limit reached.
        """
        reached = self.usage_bytes()
        while reached - step_bytes >= target_bytes:
            try:
                self.set_limit(reached - step_bytes)
            except OSError:  # the kernel could not drop enough: this is as low as it goes now
                break
            reached -= step_bytes
        return reached

    def peak_bytes(self) -> int:
        """The most the group has used since it was made, page cache included."""
        return int(self._file("memory.max_usage_in_bytes", "memory.peak").read_text())

    def oom_kills(self) -> int:
        """How many of the group's processes the kernel has killed for want of memory."""
        text = self._file("memory.oom_control", "memory.events").read_text()
        counts = dict(line.split() for line in text.splitlines())
        return int(counts.get("oom_kill", 0))

    def pids(self) -> list[int]:
        return [int(pid) for pid in (self.folder / "cgroup.procs").read_text().split()]

    def members(self) -> dict[int, str]:
        """The group's running processes, each with its kind (``process_kind``)."""
        found = {}
        for pid in self.pids():
            try:
                found[pid] = process_kind(pid)
            except (OSError, ValueError):  # ended (or a zombie) between the listing and the read
                continue
        return found


@contextmanager
def memory_limit(limit_bytes: int, name: str = "cnnrnn-rehearsal") -> Iterator[MemoryLimit]:
    """A fresh cgroup limited to ``limit_bytes`` (version 1 where its memory controller is mounted,
    else version 2); removed on leaving, once its processes are gone.
    """
    if CGROUP_V1.is_dir():
        folder, version = CGROUP_V1 / f"{name}-{os.getpid()}-{time.time_ns()}", 1
    elif (CGROUP_V2 / "cgroup.controllers").exists():
        folder, version = CGROUP_V2 / f"{name}-{os.getpid()}-{time.time_ns()}", 2
    else:
        raise RuntimeError("no cgroup memory controller here: run as root on Linux with cgroups mounted")
    folder.mkdir()
    group = MemoryLimit(folder, version)
    try:
        group.set_limit(limit_bytes)
        yield group
    finally:
        for _ in range(50):
            try:
                folder.rmdir()
                break
            except OSError:  # members still ending
                time.sleep(0.2)


@dataclass
class Peaks:
    """The largest resident memory seen per process kind, and the largest proportional set size of
    the group's members together (pages they share counted once).
    """

    total_mb: float = 0.0
    by_kind: dict[str, float] = field(default_factory=dict)


class MemoryWatch:
    """Samples the resident memory of a group's members every ``interval`` seconds, from a thread."""

    def __init__(self, group: MemoryLimit, interval: float = 0.25) -> None:
        self.group = group
        self.interval = interval
        self.peaks = Peaks()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memory-watch", daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            total = 0.0
            for pid in self.group.pids():
                try:
                    resident = resident_mb(pid)
                    proportional = proportional_mb(pid)
                    kind = process_kind(pid)
                except (OSError, RuntimeError, ValueError):  # ended between the listing and the reads
                    continue
                total += proportional
                self.peaks.by_kind[kind] = max(self.peaks.by_kind.get(kind, 0.0), resident)
            self.peaks.total_mb = max(self.peaks.total_mb, total)


def proportional_mb(pid: int) -> float:
    """A process's proportional set size (Pss: each page it shares with n processes counts 1/n), in MB."""
    return proc_mb(pid, "smaps_rollup", "Pss")


def process_kind(pid: int) -> str:
    """ "web" for the streamlit server, "worker" for a training worker, else the program's name."""
    arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    if not arguments[0]:
        raise ValueError(f"process {pid} has ended")
    if b"streamlit" in arguments:
        return "web"
    if b"worker" in arguments:
        return "worker"
    return Path(arguments[0].decode()).name
