"""The HTTP API. A request's path: ``middleware`` (timing, API key) -> ``handlers``
(``query`` parses and validates the input; ``cache`` may hold the answer; ``batcher``
encodes and searches it with the concurrent ones) -> ``answers`` renders the original
JSON shape; any failure becomes one JSON body in ``errors``. ``routes`` registers all of
it on an app, ``lifecycle`` opens the encoder and the collection per worker, ``openapi``
describes the endpoints."""
