"""The sandbox's status lines to the launcher: first ``READY``, ``ERROR <why>`` or
``NOISOLATION <why>`` (namespaces refused: the launcher decides how to run without them);
after ``READY``, ``EXITED <code>`` if Milvus itself dies (the supervisor says so)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TextIO


class State(enum.Enum):
    READY = "READY"
    ERROR = "ERROR"
    NOISOLATION = "NOISOLATION"
    EXITED = "EXITED"


@dataclass(frozen=True)
class Status:
    state: State
    detail: str = ""

    def send(self, out: TextIO) -> None:
        print(f"{self.state.value} {self.detail}".rstrip(), file=out, flush=True)

    @classmethod
    def parse(cls, line: str) -> Status:
        """The status a line says; anything else is an error saying it (an empty one, with
        no detail, when the sandbox died before its line)."""
        word, _, detail = line.strip().partition(" ")
        try:
            return cls(State(word), detail)
        except ValueError:
            return cls(State.ERROR, line.strip())
