"""``python -m wordsim``: the ``wordsim`` command (:mod:`wordsim.cli`)."""

from wordsim.cli import main

raise SystemExit(main())
