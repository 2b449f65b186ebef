"""The Milvus collection of words, always through ``pymilvus.MilvusClient``: ``schema``
(fields, limits, hits), ``connection`` (opening a client by URI: Milvus Lite, the local
server, any Milvus), ``collection`` (what the server needs: identity checks, load, count,
search) and ``bulk_load`` (what the ingest adds: create, write, compact, index)."""
