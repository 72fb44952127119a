"""Expression evaluation (a mixin of ``evaluator.Runtime``).

Values are plain Python values: None, bool, int, float, str, list (PowerShell arrays),
``Hashtable``, ``PSObject``, datetime/timedelta, bytes, ``ScriptBlock``, ``TypeRef``.
Failures become statement-terminating ``PSRuntimeError``s pointing at the failing node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cmdlets.base import PSObject
from shell.lang import ast
from shell.lang.convert import ConversionError, cast
from shell.lang.errors import ErrorRecord, PSRuntimeError, runtime_error
from shell.lang.members import MemberError, call_method, collapse, get_member
from shell.lang.operators import (
    ARITHMETIC,
    OperatorError,
    as_list,
    compare,
    negate,
    range_values,
    to_number,
    truthy,
    unary_split,
)
from shell.lang.scope import VariableError
from shell.lang.statics import StaticError, call_static, get_static, static_type
from shell.lang.textformat import FormatError, format_operator
from shell.lang.typenames import is_instance
from shell.lang.values import ScriptBlock, TypeRef
from shell.objects import Hashtable, to_text

if TYPE_CHECKING:
    from shell.lang.evaluator import Host
    from shell.lang.scope import Variables

_HANDLED = (OperatorError, ConversionError, MemberError, StaticError, FormatError, VariableError)


class Expressions:
    """``eval(node)`` for every expression node."""

    if TYPE_CHECKING:  # provided by evaluator.Runtime
        host: Host
        variables: Variables

        def statement_value(self, node: ast.Statement) -> Any: ...

        def run_statements(self, statements: Any, emit: Any, after_each: Any = None
                           ) -> None: ...

        def invoke_block(self, block: ScriptBlock, input_object: Any, args: list[Any], *,
                         new_scope: bool, named: dict[str, Any] | None = None,
                         input_items: list[Any] | None = None) -> list[Any]: ...

        def store(self, target: ast.Expr, value: Any) -> None: ...

    def eval(self, node: ast.Expr) -> Any:
        handler = _DISPATCH.get(type(node))
        if handler is None:
            raise runtime_error(f"Unexpected token '{node.extent.text}' in expression or "
                                "statement.", "UnexpectedToken", node.extent)
        try:
            return handler(self, node)
        except _HANDLED as err:
            raise self.expression_error(err, node) from None

    def expression_error(self, err: Exception, node: ast.Node) -> PSRuntimeError:
        error_id = getattr(err, "error_id", "RuntimeException")
        category = getattr(err, "category", "InvalidOperation")
        record = ErrorRecord(getattr(err, "message", str(err)), category=category,
                             error_id=error_id, extent=node.extent, reason="RuntimeException")
        return PSRuntimeError(record)

    # -- leaves --------------------------------------------------------------------------

    def _constant(self, node: ast.Constant) -> Any:
        return node.value

    def _expandable(self, node: ast.ExpandableString) -> str:
        return "".join(part if isinstance(part, str) else to_text(self.eval(part))
                       for part in node.parts)

    def _variable(self, node: ast.Variable) -> Any:
        return self.variables.get(node.name, node.scope)

    def _array(self, node: ast.ArrayLiteral) -> list[Any]:
        return [self.eval(item) for item in node.items]

    def _hash(self, node: ast.HashLiteral) -> Hashtable:
        table = Hashtable()
        for key_node, value_node in node.entries:
            key = self.eval(key_node)
            if key in table:
                raise runtime_error(f"Duplicate keys '{to_text(key)}' are not allowed in hash "
                                    "literals.", "DuplicateKeyInHashLiteral", key_node.extent)
            table[key] = self.statement_value(value_node)
        return table

    def _script_block(self, node: ast.ScriptBlockExpr) -> ScriptBlock:
        return ScriptBlock(node, node.extent.text)

    def _paren(self, node: ast.ParenExpr) -> Any:
        return self.statement_value(node.statement)

    def _subexpr(self, node: ast.SubExpr) -> Any:
        out: list[Any] = []
        self.run_statements(node.body.statements, out.append)
        return out if node.array else collapse(out)

    def _type_literal(self, node: ast.TypeLiteral) -> TypeRef:
        full = static_type(node.name)
        if full is None:
            raise StaticError(f"Unable to find type [{node.name}].", "TypeNotFound")
        return TypeRef(full.rsplit(".", 1)[-1], full)

    # -- members ---------------------------------------------------------------------------

    def _member_name(self, node: ast.Expr) -> str:
        return to_text(self.eval(node))

    def _member(self, node: ast.Member) -> Any:
        name = self._member_name(node.name)
        if node.static:
            return get_static(self._static_type_name(node.target), name)
        return get_member(self.eval(node.target), name)

    def _static_type_name(self, target: ast.Expr) -> str:
        if isinstance(target, ast.TypeLiteral):
            return target.name
        value = self.eval(target)
        return value.FullName if isinstance(value, TypeRef) else to_text(value)

    def _method(self, node: ast.MethodCall) -> Any:
        name = self._member_name(node.name)
        if node.static:
            type_name = self._static_type_name(node.target)
            args = [self.eval(arg) for arg in node.args]
            return call_static(type_name, name, args, self.host.resolve_path)
        target = self.eval(node.target)
        args = [self.eval(arg) for arg in node.args]
        return call_method(target, name, args, self.invoke_for_method)

    def invoke_for_method(self, block: ScriptBlock, item: Any, args: list[Any]
                          ) -> list[Any]:
        return self.invoke_block(block, item, args, new_scope=False)

    def _index(self, node: ast.Index) -> Any:
        target = self.eval(node.target)
        index = self.eval(node.index)
        if target is None:
            raise runtime_error("Cannot index into a null array.", "NullArray", node.extent)
        if isinstance(index, list):
            picked = [self._index_one(target, i) for i in index]
            return [p for p in picked if p is not None]
        return self._index_one(target, index)

    def _index_one(self, target: Any, index: Any) -> Any:
        if isinstance(target, dict):
            return target.get(index)
        if isinstance(target, str | list | tuple | bytes | bytearray):
            position = int(to_number(index))
            if -len(target) <= position < len(target):
                return target[position]
            return None
        if isinstance(target, PSObject) and isinstance(index, str):
            return target.get(index)
        return target if int(to_number(index)) in (0, -1) else None

    # -- operators -------------------------------------------------------------------------

    def _cast(self, node: ast.Cast) -> Any:
        value = self.eval(node.operand)
        try:
            return cast(value, node.type_name)
        except KeyError:
            raise StaticError(f"Unable to find type [{node.type_name}].", "TypeNotFound") from None

    def _unary(self, node: ast.Unary) -> Any:
        op = node.op
        if op in ("++", "--", "p++", "p--"):
            old = self.eval(node.operand)
            new = ARITHMETIC["+" if "+" in op else "-"](old, 1)
            self.store(node.operand, new)
            return old if op.startswith("p") else new
        value = self.eval(node.operand)
        unary: dict[str, Callable[[Any], Any]] = {
            "not": lambda v: not truthy(v),
            "-": negate,
            "+": to_number,
            "bnot": lambda v: ~int(to_number(v)),
            "split": unary_split,
            "join": lambda v: "".join(to_text(item) for item in as_list(v)),
            ",": lambda v: [v],
        }
        return unary[op](value)

    def _binary(self, node: ast.Binary) -> Any:
        op = node.op
        if op in ("and", "or"):
            left = truthy(self.eval(node.left))
            if left == (op == "or"):
                return left
            return truthy(self.eval(node.right))
        left, right = self.eval(node.left), self.eval(node.right)
        if op in ARITHMETIC:
            return ARITHMETIC[op](left, right)
        if op == "xor":
            return truthy(left) != truthy(right)
        if op == "..":
            return range_values(left, right)
        if op == "f":
            return format_operator(to_text(left), as_list(right))
        if op in ("is", "isnot"):
            type_name = right.FullName if isinstance(right, TypeRef) else to_text(right)
            return is_instance(left, type_name) == (op == "is")
        if op == "as":
            type_name = right.FullName if isinstance(right, TypeRef) else to_text(right)
            try:
                return cast(left, type_name)
            except (ConversionError, KeyError):
                return None
        result, matches = compare(op, left, right)
        if matches is not None:
            self.variables.set_local("Matches", matches)
        return result


_DISPATCH: dict[type, Callable[..., Any]] = {
    ast.Constant: Expressions._constant,
    ast.ExpandableString: Expressions._expandable,
    ast.Variable: Expressions._variable,
    ast.ArrayLiteral: Expressions._array,
    ast.HashLiteral: Expressions._hash,
    ast.ScriptBlockExpr: Expressions._script_block,
    ast.ParenExpr: Expressions._paren,
    ast.SubExpr: Expressions._subexpr,
    ast.TypeLiteral: Expressions._type_literal,
    ast.Member: Expressions._member,
    ast.MethodCall: Expressions._method,
    ast.Index: Expressions._index,
    ast.Cast: Expressions._cast,
    ast.Unary: Expressions._unary,
    ast.Binary: Expressions._binary,
}
