"""CPU accounting of the local Milvus during the index study: the ``milvus`` process, its
threads' CPU seconds, the busiest second of a build, and its idle background cost."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
import time
from pathlib import Path

import psutil

from bench.common import tree_cpu_s

SAMPLE_S = 1.0
"""How often the Milvus tree's CPU is sampled during a build (its busiest second)."""
IDLE_S = 10.0
"""Seconds of idle Milvus CPU measured first: its background cost, to read the builds against."""


def milvus_process(root: int) -> psutil.Process:
    """The ``milvus`` binary among the local server's processes."""
    for p in [psutil.Process(root), *psutil.Process(root).children(recursive=True)]:
        if p.name() == "milvus":
            return p
    raise RuntimeError("no milvus process under the local server")


def thread_cpu(proc: psutil.Process) -> dict[int, tuple[str, float]]:
    """Thread id -> (name, CPU seconds so far) of one process."""
    out = {}
    for t in proc.threads():
        try:
            name = Path(f"/proc/{proc.pid}/task/{t.id}/comm").read_text().strip()
        except OSError:
            name = "?"
        out[t.id] = (name, t.user_time + t.system_time)
    return out


class CpuSampler(threading.Thread):
    """The busiest interval's cores of a process tree, sampled every ``SAMPLE_S``."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak = root, 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        last_t, last_c = time.perf_counter(), tree_cpu_s(self.root)
        while not self._stop_event.wait(SAMPLE_S):
            t, c = time.perf_counter(), tree_cpu_s(self.root)
            self.peak = max(self.peak, (c - last_c) / (t - last_t))
            last_t, last_c = t, c

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak


def idle_cores(root: int) -> float:
    """Cores the idle Milvus tree uses (its background ticks)."""
    c0, t0 = tree_cpu_s(root), time.perf_counter()
    time.sleep(IDLE_S)
    return (tree_cpu_s(root) - c0) / (time.perf_counter() - t0)


_STEPS = (
    ("received", "IndexNode building index ..."),
    ("data_ready", "index params are ready"),
    ("built", "Successfully build index"),
    ("saved", "Successfully save index files"),
    ("finished", "this task has been finished"),
)
"""Milvus 2.3.5's log lines of one index task (indexnode/task.go, datacoord/index_builder.go),
in order: task received, raw vectors read and decoded, index built, files written, noticed."""


def build_steps(log_text: str) -> list[dict[str, float]]:
    """Per index task (one per segment) in a Milvus log excerpt: seconds of reading the raw
    data, building, saving, and until datacoord noticed (FLAT has no task: an empty list)."""
    seen: dict[str, dict[str, float]] = {}
    for line in log_text.splitlines():
        for step, marker in _STEPS:
            build_id = re.search(r"\[(?:indexBuildID|buildID)=(\d+)\]", line)
            if marker in line and build_id:
                stamp = dt.datetime.strptime(line[1:24], "%Y/%m/%d %H:%M:%S.%f").timestamp()
                seen.setdefault(build_id.group(1), {}).setdefault(step, stamp)
    out = []
    for times in seen.values():
        names = [s for s, _ in _STEPS if s in times]
        out.append({f"{b}_s": times[b] - times[a] for a, b in itertools.pairwise(names)})
    return out
