"""Shared helpers of the benchmark: paths, ports, child processes, RSS, percentiles."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

from bench.probes.protocol import HEALTH_ROUTE, HOST, last_json
from bench.units import KIB, MIB
from wordsim.netutil import free_port as free_port  # the one definition, re-exported for bench/

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
"""Scratch space of a run (git-ignored): logs, raw samples, vectors, the Milvus data."""
PYTHON = sys.executable
HEALTH_POLL_S = 0.02
"""How often /health is polled while a server starts (cold start resolution)."""
STOP_GRACE_S = 15.0
"""How long a stopped server may take to exit before it is killed."""


def probe_cmd(name: str, *args: str) -> list[str]:
    """The command that runs ``bench/probes/<name>.py``; start it with ``cwd=PROJECT_DIR``
    (``Service`` and ``run_logged`` do), where ``-m`` finds the ``bench`` package."""
    return [PYTHON, "-m", f"bench.probes.{name}", *args]


def child_env(**extra: str) -> dict[str, str]:
    """The caller's environment (its WORDSIM_* settings kept) plus ``extra``."""
    env = dict(os.environ)
    env.update({"PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"})
    env.update(extra)
    return env


def summarize(latencies_ms: Sequence[float]) -> dict[str, float]:
    """n, mean and the usual percentiles of a latency sample, in ms."""
    arr = np.asarray(latencies_ms, dtype=np.float64)
    if arr.size == 0:
        return {"n": 0}
    pct = np.percentile(arr, [50, 90, 99, 99.9])
    return {
        "n": int(arr.size),
        "mean": float(arr.mean()),
        "p50": float(pct[0]),
        "p90": float(pct[1]),
        "p99": float(pct[2]),
        "p999": float(pct[3]),
        "max": float(arr.max()),
    }


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """Status of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


class Service:
    """A server started as a child process in its own session, logging to a file."""

    def __init__(
        self, name: str, cmd: list[str], env: dict[str, str], port: int, cwd: Path = PROJECT_DIR
    ) -> None:
        self.name = name
        self.cwd = cwd
        """Where it runs: another checkout's server imports that checkout's ``wordsim``."""
        self.cmd = cmd
        self.env = env
        self.port = port
        self.log_path = OUT_DIR / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")  # this run only
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            self.cmd,
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def wait_ready(self, timeout: float) -> float:
        """Seconds from spawn to the first 200 of /health."""
        assert self.proc is not None
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            if http_status(self.base_url + HEALTH_ROUTE) == 200:
                return time.perf_counter() - self.started_at
            time.sleep(HEALTH_POLL_S)
        raise RuntimeError(f"{self.name} not ready within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL to its whole session after a grace period."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_GRACE_S)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def __enter__(self) -> Service:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def cpu_s(proc: psutil.Process) -> float:
    """CPU seconds (user + system) so far of one process."""
    t = proc.cpu_times()
    return t.user + t.system


def tree_sum(pid: int, measure: Callable[[psutil.Process], float]) -> float:
    """``measure`` summed over a process and its live descendants (0 if it is gone)."""
    total = 0.0
    for p in descendants(pid):
        with contextlib.suppress(psutil.Error):
            total += measure(p)
    return total


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (0 if it is gone)."""
    return int(tree_sum(pid, lambda p: p.memory_info().rss))


class RssSampler(threading.Thread):
    """Samples the RSS of named process trees once per ``interval`` seconds."""

    def __init__(self, roots: dict[str, int], interval: float = 1.0) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.roots = roots
        self.interval = interval
        self.samples: list[dict[str, float]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        t0 = time.perf_counter()
        while not self._stop_event.is_set():
            row = {"t": time.perf_counter() - t0}
            row.update({name: tree_rss(pid) / MIB for name, pid in self.roots.items()})
            self.samples.append(row)
            self._stop_event.wait(self.interval)

    def stop(self) -> list[dict[str, float]]:
        self._stop_event.set()
        self.join()
        return self.samples


@dataclass(frozen=True)
class Finished:
    """A child process run to completion."""

    code: int
    wall_s: float
    peak_rss_bytes: int
    cpu_s: float
    output: str

    def result(self) -> dict | None:
        """What a probe printed last (``protocol.emit``), or None if it failed."""
        return last_json(self.output) if self.code == 0 else None


def run_logged(cmd: list[str], env: dict[str, str], log_name: str) -> Finished:
    """Run ``cmd`` to completion with its output in ``out/<log_name>``.

    ``os.wait4`` gives the resource usage of exactly this child, so ``ru_maxrss`` is its
    own peak, not the maximum over every child this process has reaped.
    """
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    log_path = OUT_DIR / log_name
    with log_path.open("wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Finished(
        code=proc.returncode,
        wall_s=wall,
        peak_rss_bytes=usage.ru_maxrss * KIB,  # Linux reports ru_maxrss in KiB
        cpu_s=usage.ru_utime + usage.ru_stime,
        output=log_path.read_text(errors="replace"),
    )


def proc_cpu(pids: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds (user + system) consumed so far by each named group of processes."""
    out = {}
    for name, group in pids.items():
        total = 0.0
        for pid in group:
            with contextlib.suppress(psutil.Error):
                total += cpu_s(psutil.Process(pid))
        out[name] = total
    return out


def descendants(pid: int) -> list[psutil.Process]:
    """A process and all its descendants (empty if it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent not idle."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def tree_cpu_s(pid: int) -> float:
    """CPU seconds so far of a process and its live descendants."""
    return tree_sum(pid, cpu_s)


class OtherLoad:
    """Cores the rest of the machine used during a phase: all busy CPU minus this process,
    the watched process trees (e.g. Milvus) and the phase's own child (given at the end)."""

    def __init__(self, *roots: int) -> None:
        self.roots = roots
        self.t0 = time.perf_counter()
        self.busy0 = busy_cpu_s()
        self.self0 = time.process_time()
        self.trees0 = sum(tree_cpu_s(r) for r in roots)

    def cores(self, child_cpu_s: float = 0.0) -> float:
        wall = time.perf_counter() - self.t0
        ours = child_cpu_s + (time.process_time() - self.self0)
        ours += sum(tree_cpu_s(r) for r in self.roots) - self.trees0
        return max(0.0, (busy_cpu_s() - self.busy0 - ours) / wall)
