"""The layers of DESIGN.md §1: arrows only point down, and the engine never prints."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def _print_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    ]


def test_engine_imports_neither_shell_nor_cmdlets_nor_cmd2() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & {"shell", "cmdlets", "cmd2"})
        for path in _modules("engine")
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_engine_never_prints() -> None:
    offenders = {str(p.relative_to(ROOT)): _print_calls(p) for p in _modules("engine")}
    assert {path: lines for path, lines in offenders.items() if lines} == {}


def test_cmdlets_do_not_import_the_shell() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & {"shell", "cmd2"})
        for path in _modules("cmdlets")
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_the_check_sees_every_layer() -> None:
    # guards the tests above against passing vacuously on an empty tree
    assert _modules("engine") and _modules("cmdlets") and _modules("shell")


def _class_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]


def test_no_class_name_is_defined_twice_under_engine() -> None:
    # one word per concept: two classes of one name make importers rename one of them
    homes: dict[str, list[str]] = {}
    for path in _modules("engine"):
        for name in _class_names(path):
            homes.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert {name: where for name, where in homes.items() if len(where) > 1} == {}


IMAPLIB_PRIVATE = re.compile(r"(?<!self)\._(command|command_complete|untagged_response|new_tag|"
                             r"get_tagged_response|simple_command|get_response|imap|"
                             r"normalise_folder)\b")


def test_imaplib_private_names_appear_in_engine_imap_wire_only() -> None:
    # an imaplib/imapclient upgrade that changes them is then fixed in one file
    wire = ROOT / "engine" / "imap" / "wire.py"
    offenders = {
        str(path.relative_to(ROOT)): [n for n, line in enumerate(lines, 1)
                                      if IMAPLIB_PRIVATE.search(line)]
        for path in _modules("engine") if path != wire
        for lines in [path.read_text(encoding="utf-8").splitlines()]
    }
    assert {path: hits for path, hits in offenders.items() if hits} == {}
    assert IMAPLIB_PRIVATE.search(wire.read_text(encoding="utf-8"))


CONTRACT = {"engine.targets.base"}


def test_engine_sync_sees_targets_only_through_the_contract() -> None:
    offenders: dict[str, list[str]] = {}
    for path in _modules("engine/sync"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "engine.targets":
                names = [f"engine.targets.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            bad = [n for n in names if n.startswith("engine.targets.") and n not in CONTRACT]
            if bad:
                offenders.setdefault(str(path.relative_to(ROOT)), []).extend(bad)
    assert offenders == {}


def test_engine_sync_never_touches_a_raw_imap_client() -> None:
    # the source and the targets own their protocol; the sync asks them, never their sessions
    raw = re.compile(r"\.session\.client\b|^\s*(from|import) imapclient\b")
    offenders = {
        str(path.relative_to(ROOT)): [n for n, line in enumerate(lines, 1) if raw.search(line)]
        for path in _modules("engine/sync")
        for lines in [path.read_text(encoding="utf-8").splitlines()]
    }
    assert {path: hits for path, hits in offenders.items() if hits} == {}
