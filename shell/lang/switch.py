"""The ``switch`` statement's run-time: each input item against every clause, in order.

PowerShell semantics: an enumerable subject is switched item by item (an empty one runs no
clause, ``$null`` is one item); every clause that matches runs, ``default`` only when none did;
``$_`` is the item; ``break`` leaves the switch, ``continue`` moves on to the next item.
Script-block conditions are evaluated with ``$_`` bound; otherwise -Exact compares as ``-eq``
(item on the left), -Wildcard as ``-like`` and -Regex as ``-match`` (which sets ``$Matches``);
-CaseSensitive selects the ``c`` operators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from shell.lang import ast
from shell.lang.flow import BreakSignal, ContinueSignal
from shell.lang.members import collapse
from shell.lang.operators import compare, truthy
from shell.lang.scope import Variables
from shell.lang.values import ScriptBlock
from shell.objects import enumerate_value, is_enumerable, to_text

Emit = Callable[[Any], None]
_OPERATORS = {"exact": "eq", "wildcard": "like", "regex": "match"}


class SwitchRuntime(Protocol):
    variables: Variables

    def statement_value(self, node: ast.Statement) -> Any: ...

    def eval(self, node: ast.Expr) -> Any: ...

    def exec_block(self, block: ast.StatementList, emit: Emit) -> None: ...

    def invoke_block(self, block: ScriptBlock, input_object: Any, args: list[Any], *,
                     new_scope: bool) -> list[Any]: ...


def run_switch(runtime: SwitchRuntime, node: ast.Switch, emit: Emit) -> None:
    subject = runtime.statement_value(node.subject)
    items = list(enumerate_value(subject)) if is_enumerable(subject) else [subject]
    variables = runtime.variables
    saved = variables.current.values.get("_", _UNSET)
    try:
        for item in items:
            variables.set_local("_", item)
            try:
                _switch_item(runtime, node, item, emit)
            except ContinueSignal:
                continue
    except BreakSignal:
        pass
    finally:
        if saved is _UNSET:
            variables.current.values.pop("_", None)
        else:
            variables.current.values["_"] = saved


def _switch_item(runtime: SwitchRuntime, node: ast.Switch, item: Any, emit: Emit) -> None:
    matched = False
    for clause in node.clauses:
        if clause.condition is not None and _matches(runtime, node, clause.condition, item):
            matched = True
            runtime.exec_block(clause.body, emit)
    if not matched:
        for clause in node.clauses:
            if clause.condition is None:
                runtime.exec_block(clause.body, emit)


def _matches(runtime: SwitchRuntime, node: ast.Switch, condition: ast.Expr, item: Any) -> bool:
    value = runtime.eval(condition)
    if isinstance(value, ScriptBlock):
        return truthy(collapse(runtime.invoke_block(value, item, [], new_scope=False)))
    operator = ("c" if node.case_sensitive else "") + _OPERATORS[node.mode]
    left = item if node.mode == "exact" else to_text(item)
    result, matches = compare(operator, left, value)
    if matches is not None:
        runtime.variables.set_local("Matches", matches)
    return truthy(result)


_UNSET = object()
