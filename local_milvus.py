"""A private Milvus 2.3.5 standalone server (PyPI ``milvus``, no Docker) reachable only on 127.0.0.1.

Milvus listens on every interface, unauthenticated, whatever its ``ip:`` settings say. So it
runs in fresh user, network, mount and PID namespaces where only ``lo`` exists, and a
forwarder in there relays a socket bound to 127.0.0.1:<port> in the host namespace to it
(that side is ``milvus_sandbox.py``; this module starts, watches and stops it).

    python local_milvus.py serve                 # until SIGINT/SIGTERM
    python local_milvus.py run -- CMD [ARGS...]  # CMD gets WORDSIM_MILVUS_URI
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

from config import Settings, load_settings
from milvus_sandbox import MILVUS_GRACE_S, STOP_SIGNALS, VERSION, Stop, raise_stop

LOG = logging.getLogger("wordsim.local_milvus")
SANDBOX_SCRIPT = Path(__file__).resolve().with_name("milvus_sandbox.py")


class LocalMilvusError(RuntimeError):
    """The local Milvus server could not be started."""


class LocalMilvus:
    """A local Milvus server on 127.0.0.1:<port> with data in ``data_dir``; a context manager."""

    def __init__(
        self, settings: Settings | None = None, *, port: int | None = None, data_dir: str | Path | None = None
    ) -> None:
        self.settings = settings or load_settings()
        self.port = self.settings.local_milvus_port if port is None else port  # 0: any free port
        self.data_dir = Path(data_dir or self.settings.local_milvus_data_dir).resolve()
        self.pid_file = self.data_dir / "local_milvus.pid"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        """``http://127.0.0.1:<port>``, for ``MilvusClient`` or WORDSIM_MILVUS_URI."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server process (the helper that owns Milvus) is alive."""
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> LocalMilvus:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float | None = None) -> None:
        """Start; return once ``list_collections()`` through the forwarder succeeds."""
        if self.running:
            return
        self.stop()  # reap a helper that died on its own
        t0 = time.monotonic()
        deadline = t0 + (timeout or self.settings.local_milvus_start_timeout_s)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            # Only the helper keeps the lock and the socket: when it dies the data dir is free,
            # and clients are refused rather than left hanging.
            with self._lock() as lock, self._listen() as sock:
                status = self._spawn(
                    ["--listen-fd", str(sock.fileno())], [lock.fileno(), sock.fileno()], deadline
                )
                if status.startswith("NOISOLATION"):
                    self._reap()
                    self._refuse_or_warn(status[12:])
                    sock.close()
                    status = self._spawn(["--port", str(self.port)], [lock.fileno()], deadline)
            if status != "READY":
                code = self._proc.poll() if self._proc else None
                raise LocalMilvusError(
                    f"local Milvus failed to start ({status or f'helper exit {code}'}); "
                    f"see the logs in {self.data_dir / 'logs'}"
                )
            self._check_client(deadline)
        except BaseException:
            self.stop()
            raise
        LOG.info(
            "local Milvus %s ready at %s (data in %s) in %.1f s",
            VERSION,
            self.uri,
            self.data_dir,
            time.monotonic() - t0,
        )

    def stop(self, timeout: float = MILVUS_GRACE_S + 10) -> None:
        """Stop: SIGTERM, SIGKILL to all that is left after ``timeout``; a no-op when stopped."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    LOG.warning("local Milvus did not stop in %.0f s; killing it", timeout)
            self._reap()
            with contextlib.suppress(OSError):
                self.pid_file.write_text("")  # a pid left in it means "did not stop cleanly"
            LOG.info("local Milvus stopped")

    def _lock(self) -> BinaryIO:
        lock = os.fdopen(os.open(self.pid_file, os.O_RDWR | os.O_CREAT, 0o644), "r+b")
        old = lock.read(64).decode(errors="replace").strip()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise LocalMilvusError(
                f"a local Milvus for {self.data_dir} is still running (pid {old or '?'} in {self.pid_file}); "
                f"stop it first, e.g. kill {old or '<pid>'}"
            ) from None
        if old:
            LOG.warning("the previous local Milvus on %s (pid %s) did not stop cleanly", self.data_dir, old)
        return lock

    def _listen(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # last run's conns in TIME_WAIT
        try:
            sock.bind(("127.0.0.1", self.port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise LocalMilvusError(
                    f"port {self.port} on 127.0.0.1 is already in use; pick another "
                    "with WORDSIM_LOCAL_MILVUS_PORT (or --port)"
                ) from None
            raise
        sock.listen(256)
        self.port = sock.getsockname()[1]
        return sock

    def _refuse_or_warn(self, why: str) -> None:
        if not self.settings.local_milvus_allow_exposed:
            raise LocalMilvusError(
                f"cannot confine the local Milvus to 127.0.0.1: creating user/network namespaces failed "
                f"({why}), and without them Milvus {VERSION} listens on ALL interfaces with no "
                "authentication. Allow unprivileged user namespaces (sysctl user.max_user_namespaces=15000, "
                "kernel.unprivileged_userns_clone=1 or kernel.apparmor_restrict_unprivileged_userns=0), "
                "use another Milvus (WORDSIM_MILVUS_URI), or accept the exposure with "
                "WORDSIM_LOCAL_MILVUS_ALLOW_EXPOSED=1"
            )
        LOG.warning(
            "!!! no namespaces (%s): local Milvus ports %d, 19529, 53100, 9091, ... LISTEN ON "
            "ALL INTERFACES with NO AUTHENTICATION (WORDSIM_LOCAL_MILVUS_ALLOW_EXPOSED=1) !!!",
            why,
            self.port,
        )

    def _spawn(self, extra: list[str], fds: list[int], deadline: float) -> str:
        """Start the helper; return its status line (READY, ERROR ..., NOISOLATION ...)."""
        args = [sys.executable, str(SANDBOX_SCRIPT), "--data-dir", str(self.data_dir)]
        # Its stdin is a pipe from us: EOF there means we died. Its own session: a terminal's
        # Ctrl+C reaches only us, and we stop things in order.
        self._proc = subprocess.Popen(
            args + extra,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=fds,
            start_new_session=True,
            cwd=self.data_dir,
        )
        assert self._proc.stdout is not None
        os.ftruncate(fds[0], 0)
        os.pwrite(fds[0], f"{self._proc.pid}\n".encode(), 0)
        fd, buf = self._proc.stdout.fileno(), b""
        while not buf.endswith(b"\n"):
            if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise LocalMilvusError(
                    f"local Milvus not ready within the start timeout (see "
                    f"{self.data_dir / 'logs'}); WORDSIM_LOCAL_MILVUS_START_TIMEOUT_S"
                )
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
        return buf.decode(errors="replace").strip()

    def _check_client(self, deadline: float) -> None:
        from pymilvus import MilvusClient

        while True:
            try:
                client = MilvusClient(uri=self.uri, timeout=max(1.0, deadline - time.monotonic()))
                try:
                    client.list_collections()
                    return
                finally:
                    client.close()
            except Exception as exc:  # any client error means "not ready yet"
                if time.monotonic() > deadline or not self.running:
                    raise LocalMilvusError(f"local Milvus at {self.uri} does not answer: {exc}") from exc
                time.sleep(0.2)

    def _reap(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # what is left of its session, Milvus included
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()


# --------------------------------------------------------------------------- helper process


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
    parser = argparse.ArgumentParser(prog="local_milvus.py", description=__doc__.splitlines()[0])
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


if __name__ == "__main__":
    sys.exit(main())
