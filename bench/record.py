"""What a results file records of its run besides the figures: the command, date, machine
and code (``run_meta``), without the raw samples kept in bench/out only (``strip_private``)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys

from bench.common import PROJECT_DIR


def run_meta(module: str) -> dict:
    """What a results file says of its run: the command, date, machine, Milvus and code."""
    from wordsim.local_milvus.milvus_config import MILVUS_VERSION

    return {
        "command": " ".join([".venv/bin/python", "-m", module, *sys.argv[1:]]),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "backend": f"local Milvus {MILVUS_VERSION} server",
        "loadavg_start": os.getloadavg(),
        "git": git_state(),
    }


def git_state() -> dict:
    """The commit measured and the files that differ from it (read-only git calls)."""

    def git(*args: str) -> str:
        res = subprocess.run(["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
        return res.stdout.rstrip()  # not strip(): porcelain lines start with a space

    return {
        "commit": git("rev-parse", "--short", "HEAD").strip(),
        "changed": git("status", "--porcelain").splitlines(),
    }


def strip_private(obj):
    """Drop keys starting with ``_`` (raw samples kept in bench/out only)."""
    if isinstance(obj, dict):
        return {k: strip_private(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, list):
        return [strip_private(v) for v in obj]
    return obj
