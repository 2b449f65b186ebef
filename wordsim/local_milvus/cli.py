"""``python -m wordsim.local_milvus serve`` (until SIGINT/SIGTERM) or ``run -- CMD [ARGS...]``
(Milvus while CMD runs, CMD with WORDSIM_MILVUS_URI set): what ``make run`` uses."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time

from wordsim.local_milvus.launcher import LocalMilvus, LocalMilvusError
from wordsim.local_milvus.sandbox import STOP_SIGNALS, Stop, raise_stop

LOG = logging.getLogger("wordsim.local_milvus")


def _run_command(lm: LocalMilvus, cmd: list[str]) -> int:
    """Run ``cmd`` with WORDSIM_MILVUS_URI set; our stop signals go to it."""
    child = subprocess.Popen(cmd, env=dict(os.environ, WORDSIM_MILVUS_URI=lm.uri), process_group=0)
    # Its own process group, made the terminal's foreground one: Ctrl+C reaches it once, not twice.
    tty = sys.stdin.isatty() and os.tcgetpgrp(0) == os.getpgrp()
    if tty:
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        os.tcsetpgrp(0, child.pid)
        os.killpg(child.pid, signal.SIGCONT)  # in case it touched the terminal before that
    for sig in (*STOP_SIGNALS, signal.SIGHUP):
        signal.signal(sig, lambda n, _f: child.send_signal(n))
    code = child.wait()
    if tty:
        os.tcsetpgrp(0, os.getpgrp())
    return 128 - code if code < 0 else code


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
        if args.action == "run":
            return _run_command(lm, cmd)
        while lm.running:
            time.sleep(0.5)
        LOG.error("local Milvus exited unexpectedly; see %s", lm.data_dir / "logs")
        return 1
    except LocalMilvusError as exc:
        LOG.error("%s", exc)
        return 1
    except (Stop, KeyboardInterrupt):
        return 0
    finally:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)  # let the stop finish; it is bounded anyway
        lm.stop()
