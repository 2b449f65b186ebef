"""Open a ``MilvusClient`` for the configured URI, with errors that say what to do."""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from wordsim.local_milvus.protection import read_token
from wordsim.logs import limit_milvus_client_logs
from wordsim.settings import Settings

if TYPE_CHECKING:
    from pymilvus import MilvusClient

log = logging.getLogger("wordsim.store")


class StoreError(RuntimeError):
    """Milvus is unreachable or the collection is unusable; the message says what to do."""


class ModelMismatchError(StoreError):
    """The collection was built with another model than the one loaded."""


REFUSAL = re.compile(r"cannot parse expression|failed to create query plan", re.IGNORECASE)
"""What Milvus says of a filter expression it refuses (the only such request the service
builds); anything else is taken for an outage."""


def refused_request(exc: BaseException) -> bool:
    """Milvus answered and refused this one request (a malformed expression or parameter),
    as opposed to not answering (down, timed out, not loaded): the collection is still
    available to every other request."""
    from pymilvus.exceptions import MilvusException, ParamError

    if isinstance(exc, ParamError):
        return True
    return isinstance(exc, MilvusException) and bool(REFUSAL.search(str(exc)))


def connect(settings: Settings) -> MilvusClient:
    """A client for ``settings.milvus_uri``: a Milvus Lite file, or any Milvus server."""
    from pymilvus import MilvusClient  # imported on first use: importing the service stays cheap

    limit_milvus_client_logs()  # its reconnect loop logs a traceback per attempt while Milvus is down
    if settings.is_milvus_lite:
        # Milvus Lite's in-process gRPC server logs a traceback for every RPC it does not
        # implement (pymilvus probes AllocTimestamp); the call itself succeeds.
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    if settings.is_milvus_lite and _lite_locked(settings.milvus_uri):
        raise StoreError(
            f"Milvus Lite database {settings.milvus_uri} is open in another process; only one "
            "process may open it at a time. Stop the other process (server or ingest), or use "
            "a Milvus server (make run starts one)."
        )
    try:
        return MilvusClient(
            uri=settings.milvus_uri, token=resolve_token(settings), timeout=settings.milvus_timeout_s
        )
    except Exception as exc:  # pymilvus raises MilvusException, grpc and OS errors alike
        where = settings.milvus_uri if settings.is_milvus_lite else f"Milvus at {settings.milvus_uri}"
        raise StoreError(f"cannot connect to {where}: {exc}") from exc


def resolve_token(settings: Settings) -> str:
    """``WORDSIM_MILVUS_TOKEN`` when set; otherwise, for the local Milvus' URI, the password
    it stored where it runs with authentication (no user namespaces; see
    ``wordsim.local_milvus.protection``); otherwise none."""
    if settings.milvus_token or settings.is_milvus_lite:
        return settings.milvus_token
    url = urlsplit(settings.milvus_uri)
    if url.hostname in {"127.0.0.1", "localhost"} and url.port == settings.local_milvus_port:
        return read_token(settings.local_milvus_data_dir) or ""
    return ""


def close(client: MilvusClient, settings: Settings) -> None:
    """Close the client; for Milvus Lite also release the file lock, so another process
    (the server after an ingest, a test's subprocess) may open the database."""
    try:
        client.close()
        if settings.is_milvus_lite:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(settings.milvus_uri)
    except Exception:  # closing a dead connection must not mask the real error
        log.debug("closing Milvus client failed", exc_info=True)


def _lite_locked(path: str) -> bool:
    """Whether another process holds the Milvus Lite database's lock file."""
    import fcntl

    from milvus_lite.server_manager import server_manager_instance

    if os.path.abspath(path) in getattr(server_manager_instance, "_servers", {}):
        return False  # opened by this process: pymilvus reuses it

    try:
        with open(os.path.join(path, "LOCK"), "rb") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fh, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False
