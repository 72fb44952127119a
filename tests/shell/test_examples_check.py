"""Every example an admin may copy — each cmdlet's Get-Help examples and the code blocks of
README.md and docs/*.md — parses, names cmdlets that exist and parameters those cmdlets have.

This is the check for all of them (no server needed: nothing is run). The ones a server can run
are also run for real against Dovecot: tests/integration/test_examples_run.py. An `imsh ...`
line in a shell block must be a command line imsh accepts (and its -c line passes the same
check). A new example with a typo'd parameter, a removed cmdlet or PowerShell 5.1-only syntax
(``-Encoding Byte``) fails here, naming the file or the cmdlet.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmdlets.base import Cmdlet
from shell.lang import ast
from shell.lang.binder import BindingError, resolve_parameter
from shell.lang.parser import parse
from shell.main import UsageError, parse_command_line
from shell.wiring import build_registry

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
REGISTRY = build_registry()
_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")


def help_examples() -> list[tuple[str, str]]:
    classes: list[type[Cmdlet]] = sorted(
        {REGISTRY.find(name) for name in REGISTRY.names()} - {None},  # type: ignore[arg-type]
        key=lambda cls: cls.name)
    return [(f"{cls.name} example {n}", example.code)
            for cls in classes for n, example in enumerate(cls.examples, 1)]


def code_blocks() -> Iterator[tuple[str, str, str]]:
    """(where, language, text) of every fenced block in the docs."""
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            opened = _FENCE.match(lines[i])
            if not opened:
                i += 1
                continue
            start, indent, language = i, opened.group(1), opened.group(2)
            i += 1
            body = []
            while i < len(lines) and not _FENCE.match(lines[i]):
                body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
                i += 1
            i += 1
            yield f"{path.relative_to(ROOT)}:{start + 1}", language, "\n".join(body)


NOT_IMSH = "# in Exchange Online PowerShell, not imsh"  # a block's first line: not for imsh


def doc_powershell() -> list[tuple[str, str]]:
    return [(where, text) for where, language, text in code_blocks()
            if language in ("powershell", "ps", "ps1") and not text.startswith(NOT_IMSH)]


def doc_imsh_lines() -> list[tuple[str, str]]:
    found = []
    for where, language, text in code_blocks():
        if language not in ("sh", "bash", "shell", "console"):
            continue
        for line in text.splitlines():
            command = line.split("#", 1)[0].strip()
            if command.startswith("imsh ") or command == "imsh":
                found.append((where, command))
    return found


def commands(node: object) -> Iterator[ast.Command]:
    if isinstance(node, ast.Command):
        yield node
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for item in dataclasses.fields(node):
            yield from commands(getattr(node, item.name))
    elif isinstance(node, list | tuple):
        for item in node:
            yield from commands(item)


def functions(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, ast.FunctionDef):
        found.add(node.name.lower())
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for item in dataclasses.fields(node):
            found |= functions(getattr(node, item.name))
    elif isinstance(node, list | tuple):
        for item in node:
            found |= functions(item)
    return found


def check_code(where: str, text: str) -> None:
    """Parse ``text``; every command a known cmdlet (or a function it defines), every
    ``-Parameter`` one of that cmdlet's."""
    tree = parse(text, where)
    assert tree.statements, f"{where}: no statement in {text!r}"
    defined = functions(tree)
    for command in commands(tree):
        if not (isinstance(command.name, ast.Constant) and isinstance(command.name.value, str)):
            continue
        name = command.name.value
        if name.lower() in defined:
            continue
        cls = REGISTRY.find(name)
        if cls is None:
            pytest.fail(f"{where}: {name} is not a cmdlet imsh has ({text!r})")
        elements = command.elements
        for n, element in enumerate(elements):
            if not isinstance(element, ast.CommandParameter):
                continue
            try:
                param = resolve_parameter(cls, element.name)
            except BindingError as exc:
                pytest.fail(f"{where}: {name} -{element.name}: {exc.message}")
            value = element.value
            if value is None and n + 1 < len(elements) \
                    and isinstance(elements[n + 1], ast.CommandArgument):
                value = elements[n + 1].value  # type: ignore[union-attr]
            word = value.value if isinstance(value, ast.Constant) else None
            if param.choices and isinstance(word, str) and not word.startswith("$") \
                    and word.lower() not in (c.lower() for c in param.choices):
                pytest.fail(f"{where}: {name} -{param.name} {word}: not one of "
                            + ", ".join(param.choices))


@pytest.mark.parametrize(("where", "code"), help_examples(), ids=[w for w, _ in help_examples()])
def test_every_get_help_example_names_real_cmdlets_and_parameters(where: str, code: str) -> None:
    check_code(where, code)


@pytest.mark.parametrize(("where", "code"), doc_powershell(),
                         ids=[w for w, _ in doc_powershell()])
def test_every_powershell_block_in_the_docs_names_real_cmdlets_and_parameters(
        where: str, code: str) -> None:
    check_code(where, code)


@pytest.mark.parametrize(("where", "line"), doc_imsh_lines(),
                         ids=[f"{w} {line}" for w, line in doc_imsh_lines()])
def test_every_imsh_command_line_in_the_docs_is_one_imsh_accepts(where: str, line: str) -> None:
    argv = shlex.split(line)[1:]
    try:
        invocation = parse_command_line(argv)
    except UsageError as exc:
        pytest.fail(f"{where}: {line}: {exc}")
    if invocation.command is not None:
        check_code(where, invocation.command)


def test_there_are_examples_to_check() -> None:
    assert len(help_examples()) >= 80
    assert len(doc_powershell()) >= 4
    assert len(doc_imsh_lines()) >= 5


@pytest.mark.parametrize("bad", [
    "Get-MigrationUserStatistics -BatchId B",        # the first help screen's old mistake
    "Get-MigrationUser | Export-Csv u.csv -Encoding Byte",  # no such encoding for text
    "Get-MigrationBach -Identity B",
])
def test_the_check_catches_what_admins_were_given_before(bad: str) -> None:
    with pytest.raises(pytest.fail.Exception):
        check_code("sample", bad)
