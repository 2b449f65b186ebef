"""The isolated side of the local Milvus server: the process the launcher spawns.

It enters fresh namespaces (``namespaces``), starts Milvus 2.3.5 in there, and relays the
listening socket it inherited from the host namespace (bound to 127.0.0.1) to Milvus's
proxy. Milvus's stray files (``/tmp/milvus``, ``/run/milvus``) land in
``<data dir>/sandbox``; when this process dies, the PID namespace, Milvus included, dies
with it.

    python -m wordsim.local_milvus.sandbox --data-dir DIR --listen-fd FD   # isolated (normal case)
    python -m wordsim.local_milvus.sandbox --data-dir DIR --port PORT --authenticate  # no namespaces

Its stdout is a status pipe to the parent (``status``): one line once Milvus answers or
failed to, and one more if Milvus dies later.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from wordsim.local_milvus.milvus_config import INNER_PORT, drop_stale_sessions, server_config
from wordsim.local_milvus.namespaces import PR_SET_PDEATHSIG, enter_namespaces, libc_call, mount_own_proc
from wordsim.local_milvus.relay import start_relay
from wordsim.local_milvus.status import State, Status

if TYPE_CHECKING:
    from milvus import MilvusServer

LOG = logging.getLogger("wordsim.local_milvus")
MILVUS_GRACE_S = 15.0
"""How long Milvus may take to stop after SIGTERM; the launcher waits longer than this."""
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stop(Exception):
    """A stop signal arrived."""


def raise_stop(*_: object) -> None:
    raise Stop


def run_isolated(data_dir: Path, listen_fd: int | None, port: int | None, authenticate: bool = False) -> int:
    """Run Milvus (namespaced unless ``port`` is given) until told to stop."""
    status = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stdout is the status pipe; anything else printed goes to stderr
    if listen_fd is not None:
        try:
            enter_namespaces(data_dir)
        except OSError as exc:
            Status(State.NOISOLATION, str(exc)).send(status)
            return 3
        child = os.fork()
        if child:  # outside the PID namespace: relay stop signals, exit with the child
            for sig in STOP_SIGNALS:
                signal.signal(sig, lambda n, _f: os.kill(child, n))
            status.close()
            return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        libc_call("prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # relay gone -> namespace gone
        mount_own_proc()
    for sig in STOP_SIGNALS:  # PID 1 ignores the signals it has no handler for
        signal.signal(sig, raise_stop)
    from milvus import MilvusServer

    config = server_config(str(data_dir), authenticated=authenticate)
    server = MilvusServer(config, wait_for_started=False, proxy_port=port or INNER_PORT)
    try:
        server.start()
        _wait_healthy(server, drop_stale=listen_fd is not None)  # else 2379 may be another's etcd
        try:
            import uvloop

            return uvloop.run(_serve(server, listen_fd, status))
        except ImportError:
            return asyncio.run(_serve(server, listen_fd, status))
    except Stop:
        return 0
    except Exception as exc:  # reported to the parent, which raises it
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # the parent's stop() must not cut this
        LOG.exception("local Milvus helper failed")
        Status(State.ERROR, str(exc)).send(status)
        return 1
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # a second stop must not cut this
        _stop_milvus(server)


def _stop_milvus(server: MilvusServer) -> None:
    proc = server.server_proc
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(MILVUS_GRACE_S)
        except subprocess.TimeoutExpired:
            LOG.warning("Milvus ignored SIGTERM for %.0f s; killing it", MILVUS_GRACE_S)
    server.stop()


def _wait_healthy(server: MilvusServer, drop_stale: bool) -> None:
    while server.server_proc.poll() is None:
        if drop_stale:  # from the start: start-up itself retries against the dead nodes
            drop_stale_sessions()
        with contextlib.suppress(OSError):
            url = f"http://127.0.0.1:{server.webservice_port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as resp:
                if b"OK" in resp.read():
                    return
        time.sleep(0.1)
    raise RuntimeError(f"milvus exited with {server.server_proc.returncode} during start-up")


async def _serve(server: MilvusServer, listen_fd: int | None, status: TextIO) -> int:
    """Forward ``listen_fd`` (if any) until a stop signal, EOF on stdin, or Milvus exits."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(0, lambda: os.read(0, 4096) or stop.set())
    if listen_fd is not None:
        await start_relay(listen_fd, INNER_PORT)
    Status(State.READY).send(status)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
        if server.server_proc.poll() is not None:  # the launcher's supervisor logs it, and restarts
            with contextlib.suppress(OSError):
                Status(State.EXITED, str(server.server_proc.returncode)).send(status)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the spawned process (not meant to be run by hand)."""
    parser = argparse.ArgumentParser(prog="wordsim.local_milvus.sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--listen-fd", type=int)
    parser.add_argument("--port", type=int)
    parser.add_argument("--authenticate", action="store_true", help="Milvus' authentication on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_isolated(args.data_dir, args.listen_fd, args.port, args.authenticate)


if __name__ == "__main__":
    sys.exit(main())
