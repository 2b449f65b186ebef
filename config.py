"""The service's settings: each one is a ``WORDSIM_*`` environment variable.

    python config.py            # every setting: its variable, default and the value in force

In code, ``load_settings()`` gives the one frozen :class:`Settings` object that every part
of the service reads (the table itself is declared in ``wordsim/settings.py``)::

    from config import load_settings
    settings = load_settings(milvus_uri="data/words.db")   # explicit overrides win over env
"""

from __future__ import annotations

import sys

from wordsim.settings import (
    ENV_PREFIX,
    PROJECT_DIR,
    Settings,
    configure_logging,
    describe_settings,
    load_settings,
)

__all__ = ["ENV_PREFIX", "PROJECT_DIR", "Settings", "configure_logging", "describe_settings", "load_settings"]


def main() -> int:
    try:
        rows = describe_settings()
    except ValueError as exc:  # a variable that does not parse: say which
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, default, value, doc in rows:
        mark = "" if value == default else "   (set)"
        print(f"{name} = {value}{mark}\n    {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
