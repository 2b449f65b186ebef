"""A private Milvus 2.3.5 standalone server (PyPI ``milvus``, no Docker) reachable only on 127.0.0.1.

Milvus listens on every interface, unauthenticated, whatever its ``ip:`` settings say. So it
runs in fresh user, network, mount and PID namespaces where only ``lo`` exists, and a
forwarder in there relays a socket bound to 127.0.0.1:<port> in the host namespace to it.
Its stray files (``/tmp/milvus``, ``/run/milvus``) land in ``<data dir>/sandbox``, and
killing the helper process takes the whole namespace, Milvus included, with it.

    python local_milvus.py serve                 # until SIGINT/SIGTERM
    python local_milvus.py run -- CMD [ARGS...]  # CMD gets WORDSIM_MILVUS_URI
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import errno
import fcntl
import json
import logging
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

from config import Settings, load_settings

if TYPE_CHECKING:
    from milvus import MilvusServer

LOG = logging.getLogger("wordsim.local_milvus")
VERSION = "2.3.5"
INNER_PORT = 19530  # inside the namespace nothing else can hold it
_COMPONENTS = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode")
_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
_MS_BIND, _MS_REC, _MS_PRIVATE = 0x1000, 0x4000, 0x40000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x2, 0x4, 0x8
_MILVUS_GRACE_S = 15.0  # helper -> Milvus; LocalMilvus.stop() waits longer than this
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


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

    def stop(self, timeout: float = _MILVUS_GRACE_S + 10) -> None:
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
        args = [sys.executable, str(Path(__file__).resolve()), "_isolated", "--data-dir", str(self.data_dir)]
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


def _libc(name: str, *args: object) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def _enter_namespaces(data_dir: Path) -> None:
    """Become root of new user/net/mount/PID namespaces (single-threaded only), bring ``lo``
    up, and bind ``<data dir>/sandbox/{tmp,run}`` over /tmp and /run/milvus (or /run)."""
    uid, gid = os.getuid(), os.getgid()
    _libc("unshare", _CLONE_NEWUSER | _CLONE_NEWNET | _CLONE_NEWNS | _CLONE_NEWPID)
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        Path(f"/proc/self/{name}").write_text(text)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # SIOC[GS]IFFLAGS: ip link set lo up
        flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH22x", b"lo", 0))[:18])[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH22x", b"lo", flags | 1))
    _libc("mount", None, b"/", None, _MS_REC | _MS_PRIVATE, None)
    keep = os.open(data_dir, os.O_PATH | os.O_DIRECTORY)
    for target, name in (("/tmp", "tmp"), ("/run/milvus" if os.path.isdir("/run/milvus") else "/run", "run")):
        target = os.path.realpath(target)
        if os.path.isdir(target):
            (data_dir / "sandbox" / name).mkdir(parents=True, exist_ok=True)
            _libc("mount", bytes(data_dir / "sandbox" / name), target.encode(), None, _MS_BIND, None)
            if data_dir.is_relative_to(target):  # the data dir was under it: put it back in place
                data_dir.mkdir(parents=True, exist_ok=True)
                _libc("mount", f"/proc/self/fd/{keep}".encode(), bytes(data_dir), None, _MS_BIND, None)
    os.close(keep)


def _mount_own_proc() -> None:
    """Give this PID namespace a /proc of its own. Milvus's query node reads its memory use
    from /proc/<its pid>; through the host's /proc that pid is another process (kthreadd:
    0 bytes), and every sealed segment is refused with "get memory failed when
    checkSegmentSize", so a collection never finishes loading. A mount namespace of its own
    keeps the relay outside seeing the host's /proc."""
    _libc("unshare", _CLONE_NEWNS)
    _libc("mount", None, b"/", None, _MS_REC | _MS_PRIVATE, None)
    _libc("mount", b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None)


class _Stop(Exception):
    pass


def _raise_stop(*_: object) -> None:
    raise _Stop


def _run_helper(data_dir: Path, listen_fd: int | None, port: int | None) -> int:
    """``_isolated``: run Milvus (namespaced unless ``port`` is given) until told to stop."""
    status = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stdout is the status pipe; anything else printed goes to stderr
    if listen_fd is not None:
        try:
            _enter_namespaces(data_dir)
        except OSError as exc:
            print("NOISOLATION", exc, file=status, flush=True)
            return 3
        child = os.fork()
        if child:  # outside the PID namespace: relay stop signals, exit with the child
            for sig in _STOP_SIGNALS:
                signal.signal(sig, lambda n, _f: os.kill(child, n))
            status.close()
            return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        _libc("prctl", 1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: relay gone -> namespace gone
        _mount_own_proc()
    for sig in _STOP_SIGNALS:  # PID 1 ignores the signals it has no handler for
        signal.signal(sig, _raise_stop)
    from milvus import MilvusServer, MilvusServerConfig

    cfg = MilvusServerConfig(data_dir=str(data_dir))
    for comp in _COMPONENTS:
        cfg.set(f"{comp}.ip", "127.0.0.1")
    cfg.set("common.gracefulStopTimeout", 2)  # else a query node with loaded segments waits 30 min
    server = MilvusServer(cfg, wait_for_started=False, proxy_port=port or INNER_PORT)
    try:
        server.start()
        _wait_healthy(server, drop_stale=listen_fd is not None)  # else 2379 may be another's etcd
        try:
            import uvloop

            return uvloop.run(_serve(server, listen_fd, status))
        except ImportError:
            return asyncio.run(_serve(server, listen_fd, status))
    except _Stop:
        return 0
    except Exception as exc:  # reported to the parent, which raises it
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)  # the parent's stop() must not cut this
        LOG.exception("local Milvus helper failed")
        print("ERROR", exc, file=status, flush=True)
        return 1
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)  # a second stop must not cut this
        proc = server.server_proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(_MILVUS_GRACE_S)
            except subprocess.TimeoutExpired:
                LOG.warning("Milvus ignored SIGTERM for %.0f s; killing it", _MILVUS_GRACE_S)
        server.stop()


def _wait_healthy(server: MilvusServer, drop_stale: bool) -> None:
    while server.server_proc.poll() is None:
        if drop_stale:  # from the start: start-up itself retries against the dead nodes
            _drop_stale_sessions()
        with contextlib.suppress(OSError):
            url = f"http://127.0.0.1:{server.webservice_port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as resp:
                if b"OK" in resp.read():
                    return
        time.sleep(0.1)
    raise RuntimeError(f"milvus exited with {server.server_proc.returncode} during start-up")


def _drop_stale_sessions() -> None:
    """Delete the sessions a previous run left in etcd (Milvus 2.3.5 revokes few of them).

    Until their lease expires (30 s) the new components keep calling the dead ones: start-up
    and stop take longer, and strong and bounded searches stall on the dead proxy's time ticks.
    """

    def call(path: str, key: str, range_end: str = "") -> dict:
        body = {k: base64.b64encode(v.encode()).decode() for k, v in (("key", key), ("range_end", range_end))}
        req = urllib.request.Request(f"http://127.0.0.1:2379/v3/kv/{path}", json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=2) as resp:
            return json.load(resp)

    try:
        kvs = call("range", "by-dev/meta/session/", "by-dev/meta/session0").get("kvs", [])
        sessions = {
            base64.b64decode(kv["key"]).decode(): json.loads(base64.b64decode(kv["value"]))
            for kv in kvs
            if kv.get("lease")
        }  # "session/id", the id counter, has no lease
        sessions = {key: value["ServerID"] for key, value in sessions.items()}
        for key, server_id in sessions.items():
            if server_id < max(sessions.values()):  # all of this run's sessions share one, newer id
                call("deleterange", key)
                LOG.debug("dropped stale Milvus session %s", key)
    except (OSError, ValueError, KeyError) as exc:  # etcd not up yet; or it only stays slower
        LOG.debug("could not drop stale Milvus sessions: %s", exc)


async def _serve(server: MilvusServer, listen_fd: int | None, status: TextIO) -> int:
    """Forward ``listen_fd`` (if any) until a stop signal, EOF on stdin, or Milvus exits."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(0, lambda: os.read(0, 4096) or stop.set())
    if listen_fd is not None:
        await loop.create_server(_Pipe, sock=socket.socket(fileno=listen_fd))
    print("READY", file=status, flush=True)
    status.close()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
        if server.server_proc.poll() is not None:
            LOG.error("milvus exited unexpectedly with %s", server.server_proc.returncode)
            return 1
    return 0


class _Pipe(asyncio.Protocol):
    """One side of a forwarded connection: bytes go to the peer as they come, with back-pressure."""

    def __init__(self, peer: asyncio.Transport | None = None) -> None:
        self.peer = peer  # the other side; None while a client's upstream connection is opening
        self.early: list[bytes] = []  # what the client sent before that (uvloop can't pause here)
        self.early_eof = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.peer is None:
            asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        try:
            self.peer, _ = await asyncio.get_running_loop().create_connection(
                lambda: _Pipe(self.transport), "127.0.0.1", INNER_PORT
            )
        except OSError:
            self.transport.close()
            return
        self.peer.writelines(self.early)
        if self.early_eof:
            self.peer.write_eof()
        if self.transport.is_closing():
            self.peer.close()

    def data_received(self, data: bytes) -> None:
        if self.peer is None:
            self.early.append(data)
        else:
            self.peer.write(data)

    def eof_received(self) -> bool:
        self.early_eof = self.peer is None
        if self.peer is not None and not self.peer.is_closing():
            self.peer.write_eof()
        return True  # half-close: the answer may still be on its way

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            self.peer.close()

    def pause_writing(self) -> None:
        if self.peer is not None and not self.peer.is_closing():
            self.peer.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and not self.peer.is_closing():
            self.peer.resume_reading()


# --------------------------------------------------------------------------- CLI


def _run_command(lm: LocalMilvus, cmd: list[str]) -> int:
    """Run ``cmd`` with WORDSIM_MILVUS_URI set; our stop signals go to it."""
    child = subprocess.Popen(cmd, env=dict(os.environ, WORDSIM_MILVUS_URI=lm.uri), process_group=0)
    # Its own process group, made the terminal's foreground one: Ctrl+C reaches it once, not twice.
    tty = sys.stdin.isatty() and os.tcgetpgrp(0) == os.getpgrp()
    if tty:
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        os.tcsetpgrp(0, child.pid)
        os.killpg(child.pid, signal.SIGCONT)  # in case it touched the terminal before that
    for sig in (*_STOP_SIGNALS, signal.SIGHUP):
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
    helper = sub.add_parser("_isolated")  # internal: the process that runs Milvus
    helper.add_argument("--data-dir", type=Path, required=True)
    helper.add_argument("--listen-fd", type=int)
    helper.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.action == "_isolated":
        return _run_helper(args.data_dir, args.listen_fd, args.port)
    cmd = getattr(args, "cmd", [])
    cmd = cmd[1:] if cmd[:1] == ["--"] else cmd
    if args.action == "run" and not cmd:
        parser.error("run needs a command: run -- CMD [ARGS...]")
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _raise_stop)  # a stop during start-up aborts it; start() cleans up
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
    except (_Stop, KeyboardInterrupt):
        return 0
    finally:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)  # let the stop finish; it is bounded anyway
        lm.stop()


if __name__ == "__main__":
    sys.exit(main())
