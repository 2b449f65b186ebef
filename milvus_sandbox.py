"""The isolated side of the local Milvus server: the process ``local_milvus.py`` spawns.

It enters fresh user, network, mount and PID namespaces (no root needed) where only ``lo``
exists, starts Milvus 2.3.5 (PyPI ``milvus``) in there, and relays the listening socket it
inherited from the host namespace (bound to 127.0.0.1) to Milvus's proxy. Milvus's stray
files (``/tmp/milvus``, ``/run/milvus``) land in ``<data dir>/sandbox``; when this process
dies, the PID namespace, Milvus included, dies with it.

    python milvus_sandbox.py --data-dir DIR --listen-fd FD   # isolated (normal case)
    python milvus_sandbox.py --data-dir DIR --port PORT      # no namespaces (opt-in fallback)

Its stdout is a status pipe to the parent: one line, READY, ERROR ... or NOISOLATION ....
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import fcntl
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from milvus import MilvusServer


LOG = logging.getLogger("wordsim.local_milvus")
VERSION = "2.3.5"
INNER_PORT = 19530  # inside the namespace nothing else can hold it
_COMPONENTS = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode")
_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
_MS_BIND, _MS_REC, _MS_PRIVATE = 0x1000, 0x4000, 0x40000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x2, 0x4, 0x8
MILVUS_GRACE_S = 15.0  # sandbox -> Milvus; LocalMilvus.stop() waits longer than this
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


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
    for target, name in (("/tmp", "tmp"), ("/run/milvus" if os.path.isdir("/run/milvus") else "/run", "run")):
        target = os.path.realpath(target)
        if os.path.isdir(target):
            _cover(target, data_dir / "sandbox" / name, data_dir)


def _cover(target: str, replacement: Path, data_dir: Path) -> None:
    """Bind ``replacement`` over ``target``, then bind back what we still need from under it:
    the data dir, this project and its Python (a clone in /tmp must keep its venv)."""
    needed = [data_dir, Path.cwd(), Path(__file__).resolve().parent, Path(sys.prefix), Path(sys.base_prefix)]
    needed += [Path(p) for p in sys.path if p]
    roots = set()
    for path in needed:
        path = Path(os.path.realpath(path))
        if path.is_relative_to(target) and path != Path(target):
            roots.add(Path(target) / path.relative_to(target).parts[0])
    keep = {root: os.open(root, os.O_PATH) for root in roots if root.exists()}
    replacement.mkdir(parents=True, exist_ok=True)
    _libc("mount", bytes(replacement), target.encode(), None, _MS_BIND, None)
    for root, fd in keep.items():
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            root.mkdir(exist_ok=True)
        else:
            root.touch()
        _libc("mount", f"/proc/self/fd/{fd}".encode(), bytes(root), None, _MS_BIND, None)
        os.close(fd)


def _mount_own_proc() -> None:
    """Give this PID namespace a /proc of its own. Milvus's query node reads its memory use
    from /proc/<its pid>; through the host's /proc that pid is another process (kthreadd:
    0 bytes), and every sealed segment is refused with "get memory failed when
    checkSegmentSize", so a collection never finishes loading. A mount namespace of its own
    keeps the relay outside seeing the host's /proc."""
    _libc("unshare", _CLONE_NEWNS)
    _libc("mount", None, b"/", None, _MS_REC | _MS_PRIVATE, None)
    _libc("mount", b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None)


class Stop(Exception):
    pass


def raise_stop(*_: object) -> None:
    raise Stop


def run_isolated(data_dir: Path, listen_fd: int | None, port: int | None) -> int:
    """Run Milvus (namespaced unless ``port`` is given) until told to stop."""
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
            for sig in STOP_SIGNALS:
                signal.signal(sig, lambda n, _f: os.kill(child, n))
            status.close()
            return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        _libc("prctl", 1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: relay gone -> namespace gone
        _mount_own_proc()
    for sig in STOP_SIGNALS:  # PID 1 ignores the signals it has no handler for
        signal.signal(sig, raise_stop)
    from milvus import MilvusServer, MilvusServerConfig

    cfg = MilvusServerConfig(data_dir=str(data_dir))
    for comp in _COMPONENTS:
        cfg.set(f"{comp}.ip", "127.0.0.1")
    cfg.set("common.gracefulStopTimeout", 2)  # else a query node with loaded segments waits 30 min
    # The ingest merges its segments (manual compaction) before it builds the index once.
    # Milvus' defaults would build it twice: they merge only indexed segments, and merge on
    # their own at any time, also while an index is being built on the segments merged.
    cfg.set("dataCoord.compaction.indexBasedCompaction", "false")
    cfg.set("dataCoord.compaction.enableAutoCompaction", "false")
    server = MilvusServer(cfg, wait_for_started=False, proxy_port=port or INNER_PORT)
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
        print("ERROR", exc, file=status, flush=True)
        return 1
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # a second stop must not cut this
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
    for sig in STOP_SIGNALS:
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the spawned process (not meant to be run by hand)."""
    parser = argparse.ArgumentParser(prog="milvus_sandbox.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--listen-fd", type=int)
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_isolated(args.data_dir, args.listen_fd, args.port)


if __name__ == "__main__":
    sys.exit(main())
