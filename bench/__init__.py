"""The benchmark of the word-similarity service: ``python -m bench.run_bench`` (see run_bench).

``phases`` holds the measurements run from the bench process, ``probes`` the scripts it
starts as subprocesses (``python -m bench.probes.<name>``), ``report`` turns a
``results.json`` into ``RESULTS.md``.
"""
