"""Syntax tree nodes.  Every node keeps its source ``extent`` for error positions.

``dump(node)`` renders a tree as a compact S-expression; tests compare against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from shell.lang.tokens import Extent


@dataclass(kw_only=True)
class Node:
    extent: Extent = field(repr=False, compare=False)


# -- expressions -----------------------------------------------------------------------------


@dataclass(kw_only=True)
class Expr(Node):
    pass


@dataclass(kw_only=True)
class Constant(Expr):
    value: Any
    bareword: bool = False  # a generic token in argument mode (for error texts)


@dataclass(kw_only=True)
class ExpandableString(Expr):
    parts: list[str | Expr]


@dataclass(kw_only=True)
class Variable(Expr):
    name: str  # without scope prefix
    scope: str = ""  # global, script, local, env, ... (lower case)
    splat: bool = False


@dataclass(kw_only=True)
class ArrayLiteral(Expr):
    items: list[Expr]


@dataclass(kw_only=True)
class HashLiteral(Expr):
    entries: list[tuple[Expr, Statement]]
    ordered: bool = False


@dataclass(kw_only=True)
class Attribute(Node):
    """``[Parameter(Mandatory, Position=0)]``, ``[CmdletBinding()]``, ``[ValidateSet('a')]``.

    ``named`` holds ``Name = value`` arguments (value None for a bare ``Mandatory``)."""

    name: str
    args: list[Expr] = field(default_factory=list)
    named: list[tuple[str, Expr | None]] = field(default_factory=list)


@dataclass(kw_only=True)
class ParamDecl(Node):
    """One parameter of a ``param( )`` block or ``function F($a, $b)``."""

    name: str
    type_name: str | None = None  # the last type constraint, ``[int]`` -> "int"
    default: Expr | None = None
    attributes: list[Attribute] = field(default_factory=list)


@dataclass(kw_only=True)
class ScriptBlockExpr(Expr):
    body: StatementList  # the end block (the whole body when there are no named blocks)
    params: list[ParamDecl] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)  # before param: [CmdletBinding()]
    begin: StatementList | None = None
    process: StatementList | None = None


@dataclass(kw_only=True)
class ParenExpr(Expr):
    statement: Statement


@dataclass(kw_only=True)
class SubExpr(Expr):
    body: StatementList
    array: bool = False  # @( ) instead of $( )


@dataclass(kw_only=True)
class Member(Expr):
    target: Expr
    name: Expr
    static: bool = False


@dataclass(kw_only=True)
class MethodCall(Expr):
    target: Expr
    name: Expr
    args: list[Expr]
    static: bool = False


@dataclass(kw_only=True)
class Index(Expr):
    target: Expr
    index: Expr


@dataclass(kw_only=True)
class TypeLiteral(Expr):
    name: str


@dataclass(kw_only=True)
class Cast(Expr):
    type_name: str
    operand: Expr


@dataclass(kw_only=True)
class Unary(Expr):
    op: str  # not ! - + bnot split join , ++ -- (postfix: p++ p--)
    operand: Expr


@dataclass(kw_only=True)
class Binary(Expr):
    op: str  # lower-case operator name without dash (eq, ceq, +, .., and, ...)
    left: Expr
    right: Expr


# -- statements ------------------------------------------------------------------------------


@dataclass(kw_only=True)
class Statement(Node):
    pass


@dataclass(kw_only=True)
class StatementList(Node):
    statements: list[Statement]
    # a script's leading ``param(...)`` block (only on the outermost list of a script)
    params: list[ParamDecl] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)  # [CmdletBinding()] before it


@dataclass(kw_only=True)
class CommandParameter(Node):
    name: str
    value: Expr | None = None  # set for -Name:value
    colon: bool = False


@dataclass(kw_only=True)
class CommandArgument(Node):
    value: Expr


@dataclass(kw_only=True)
class Command(Node):
    name: Expr  # a Constant bareword, or any expression after &
    elements: list[CommandParameter | CommandArgument]
    call_operator: bool = False


@dataclass(kw_only=True)
class Redirection(Node):
    stream: str  # "1", "2", "*"
    append: bool = False
    target: Expr | None = None  # a file path expression
    merge: bool = False  # 2>&1


@dataclass(kw_only=True)
class Pipeline(Statement):
    elements: list[Command | Expr]
    redirections: list[Redirection] = field(default_factory=list)


@dataclass(kw_only=True)
class Assignment(Statement):
    target: Expr
    op: str  # = += -= *= /= %=
    value: Statement


@dataclass(kw_only=True)
class If(Statement):
    clauses: list[tuple[Statement, StatementList]]
    else_body: StatementList | None = None


@dataclass(kw_only=True)
class Foreach(Statement):
    variable: Variable
    iterable: Statement
    body: StatementList


@dataclass(kw_only=True)
class While(Statement):
    condition: Statement
    body: StatementList
    do: bool = False  # do { } while ( )
    until: bool = False  # do { } until ( )


@dataclass(kw_only=True)
class For(Statement):
    init: Statement | None
    condition: Statement | None
    step: Statement | None
    body: StatementList


@dataclass(kw_only=True)
class SwitchClause(Node):
    condition: Expr | None  # None is the ``default`` clause
    body: StatementList


@dataclass(kw_only=True)
class Switch(Statement):
    mode: str  # exact wildcard regex
    case_sensitive: bool
    subject: Statement
    clauses: list[SwitchClause]


@dataclass(kw_only=True)
class CatchClause(Node):
    types: list[str]
    body: StatementList


@dataclass(kw_only=True)
class Try(Statement):
    body: StatementList
    catches: list[CatchClause]
    finally_body: StatementList | None = None


@dataclass(kw_only=True)
class Flow(Statement):
    keyword: str  # throw return exit break continue
    value: Statement | None = None


@dataclass(kw_only=True)
class FunctionDef(Statement):
    name: str
    body: ScriptBlockExpr


# -- dump ------------------------------------------------------------------------------------


def dump(node: Any) -> str:
    """A compact, stable text form of a tree (for tests and debugging)."""
    if isinstance(node, Constant):
        return repr(node.value)
    if isinstance(node, ParamDecl) and node.type_name is None and node.default is None \
            and not node.attributes:
        return "$" + node.name
    if isinstance(node, Variable):
        return "$" + (node.scope + ":" if node.scope else "") + node.name
    if isinstance(node, Binary):
        return f"({node.op} {dump(node.left)} {dump(node.right)})"
    if isinstance(node, Unary):
        return f"({node.op} {dump(node.operand)})"
    if isinstance(node, Pipeline) and len(node.elements) == 1 and not node.redirections:
        return dump(node.elements[0])
    if isinstance(node, StatementList):
        return "{" + "; ".join(dump(s) for s in node.statements) + "}"
    if isinstance(node, Command):
        words = [dump(node.name)] + [dump(e) for e in node.elements]
        return "(cmd " + " ".join(words) + ")"
    if isinstance(node, CommandParameter):
        suffix = ":" + dump(node.value) if node.value is not None else ""
        return f"-{node.name}{suffix}"
    if isinstance(node, CommandArgument):
        return dump(node.value)
    if isinstance(node, list):
        return "[" + " ".join(dump(item) for item in node) + "]"
    if isinstance(node, tuple):
        return "(" + " ".join(dump(item) for item in node) + ")"
    if isinstance(node, ScriptBlockExpr):
        extra = "".join(f" {label}={dump(value)}" for label, value in (
            ("attributes", node.attributes), ("begin", node.begin), ("process", node.process))
            if value)
        return f"(ScriptBlockExpr {dump(node.body)} {dump(node.params)}{extra})"
    if isinstance(node, Node):
        name = type(node).__name__
        parts = [dump(getattr(node, f.name)) for f in fields(node) if f.name != "extent"]
        return f"({name} " + " ".join(parts) + ")"
    return repr(node)
