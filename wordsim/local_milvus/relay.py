"""A TCP relay: each connection accepted on the host-side socket is piped to Milvus's port
inside the sandbox, byte for byte, with back-pressure and half-close."""

from __future__ import annotations

import asyncio
import socket


class Pipe(asyncio.Protocol):
    """One side of a forwarded connection: bytes go to the peer as they come."""

    def __init__(self, target_port: int, peer: asyncio.Transport | None = None) -> None:
        self.target_port = target_port
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
                lambda: Pipe(self.target_port, self.transport), "127.0.0.1", self.target_port
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


async def start_relay(listen_fd: int, target_port: int) -> asyncio.Server:
    """Relay every connection on the listening socket ``listen_fd`` to ``target_port``."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(fileno=listen_fd)
    sock.listen(256)  # bound by the launcher, listening only from now on: Milvus answers
    return await loop.create_server(lambda: Pipe(target_port), sock=sock, backlog=256)
