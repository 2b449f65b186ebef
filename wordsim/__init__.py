"""wordsim: Chinese word similarity over HTTP, word vectors in Milvus.

The folders are the architecture (README.md, "Architecture"):

- ``model/``        which model to load, pooling, the torch and ONNX encoders
- ``store/``        the Milvus collection: serve-time reads and search, the bulk load
- ``ingest/``       reading a word list and loading it into the collection
- ``service/``      the HTTP API: request parsing, handlers, errors, OpenAPI, cache, batching
- ``local_milvus/`` the private Milvus 2.3.5 server ``make run`` starts

Importing a package does no heavy work: modules import torch, pymilvus or Sanic only
where they need them.
"""
