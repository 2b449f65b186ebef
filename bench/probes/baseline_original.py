"""The original design, rebuilt for comparison (see /work/shared/seeds, the design document).

    python -m bench.probes.baseline_original --port 8849 --milvus-uri http://127.0.0.1:19530

As the original does it: transformers' ``BertTokenizer`` + ``AlbertModel`` in torch eager
mode, the design document's pooling formula (masked mean, then L2 normalisation in
numpy), computed on the request path inside the async handler (the event loop blocks
meanwhile), then one pymilvus ``Collection.search`` (ORM API of that era), top 3, and
the same JSON answer. Same model folder, collection and ``ef`` as our service, so the
two differ only in how a request is served.
"""

from __future__ import annotations

import sys
from functools import partial

import numpy as np

from bench.probes.protocol import RESULT_KEY, ROUTE, TOP_K, parser, serve
from wordsim.model.source import resolve_model
from wordsim.settings import load_settings


def build_app(model_dir: str, milvus_uri: str, collection_name: str, ef: int, torch_threads: int = 0):
    """The Sanic app of the original service (``torch_threads`` 0: torch's default);
    ``protocol.serve`` adds ``/health`` and runs it."""
    import json

    import torch
    from pymilvus import Collection, connections
    from sanic import Sanic, response
    from transformers import AlbertModel, BertTokenizer

    if torch_threads > 0:
        torch.set_num_threads(torch_threads)
    tokenizer = BertTokenizer.from_pretrained(model_dir)
    model = AlbertModel.from_pretrained(model_dir)
    model.eval()
    connections.connect(alias="default", uri=milvus_uri)
    collection = Collection(collection_name)
    collection.load()
    search_params = {"metric_type": "IP", "params": {"ef": ef}}

    def embed(batch_texts: list[str]) -> np.ndarray:
        # The design document's code, verbatim apart from names.
        encoded_texts = tokenizer(batch_texts, return_tensors="pt", padding=True)
        with torch.no_grad():
            last_hidden_state = model(**encoded_texts).last_hidden_state
            attention_mask = encoded_texts["attention_mask"]
            last_hidden_state = last_hidden_state * attention_mask.unsqueeze(-1)
            sum_hidden_state = last_hidden_state.sum(dim=1).squeeze()
            output = sum_hidden_state / attention_mask.sum(dim=1, keepdim=True)
            output = output.numpy()
        return output / np.linalg.norm(output, axis=1, keepdims=True)

    app = Sanic("original_design", dumps=partial(json.dumps, ensure_ascii=False))

    @app.post(ROUTE)
    async def vector_similarity(request):
        text = request.form.get("usr_input")
        vectors = embed([text])
        result = collection.search(
            data=vectors.tolist(),
            anns_field="vector",
            param=search_params,
            limit=TOP_K,
            output_fields=["text"],
        )
        answer = {
            f"结果{rank}": {
                "id": hit.id,
                "distance": hit.distance,
                "fields": {"id": hit.id, "text": hit.entity.get("text")},
            }
            for rank, hit in enumerate(result[0], start=1)
        }
        return response.json({RESULT_KEY: answer})

    return app


def main(argv: list[str] | None = None) -> int:
    settings = load_settings()
    p = parser("The original design's service, for the benchmark.")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--milvus-uri", default=settings.milvus_uri)
    p.add_argument("--collection", default=settings.collection)
    p.add_argument("--ef", type=int, default=settings.search_ef)
    p.add_argument("--torch-threads", type=int, default=0, help="0: torch's default, as the original")
    args = p.parse_args(argv)
    model_dir = str(resolve_model(settings, allow_download=False).path)
    app = build_app(model_dir, args.milvus_uri, args.collection, args.ef, args.torch_threads)
    serve(app, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
