"""The tree-walking runtime: statements, assignment, scopes and error policy.

``Runtime`` combines ``Expressions`` (expression values) and ``Pipelines`` (commands and
streaming).  Output is pushed to an ``emit`` callback; a pipeline pulls objects lazily
through its commands' generators, so ``Select-Object -First 1`` can stop upstream early.

Error policy (see ``errors``): after a statement-terminating error the statement list goes
on with the next statement (unless a ``try`` is active, which then catches it); a
script-terminating error unwinds to the nearest ``try`` or out of ``run_statements``.
Unexpected Python exceptions are reported as internal errors at the failing statement, never
as tracebacks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from cmdlets.registry import Registry
from shell.lang import ast
from shell.lang.convert import ConversionError, cast
from shell.lang.errors import ErrorList, ErrorRecord, PSRuntimeError, runtime_error
from shell.lang.errorview import format_record
from shell.lang.expressions import Expressions
from shell.lang.flow import BreakSignal, ContinueSignal, ExitSignal, ReturnSignal
from shell.lang.members import collapse
from shell.lang.operators import ARITHMETIC, OperatorError, to_number, truthy
from shell.lang.pipeline import Pipelines
from shell.lang.scope import VariableError, Variables
from shell.lang.switch import run_switch
from shell.lang.values import FunctionInfo, ScriptBlock
from shell.objects import Hashtable, enumerate_value, to_text

Emit = Callable[[Any], None]


class Host(Protocol):
    """What the runtime needs from the session around it."""

    registry: Registry
    interactive: bool
    width: int

    @property
    def engine(self) -> Any: ...

    @property
    def cwd(self) -> Path: ...

    def resolve_path(self, path: str) -> Path: ...

    def write_out(self, text: str) -> None: ...

    def write_err(self, text: str, kind: str | None = None) -> None: ...

    def read_line(self, prompt: str) -> str | None: ...

    def render(self, objects: list[Any]) -> str: ...

    def flush_output(self) -> None: ...

    def progress(self, activity: str, status: str, fraction: float | None) -> None: ...

    def progress_done(self, activity: str) -> None: ...


class Runtime(Expressions, Pipelines):
    """One session's interpreter state."""

    def __init__(self, host: Host, variables: Variables) -> None:
        self.host = host
        self.variables = variables
        self.functions: dict[str, FunctionInfo] = {}
        self.errors: list[ErrorRecord] = ErrorList()
        self.try_depth = 0
        self.current_ok = True
        self.last_ok = True
        self.had_errors = False
        self.error_sinks: list[Callable[[ErrorRecord], None]] = []
        self.depth = 0
        # the functions running now, innermost last: (name, extent of the call); Write-Error
        # names the function that wrote an error
        self.invocations: list[tuple[str, Any]] = []

    # -- statement lists ---------------------------------------------------------------------

    def run_statements(self, statements: Iterable[ast.Statement], emit: Emit,
                       after_each: Callable[[], None] | None = None) -> None:
        for statement in statements:
            self.current_ok = True
            try:
                self.exec_statement(statement, emit)
            except PSRuntimeError as err:
                if err.script_terminating or self.try_depth > 0:
                    raise
                if not err.reported:
                    self.report(err.record)
            except (ReturnSignal, BreakSignal, ContinueSignal, ExitSignal, KeyboardInterrupt):
                raise
            except RecursionError:
                record = ErrorRecord("The script failed due to call depth overflow.",
                                     category="InvalidOperation", error_id="CallDepthOverflow",
                                     extent=statement.extent)
                raise PSRuntimeError(record, script_terminating=True) from None
            except Exception as exc:
                record = ErrorRecord(f"An internal error occurred: {type(exc).__name__}: {exc}",
                                     category="NotSpecified", error_id="InternalError",
                                     extent=statement.extent, reason=type(exc).__name__)
                if self.try_depth > 0:
                    raise PSRuntimeError(record) from None
                self.report(record)
            self.last_ok = self.current_ok
            if after_each is not None:
                after_each()

    def report(self, record: ErrorRecord, *, display: bool = True, count: bool = True) -> None:
        """Record an error ($Error, $?) and show it (or hand it to a 2> redirection)."""
        self.errors.insert(0, record)
        del self.errors[256:]
        self.current_ok = False
        if count:
            self.had_errors = True
        if not display:
            return
        if self.error_sinks:
            self.error_sinks[-1](record)
            return
        self.host.flush_output()
        self.host.write_err(format_record(record) + "\n", "error")

    # -- statements --------------------------------------------------------------------------

    def exec_statement(self, node: ast.Statement, emit: Emit) -> None:
        handler = _STATEMENTS.get(type(node))
        if handler is None:
            raise runtime_error("This statement is not supported.", "UnsupportedStatement",
                                node.extent)
        handler(self, node, emit)

    def exec_block(self, block: ast.StatementList, emit: Emit) -> None:
        self.run_statements(block.statements, emit)

    def statement_value(self, node: ast.Statement) -> Any:
        """The value of a statement used as an expression (assignment right side, ``( )``)."""
        if isinstance(node, ast.Pipeline) and len(node.elements) == 1 and not node.redirections:
            element = node.elements[0]
            if isinstance(element, ast.Expr):
                return self.eval(element)
        if isinstance(node, ast.Assignment):
            return self.assign(node)
        out: list[Any] = []
        self.exec_statement(node, out.append)
        return collapse(out)

    def _pipeline(self, node: ast.Pipeline, emit: Emit) -> None:
        self.run_pipeline(node, emit)

    def _assignment(self, node: ast.Assignment, emit: Emit) -> None:
        self.assign(node)

    def assign(self, node: ast.Assignment) -> Any:
        value = self.statement_value(node.value)
        if node.op != "=":
            current = self.eval(node.target)
            try:
                value = ARITHMETIC[node.op[0]](current, value)
            except OperatorError as err:
                raise self.expression_error(err, node) from None
        self.store(node.target, value)
        return value

    def store(self, target: ast.Expr, value: Any) -> None:
        try:
            self._store(target, value)
        except VariableError as err:
            raise self.expression_error(err, target) from None

    def _store(self, target: ast.Expr, value: Any) -> None:
        if isinstance(target, ast.Variable):
            self.variables.set(target.name, value, target.scope)
        elif isinstance(target, ast.Cast):
            self._store(target.operand, self.eval(ast.Cast(type_name=target.type_name, operand=(
                ast.Constant(value=value, extent=target.extent)), extent=target.extent)))
        elif isinstance(target, ast.Member):
            self._store_member(target, value)
        elif isinstance(target, ast.Index):
            self._store_index(target, value)
        else:
            raise runtime_error("The assignment expression is not valid.", "InvalidLeftHandSide",
                                target.extent)

    def _store_member(self, target: ast.Member, value: Any) -> None:
        from cmdlets.base import PSObject

        obj = self.eval(target.target)
        name = to_text(self.eval(target.name))
        if isinstance(obj, PSObject) and obj.has(name):
            obj.set(name, value)
        elif isinstance(obj, Hashtable | dict):
            obj[name] = value
        else:
            raise runtime_error(f"The property '{name}' cannot be found on this object. Verify "
                                "that the property exists and can be set.",
                                "PropertyAssignmentException", target.extent)

    def _store_index(self, target: ast.Index, value: Any) -> None:
        container = self.eval(target.target)
        index = self.eval(target.index)
        if isinstance(container, dict):
            container[index] = value
            return
        if isinstance(container, list):
            position = int(to_number(index))
            if -len(container) <= position < len(container):
                container[position] = value
                return
            raise runtime_error("Index was outside the bounds of the array.",
                                "IndexOutOfRange", target.extent)
        raise runtime_error(f"Unable to index into an object of type {type(container).__name__}.",
                            "CannotIndex", target.extent)

    def _if(self, node: ast.If, emit: Emit) -> None:
        for condition, body in node.clauses:
            if truthy(self.statement_value(condition)):
                self.exec_block(body, emit)
                return
        if node.else_body is not None:
            self.exec_block(node.else_body, emit)

    def _loop_body(self, body: ast.StatementList, emit: Emit) -> bool:
        """Run one iteration; False when ``break`` ended the loop."""
        try:
            self.exec_block(body, emit)
        except BreakSignal:
            return False
        except ContinueSignal:
            pass
        return True

    def _foreach(self, node: ast.Foreach, emit: Emit) -> None:
        items = self.statement_value(node.iterable)
        for item in list(enumerate_value(items)):
            self.variables.set(node.variable.name, item, node.variable.scope)
            if not self._loop_body(node.body, emit):
                break

    def _while(self, node: ast.While, emit: Emit) -> None:
        if node.do and not self._loop_body(node.body, emit):
            return
        while truthy(self.statement_value(node.condition)) != node.until:
            if not self._loop_body(node.body, emit):
                return

    def _for(self, node: ast.For, emit: Emit) -> None:
        if node.init is not None:
            self.exec_statement(node.init, lambda _: None)
        while node.condition is None or truthy(self.statement_value(node.condition)):
            if not self._loop_body(node.body, emit):
                return
            if node.step is not None:
                self.exec_statement(node.step, lambda _: None)

    def _try(self, node: ast.Try, emit: Emit) -> None:
        try:
            self.try_depth += 1
            try:
                self.exec_block(node.body, emit)
            finally:
                self.try_depth -= 1
        except PSRuntimeError as err:
            clause = next((c for c in node.catches if _catches(c, err.record)), None)
            if clause is None:
                raise
            saved = self.variables.current.values.get("_")
            self.variables.set_local("_", err.record)
            try:
                self.exec_block(clause.body, emit)
            finally:
                self.variables.set_local("_", saved)
        finally:
            if node.finally_body is not None:
                self.exec_block(node.finally_body, emit)

    def _flow(self, node: ast.Flow, emit: Emit) -> None:
        value = self.statement_value(node.value) if node.value is not None else None
        if node.keyword == "throw":
            raise self._thrown(node, value)
        if node.keyword == "return":
            for item in enumerate_value(value):
                emit(item)
            raise ReturnSignal()
        if node.keyword == "exit":
            try:
                code = int(to_number(value)) if value is not None else 0
            except OperatorError:
                code = 1
            raise ExitSignal(code)
        raise BreakSignal() if node.keyword == "break" else ContinueSignal()

    def _thrown(self, node: ast.Flow, value: Any) -> PSRuntimeError:
        if isinstance(value, ErrorRecord):
            return PSRuntimeError(value, script_terminating=True)
        message = to_text(value) if value is not None else "ScriptHalted"
        record = ErrorRecord(message, category="OperationStopped", error_id=message,
                             target=value, extent=node.extent, reason="RuntimeException")
        return PSRuntimeError(record, script_terminating=True)

    def _function(self, node: ast.FunctionDef, emit: Emit) -> None:
        block = ScriptBlock(node.body, node.body.extent.text)
        self.functions[node.name.casefold()] = FunctionInfo(node.name, block)

    # -- script blocks ---------------------------------------------------------------------

    def invoke_block(self, block: ScriptBlock, input_object: Any, args: list[Any], *,
                     new_scope: bool, named: dict[str, Any] | None = None,
                     input_items: list[Any] | None = None) -> list[Any]:
        """Run a script block with ``$_`` = ``input_object``; return its output."""
        out: list[Any] = []
        variables = variables_scope = self.variables
        scope = variables.push() if new_scope else None
        saved = {key: variables.current.values.get(key, _UNSET) for key in ("_", "args")}
        self.depth += 1
        try:
            if self.depth > 200:
                raise RecursionError
            variables.set_local("_", input_object)
            variables.set_local("args", list(args))
            if block.node.params:
                self._bind_block_params(block, args, named or {})
            if input_items is not None:
                variables.set_local("input", input_items)
            with contextlib.suppress(ReturnSignal):
                self.exec_block(block.node.body, out.append)
        finally:
            self.depth -= 1
            if scope is not None:
                variables_scope.pop(scope)
            else:
                for key, value in saved.items():
                    if value is _UNSET:
                        variables.current.values.pop(key, None)
                    else:
                        variables.current.values[key] = value
        return out

    def _bind_block_params(self, block: ScriptBlock, args: list[Any], named: dict[str, Any]
                           ) -> None:
        remaining = list(args)
        for param in block.node.params:
            key = param.name.casefold()
            match = next((v for k, v in named.items() if param.name.casefold().startswith(
                k.casefold())), _UNSET)
            if match is not _UNSET:
                value = match
            elif remaining:
                value = remaining.pop(0)
            else:
                value = self.eval(param.default) if param.default is not None else None
            if param.type_name and value is not None:
                with contextlib.suppress(KeyError, ValueError, TypeError, ConversionError):
                    value = cast(value, param.type_name)
            self.variables.set_local(key, value)
        self.variables.set_local("args", remaining)


_UNSET = object()


def _catches(clause: ast.CatchClause, record: ErrorRecord) -> bool:
    if not clause.types:
        return True
    reason = record.CategoryInfo.Reason.lower()
    for type_name in clause.types:
        short = type_name.lower().rsplit(".", 1)[-1]
        if short in ("exception", "runtimeexception", "systemexception") or short == reason:
            return True
    return False


_STATEMENTS: dict[type, Callable[..., None]] = {
    ast.Pipeline: Runtime._pipeline,
    ast.Assignment: Runtime._assignment,
    ast.If: Runtime._if,
    ast.Foreach: Runtime._foreach,
    ast.While: Runtime._while,
    ast.For: Runtime._for,
    ast.Try: Runtime._try,
    ast.Switch: run_switch,
    ast.Flow: Runtime._flow,
    ast.FunctionDef: Runtime._function,
}
