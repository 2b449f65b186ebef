"""Keep the local Milvus up: when it dies, start it again on the same port and data dir.

Each death is logged with what died and how, the attempt number and the wait before it;
waits double from 1 s up to 30 s. A Milvus that then stays up for ``STABLE_S`` has
recovered: the next death is attempt 1 again. After ``restarts`` attempts in a row that
did not last (the start failed, or Milvus died again within ``STABLE_S``) it gives up:
:meth:`Supervisor.check` raises :class:`GaveUp`, and the caller stops everything loudly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from wordsim.local_milvus.launcher import Death, LocalMilvusError

LOG = logging.getLogger("wordsim.local_milvus")

FIRST_WAIT_S = 1.0
MAX_WAIT_S = 30.0
STABLE_S = 60.0
"""Up this long after a restart, Milvus counts as recovered: the attempts count anew."""


class Server(Protocol):
    """What the supervisor needs of :class:`~wordsim.local_milvus.launcher.LocalMilvus`."""

    uri: str

    def exited(self) -> Death | None: ...

    def start(self) -> None: ...


class GaveUp(LocalMilvusError):
    """The local Milvus kept dying or failing to start; the message says how."""


class Abandoned(Exception):
    """The wait before a restart was cut short: whoever supervises is stopping."""


def restart_wait(attempt: int) -> float:
    """Seconds to wait before restart ``attempt`` (1-based): 1, 2, 4 … at most 30."""
    return min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** (attempt - 1))


class Supervisor:
    """Restarts ``server`` when :meth:`check` finds it dead.

    ``wait(seconds)`` sleeps before a restart and returns True to abandon it (the
    command of ``run`` ended meanwhile); ``clock`` is for tests.
    """

    def __init__(
        self,
        server: Server,
        restarts: int,
        *,
        wait: Callable[[float], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.server = server
        self.restarts = restarts
        self.wait = wait or (lambda s: time.sleep(s) or False)
        self.clock = clock
        self.attempt = 0  # restarts since Milvus last stayed up STABLE_S
        self.up_since = clock()

    def check(self) -> None:
        """Return at once while the server runs; when it died, restart it (blocking, with
        back-off) or raise :class:`GaveUp`; :class:`Abandoned` if ``wait`` says stop."""
        death = self.server.exited()
        if death is None:
            return
        why = str(death)
        if self.clock() - self.up_since >= STABLE_S:
            self.attempt = 0
        while True:
            if self.attempt >= self.restarts:
                raise GaveUp(
                    f"local Milvus: giving up after {self.attempt} restart(s) in a row that did not "
                    f"last {STABLE_S:.0f} s (last: {why})"
                )
            self.attempt += 1
            delay = restart_wait(self.attempt)
            LOG.error(
                "local Milvus: %s; restart attempt %d of %d in %.0f s",
                why,
                self.attempt,
                self.restarts,
                delay,
            )
            if self.wait(delay):
                raise Abandoned
            try:
                self.server.start()
            except LocalMilvusError as exc:
                why = f"restart failed: {exc}"
                continue
            self.up_since = self.clock()
            LOG.warning("local Milvus: restarted at %s (attempt %d)", self.server.uri, self.attempt)
            return
