"""Collection versions behind an alias, so a rebuild never stops the service.

The service reads the name it is configured with (``words``), which is a Milvus alias of
the physical collection serving it (``words_v1``, ``words_v2``, ...). A fresh load creates
``words_v1`` and the alias at once; ``--rebuild`` fills the next version while the service
keeps answering from the current one, then moves the alias in one Milvus call and drops
the old version. A collection made before aliases (a physical ``words``) is replaced by
the alias at its first rebuild: that one switch is a drop followed by the alias, a gap
of milliseconds.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("wordsim.store")


def served(client, name: str) -> str | None:
    """The physical collection ``name`` reads from: the alias's target, ``name`` itself (a
    collection made before aliases), or None. (Asked without a failing call: pymilvus logs
    a traceback for every failed RPC.)"""
    if not client.has_collection(name):
        return None
    return client.describe_collection(name)["collection_name"]


def versions(client, name: str) -> list[str]:
    """Physical versions of ``name`` (``name_v<N>``), oldest first."""
    pattern = re.compile(rf"{re.escape(name)}_v(\d+)")
    found = [(int(m[1]), c) for c in client.list_collections() if (m := pattern.fullmatch(c))]
    return [c for _, c in sorted(found)]


def next_version(client, name: str) -> str:
    existing = versions(client, name)
    last = int(existing[-1].rsplit("_v", 1)[1]) if existing else 0
    return f"{name}_v{last + 1}"


def point(client, name: str, physical: str) -> None:
    """Make the alias ``name`` read from ``physical``, atomically where an alias exists."""
    current = served(client, name)
    if current is None:
        client.create_alias(physical, name)
    elif current == name:  # a collection made before aliases: the one non-atomic switch
        log.warning("replacing collection %s, made before aliases, by an alias of %s", name, physical)
        client.drop_collection(name)
        client.create_alias(physical, name)
    else:
        client.alter_alias(physical, name)
    log.info("%s now serves collection %s", name, physical)


def drop_all(client, name: str) -> None:
    """Drop the alias ``name``, the collection it serves and every other version."""
    target = served(client, name)
    if target is not None and target != name:
        client.drop_alias(name)
    for physical in {target, *versions(client, name)} - {None}:
        client.drop_collection(physical)
        log.info("dropped collection %s", physical)
