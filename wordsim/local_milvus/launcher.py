"""Start, watch and stop the local Milvus server: :class:`LocalMilvus`, a context manager.

It binds 127.0.0.1:<port> here, in the host's network namespace, and hands that socket
to the sandbox process it spawns (``python -m wordsim.local_milvus.sandbox``), which runs
Milvus where nothing else can reach it. Only the sandbox holds the data dir's lock and
the socket: when it dies, the data dir is free and clients are refused, not left hanging.
"""

from __future__ import annotations

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
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wordsim.local_milvus.milvus_config import MILVUS_VERSION
from wordsim.local_milvus.protection import credentials_path, exposure, secure_root
from wordsim.local_milvus.sandbox import MILVUS_GRACE_S
from wordsim.local_milvus.status import State, Status
from wordsim.logs import limit_milvus_client_logs
from wordsim.settings import Settings, load_settings

LOG = logging.getLogger("wordsim.local_milvus")
SANDBOX_MODULE = "wordsim.local_milvus.sandbox"


class LocalMilvusError(RuntimeError):
    """The local Milvus server could not be started."""


@dataclass(frozen=True)
class Death:
    """What ended a running local Milvus by itself: ``milvus`` or the sandbox process."""

    what: str
    code: int | None
    logs: Path

    def __str__(self) -> str:
        how = f"exit code {self.code}"
        if self.code is not None and self.code < 0:
            with contextlib.suppress(ValueError):
                how = f"killed by {signal.Signals(-self.code).name}"
        return f"{self.what} died ({how}; Milvus' logs in {self.logs})"


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
        self._status_rest = b""  # what the sandbox said after its first status line
        self.token = ""  # root's, when Milvus' authentication is on (no namespaces)

    @property
    def uri(self) -> str:
        """``http://127.0.0.1:<port>``, for ``MilvusClient`` or WORDSIM_MILVUS_URI."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server process (the helper that owns Milvus) is alive."""
        return self._proc is not None and self._proc.poll() is None

    def fileno(self) -> int:
        """The sandbox's status pipe, for ``select``: readable when Milvus or the sandbox dies
        (``-1`` when none runs)."""
        return -1 if self._proc is None or self._proc.stdout is None else self._proc.stdout.fileno()

    def exited(self) -> Death | None:
        """What died, once the server is gone by itself; None while it runs (or was stopped)."""
        if self._proc is None or self._proc.poll() is None:
            return None
        code = self._proc.returncode
        assert self._proc.stdout is not None
        said = (self._status_rest + self._proc.stdout.read()).decode(errors="replace")  # writers gone: EOF
        self._status_rest = b""
        status = Status.parse(said.strip().splitlines()[-1] if said.strip() else "")
        if status.state is State.EXITED:
            return Death("milvus", int(status.detail), self.data_dir / "logs")
        return Death("the sandbox process", code, self.data_dir / "logs")

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
            unisolated = None  # why namespaces failed, when they did
            with self._lock() as lock, self._listen() as sock:
                status = self._spawn(
                    ["--listen-fd", str(sock.fileno())], [lock.fileno(), sock.fileno()], deadline
                )
                if status.state is State.NOISOLATION:  # then Milvus' own authentication protects it
                    unisolated = status.detail
                    self._reap()
                    sock.close()  # Milvus binds the port itself
                    status = self._spawn(
                        ["--port", str(self.port), "--authenticate"], [lock.fileno()], deadline
                    )
            if status.state is not State.READY:
                code = self._proc.poll() if self._proc else None
                raise LocalMilvusError(
                    f"local Milvus failed to start ({status.detail or f'helper exit {code}'}); "
                    f"see the logs in {self.data_dir / 'logs'}"
                )
            if unisolated is not None:
                try:
                    self.token = secure_root(self.uri, self.data_dir, deadline)
                except TimeoutError as exc:
                    raise LocalMilvusError(str(exc)) from None
            self._check_client(deadline)
        except BaseException:
            self.stop()
            raise
        LOG.info(
            "local Milvus %s ready at %s (data in %s) in %.1f s",
            MILVUS_VERSION,
            self.uri,
            self.data_dir,
            time.monotonic() - t0,
        )
        self._log_protection(unisolated)

    def _log_protection(self, unisolated: str | None) -> None:
        """Say how the local Milvus is kept from other hosts; list what it cannot keep."""
        if unisolated is None:
            LOG.info(
                "local Milvus protection: user/network namespaces, only 127.0.0.1:%d reaches it", self.port
            )
            return
        loopback, everywhere = exposure(self._proc.pid) if self._proc else ([], [])
        internal = [port for port in everywhere if port != self.port]
        LOG.warning(
            "local Milvus protection: no user namespaces (%s), so Milvus' authentication is on (root's "
            "password in %s, mode 0600, used by the service and the ingest). On 127.0.0.1 only: %s. "
            "ON ALL INTERFACES, as Milvus %s cannot bind them to one address: %d (the API, password "
            "required) and Milvus' internal ports %s (no authentication): block them from other hosts "
            "with a firewall, or allow unprivileged user namespaces (see README, Security)",
            unisolated,
            credentials_path(self.data_dir),
            ", ".join(map(str, loopback)) or "none",
            MILVUS_VERSION,
            self.port,
            ", ".join(map(str, internal)) or "(none found)",
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
        # Not listening yet: until the sandbox relays it to a Milvus that answers, connections
        # are refused at once (a client fails fast, then reconnects), not queued and left hanging.
        self.port = sock.getsockname()[1]
        return sock

    def _spawn(self, extra: list[str], fds: list[int], deadline: float) -> Status:
        """Start the sandbox; return the status it reports."""
        args = [sys.executable, "-m", SANDBOX_MODULE, "--data-dir", str(self.data_dir)]
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
        line, _, self._status_rest = buf.partition(b"\n")
        return Status.parse(line.decode(errors="replace"))

    def _check_client(self, deadline: float) -> None:
        from pymilvus import MilvusClient

        limit_milvus_client_logs()
        while True:
            try:
                timeout = max(1.0, deadline - time.monotonic())
                client = MilvusClient(uri=self.uri, token=self.token, timeout=timeout)
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
