"""Collection versions behind an alias, on a real Milvus Lite: what the service reads, the
next version's name, the switch (also from a collection made before aliases), dropping all."""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient

from wordsim.store import versions


@pytest.fixture
def client(tmp_path):
    c = MilvusClient(uri=str(tmp_path / "v.db"))
    yield c
    c.close()


def make(client: MilvusClient, name: str) -> None:
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=schema)


def test_fresh_then_switch_then_drop_all(client):
    assert versions.served(client, "w") is None and versions.next_version(client, "w") == "w_v1"
    make(client, "w_v1")
    versions.point(client, "w", "w_v1")
    assert versions.served(client, "w") == "w_v1" and versions.next_version(client, "w") == "w_v2"
    for name in ("w_v2", "w_v10", "other_v3"):
        make(client, name)
    assert versions.versions(client, "w") == ["w_v1", "w_v2", "w_v10"]  # numeric order
    versions.point(client, "w", "w_v10")
    assert versions.served(client, "w") == "w_v10" and versions.next_version(client, "w") == "w_v11"
    versions.drop_all(client, "w")
    assert sorted(client.list_collections()) == ["other_v3"] and versions.served(client, "w") is None


def test_a_collection_made_before_aliases_is_replaced_by_the_alias(client):
    make(client, "w")
    assert versions.served(client, "w") == "w"
    make(client, "w_v1")
    versions.point(client, "w", "w_v1")
    assert versions.served(client, "w") == "w_v1" and sorted(client.list_collections()) == ["w_v1"]
