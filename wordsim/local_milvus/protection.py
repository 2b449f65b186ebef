"""The local Milvus where user namespaces are unavailable: Milvus' own authentication.

Without namespaces Milvus listens on the host's interfaces. It then runs with
``common.security.authorizationEnabled``; at its first start, ``root``'s default password
("Milvus") is replaced by a generated one, stored in ``<data dir>/credentials`` (mode
0600, written atomically) and read from there by the service and the ingest
(:func:`read_token`). The password is stored *before* it is set, as ``credentials.pending``,
so a crash in between never locks us out. :func:`exposure` says what still listens where.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

USER = "root"
DEFAULT_PASSWORD = "Milvus"
"""Milvus' documented default password for ``root``: replaced at the first start."""
CREDENTIALS = "credentials"


def credentials_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / CREDENTIALS


def read_token(data_dir: str | Path) -> str | None:
    """``root:<password>`` of the local Milvus in ``data_dir``, if it has one stored."""
    try:
        password = credentials_path(data_dir).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return f"{USER}:{password}" if password else None


def _write_private(path: Path, text: str) -> None:
    """``text`` into ``path``, mode 0600 from its creation, replacing it atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def secure_root(uri: str, data_dir: str | Path, deadline: float) -> str:
    """Once Milvus at ``uri`` answers: the token that logs in as root, after replacing the
    default password with a generated, stored one if that is still in force."""
    from pymilvus import MilvusClient

    stored = credentials_path(data_dir)
    pending = stored.with_name(CREDENTIALS + ".pending")
    if not stored.exists() and not pending.exists():
        _write_private(pending, secrets.token_urlsafe(24))
    password = (stored if stored.exists() else pending).read_text().strip()
    last: Exception | None = None
    while time.monotonic() < deadline:
        for old in (password, DEFAULT_PASSWORD):
            try:
                client = MilvusClient(
                    uri=uri, token=f"{USER}:{old}", timeout=max(1.0, deadline - time.monotonic())
                )
                try:
                    if old == password:
                        client.list_collections()
                    else:  # the first start: the default is still in force
                        client.update_password(USER, old, password)
                finally:
                    client.close()
            except Exception as exc:  # a wrong password, or not answering yet
                last = exc
                continue
            if not stored.exists():
                os.replace(pending, stored)
            return f"{USER}:{password}"
        time.sleep(0.2)
    raise TimeoutError(f"cannot log in to the local Milvus at {uri} as {USER} with {stored}: {last}")


def exposure(root_pid: int) -> tuple[list[int], list[int]]:
    """(ports on loopback only, ports on every interface) of the listening sockets of
    ``root_pid`` and its descendants."""
    import psutil

    loopback, everywhere = set(), set()
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return [], []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            for conn in proc.net_connections("inet"):
                if conn.status == psutil.CONN_LISTEN:
                    local = conn.laddr.ip.startswith("127.") or conn.laddr.ip == "::1"
                    (loopback if local else everywhere).add(conn.laddr.port)
    return sorted(loopback), sorted(everywhere - loopback)
