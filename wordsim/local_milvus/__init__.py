"""The private Milvus 2.3.5 standalone server ``make run`` starts (PyPI ``milvus``, no Docker),
reachable only on 127.0.0.1.

Milvus listens on every interface, unauthenticated, whatever its ``ip:`` settings say. So
``launcher`` (in the service's process) spawns ``sandbox`` (its own process), which enters
fresh user, network, mount and PID namespaces (``namespaces``) where only ``lo`` exists,
starts Milvus there with the settings of ``milvus_config``, and ``relay``s a socket the
launcher bound to 127.0.0.1:<port> in the host namespace to it. The sandbox reports its
``status`` back; the ``supervisor`` restarts it when it dies. Where namespaces are
unavailable, Milvus runs with its own authentication instead (``protection``).

    python -m wordsim.local_milvus serve                 # until SIGINT/SIGTERM
    python -m wordsim.local_milvus run -- CMD [ARGS...]  # CMD gets WORDSIM_MILVUS_URI
"""
