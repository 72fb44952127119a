"""Control-flow signals: ``return``, ``break``, ``continue`` and ``exit`` unwind as exceptions."""

from __future__ import annotations


class ReturnSignal(Exception):
    pass


class BreakSignal(Exception):
    pass


class ContinueSignal(Exception):
    pass


class ExitSignal(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code
