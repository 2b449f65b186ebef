"""Answer quality on public word-similarity sets (``make quality`` -> bench/QUALITY.md):
``data`` reads the sets, ``stats`` computes Spearman's rho with bootstrap intervals,
``models`` gives each collection's vectors (and the variants measured beside them),
``probes`` the neighbour and analogy checks, ``report`` writes the document."""
