"""How the local Milvus is configured, and the stale state a previous run leaves in its etcd."""

from __future__ import annotations

import base64
import json
import logging
import socket
import urllib.request

from wordsim.settings import DEFAULT_MILVUS_PORT

LOG = logging.getLogger("wordsim.local_milvus")

MILVUS_VERSION = "2.3.5"
INNER_PORT = DEFAULT_MILVUS_PORT
"""Milvus's port inside the sandbox's network namespace, where nothing else can hold it."""
ETCD_URL = "http://127.0.0.1:2379"
"""The embedded etcd the ``milvus`` package starts beside Milvus."""
_COMPONENTS = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode")


def server_config(data_dir: str, authenticated: bool = False):
    """The ``milvus`` package's server config for our use; ``authenticated``: Milvus' own
    authentication on (where namespaces are unavailable: ``protection``)."""
    from milvus import MilvusServerConfig

    class Config(MilvusServerConfig):
        def try_bind_port(self, port: int) -> socket.socket | None:
            """Its port check, with SO_REUSEADDR as Milvus itself binds: else a Milvus restarted
            after a crash is refused its port while the old connections sit in TIME_WAIT."""
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
                sock.listen()
                return sock
            except OSError:
                sock.close()
                return None

    cfg = Config(data_dir=data_dir)
    cfg.set("authorization_enabled", authenticated)  # common.security.authorizationEnabled
    for comp in _COMPONENTS:
        cfg.set(f"{comp}.ip", "127.0.0.1")
    cfg.set("common.gracefulStopTimeout", 2)  # else a query node with loaded segments waits 30 min
    # The ingest merges its segments (manual compaction) before it builds the index once.
    # Milvus' defaults would build it twice: they merge only indexed segments, and merge on
    # their own at any time, also while an index is being built on the segments merged.
    cfg.set("dataCoord.compaction.indexBasedCompaction", "false")
    cfg.set("dataCoord.compaction.enableAutoCompaction", "false")
    return cfg


def drop_stale_sessions() -> None:
    """Delete the sessions a previous run left in etcd (Milvus 2.3.5 revokes few of them).

    Until their lease expires (30 s) the new components keep calling the dead ones: start-up
    and stop take longer, and strong and bounded searches stall on the dead proxy's time ticks.
    """

    def call(path: str, key: str, range_end: str = "") -> dict:
        body = {k: base64.b64encode(v.encode()).decode() for k, v in (("key", key), ("range_end", range_end))}
        req = urllib.request.Request(f"{ETCD_URL}/v3/kv/{path}", json.dumps(body).encode())
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
