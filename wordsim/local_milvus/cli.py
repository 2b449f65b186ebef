"""``python -m wordsim.local_milvus serve`` (until SIGINT/SIGTERM) or ``run -- CMD [ARGS...]``
(Milvus while CMD runs, CMD with WORDSIM_MILVUS_URI set): what ``make run`` uses.

Both supervise Milvus (``supervisor``): restarted when it dies; when it cannot be kept up,
``run`` stops CMD and both exit with status 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import subprocess
import sys

from wordsim.local_milvus.launcher import LocalMilvus, LocalMilvusError
from wordsim.local_milvus.sandbox import STOP_SIGNALS, Stop, raise_stop
from wordsim.local_milvus.supervisor import Abandoned, GaveUp, Supervisor

LOG = logging.getLogger("wordsim.local_milvus")
CMD_GRACE_S = 30.0
"""How long CMD may take to stop once Milvus is given up on; then it is killed."""


def _exited_within(child: subprocess.Popen, seconds: float) -> bool:
    try:
        child.wait(seconds)
        return True
    except subprocess.TimeoutExpired:
        return False


def _run_command(lm: LocalMilvus, cmd: list[str], restarts: int) -> int:
    """Run ``cmd`` with WORDSIM_MILVUS_URI set, restarting Milvus when it dies; our stop
    signals go to it."""
    # Where the local server is, so that CMD finds its stored password if it has one.
    env = dict(
        os.environ,
        WORDSIM_MILVUS_URI=lm.uri,
        WORDSIM_LOCAL_MILVUS_PORT=str(lm.port),
        WORDSIM_LOCAL_MILVUS_DATA_DIR=str(lm.data_dir),
    )
    child = subprocess.Popen(cmd, env=env, process_group=0)
    # Its own process group, made the terminal's foreground one: Ctrl+C reaches it once, not twice.
    tty = sys.stdin.isatty() and os.tcgetpgrp(0) == os.getpgrp()
    if tty:
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        os.tcsetpgrp(0, child.pid)
        os.killpg(child.pid, signal.SIGCONT)  # in case it touched the terminal before that
    for sig in (*STOP_SIGNALS, signal.SIGHUP):
        signal.signal(sig, lambda n, _f: child.send_signal(n))
    code = _supervise(lm, child, Supervisor(lm, restarts, wait=lambda s: _exited_within(child, s)))
    if tty:
        os.tcsetpgrp(0, os.getpgrp())
    return code


def _supervise(lm: LocalMilvus, child: subprocess.Popen, supervisor: Supervisor) -> int:
    """Until ``child`` exits (its exit status, shell-style), keep Milvus up; 1 if given up."""
    pidfd = os.pidfd_open(child.pid) if hasattr(os, "pidfd_open") else None
    try:
        while child.poll() is None:
            try:
                supervisor.check()
            except Abandoned:
                break
            except GaveUp as exc:
                LOG.error("%s; stopping the command", exc)
                child.terminate()
                if not _exited_within(child, CMD_GRACE_S):
                    child.kill()
                    child.wait()
                return 1
            # Wakes when Milvus or the child dies; the timeout only bounds a missed wake-up.
            select.select([fd for fd in (lm.fileno(), pidfd) if fd is not None and fd >= 0], [], [], 1.0)
    finally:
        if pidfd is not None:
            os.close(pidfd)
    code = child.wait()
    return 128 - code if code < 0 else code


def _serve(lm: LocalMilvus, restarts: int) -> int:
    """Keep Milvus up until a stop signal (:class:`Stop`); 1 if given up."""
    supervisor = Supervisor(lm, restarts)
    while True:
        try:
            supervisor.check()
        except GaveUp as exc:
            LOG.error("%s", exc)
            return 1
        select.select([lm.fileno()], [], [], 1.0)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``serve`` or ``run -- CMD [ARGS...]``."""
    parser = argparse.ArgumentParser(
        prog="python -m wordsim.local_milvus", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="{serve,run}")
    for name, text in (
        ("serve", "run Milvus until SIGINT/SIGTERM"),
        ("run", "run Milvus while CMD runs, CMD with WORDSIM_MILVUS_URI set"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--port", type=int, help="default: WORDSIM_LOCAL_MILVUS_PORT")
        p.add_argument("--data-dir", help="default: WORDSIM_LOCAL_MILVUS_DATA_DIR")
        if name == "run":
            p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cmd = getattr(args, "cmd", [])
    cmd = cmd[1:] if cmd[:1] == ["--"] else cmd
    if args.action == "run" and not cmd:
        parser.error("run needs a command: run -- CMD [ARGS...]")
    for sig in STOP_SIGNALS:
        signal.signal(sig, raise_stop)  # a stop during start-up aborts it; start() cleans up
    lm = LocalMilvus(port=args.port, data_dir=args.data_dir)
    try:
        lm.start()
        restarts = lm.settings.local_milvus_restarts
        return _run_command(lm, cmd, restarts) if args.action == "run" else _serve(lm, restarts)
    except LocalMilvusError as exc:
        LOG.error("%s", exc)
        return 1
    except (Stop, KeyboardInterrupt):
        return 0
    finally:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)  # let the stop finish; it is bounded anyway
        lm.stop()
