"""The interactive host: cmd2 as the line reader, and nothing more.

cmd2 gives the prompt, persistent history, multi-line continuation and tab completion.
Its own language (``|`` and ``>`` redirection, ``;`` terminators, shortcuts, macros,
``shell``, ``run_script``) would break PowerShell syntax, so every line is routed past it:
a replacement ``StatementParser`` marks each line as the pseudo-command ``__ps__``; cmd2
finds no ``do___ps__`` and calls ``default()``, which hands the raw text to the session.
Only ``history``, ``quit`` and ``exit`` stay cmd2 built-ins (``exit`` also works in the
language).  While the text is incomplete (open quote, brace, parenthesis, trailing ``|``
or backtick) the parser marks it multi-line so cmd2 asks for more; a blank line ends the
continuation and lets the parse error surface.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import cmd2
from cmd2 import Statement
from cmd2.parsing import PartialStatement, StatementParser

from shell.completion import Completer, finalizes
from shell.history import is_sensitive
from shell.lang.parser import needs_more
from shell.session import Session

# cmd2 built-ins that stay reachable; everything else is the language's.
KEPT_BUILTINS = frozenset({"history", "quit"})
PS_COMMAND = "__ps__"


def _continuation_ended(line: str) -> bool:
    """A blank physical line after the first ends multi-line input (as the console does)."""
    return "\n" in line and not line.rsplit("\n", 1)[1].strip()


class LanguageStatementParser(StatementParser):
    """Hands every line to the language untouched; only asks cmd2 for more lines."""

    def __init__(self) -> None:
        super().__init__(terminators=[], multiline_commands=[], aliases={}, shortcuts={})

    def parse(self, line: str) -> Statement:
        stripped = line.strip()
        if not stripped:
            return Statement("", raw=line)
        first = stripped.split(None, 1)[0]
        if first.casefold() in KEPT_BUILTINS and "\n" not in stripped:
            rest = stripped[len(first):].strip()
            return Statement(rest, raw=line, command=first.casefold())
        incomplete = needs_more(line) and not _continuation_ended(line)
        return Statement(stripped, raw=line, command=PS_COMMAND, multiline_command=incomplete)

    def parse_command_only(self, rawinput: str) -> PartialStatement:
        statement = self.parse(rawinput)
        return PartialStatement(
            command=statement.command,
            args=statement.args,
            raw=rawinput,
            multiline_command=statement.multiline_command,
        )


class ImshShell(cmd2.Cmd):
    """The interactive shell: ``PS state>`` prompt, history, completion, colour."""

    # cmd2's own commands (shell, edit, run_script, alias, macro, set ...) are unreachable:
    # the statement parser routes every line but `history` and `quit` to the language.

    def __init__(self, session: Session, *, history_file: Path | None = None, **kwargs: Any):
        super().__init__(
            allow_cli_args=False,
            allow_redirection=False,
            terminators=[],
            shortcuts={},
            persistent_history_file=str(history_file) if history_file else "",
            # identities come from the session's state store, whose connection belongs to
            # the main thread: completing in prompt_toolkit's worker thread would fail
            complete_in_thread=False,
            **kwargs,
        )
        self.session = session
        self.completer = Completer(session)
        self.statement_parser = LanguageStatementParser()
        self.continuation_prompt = ">> "
        # the terminal session captured cmd2's default continuation prompt when it was built
        if getattr(self, "main_session", None) is not None:
            self.main_session.prompt_continuation = self.continuation_prompt
        self.default_error = "{}"
        self._set_prompt()
        self._install_highlighting()

    def _set_prompt(self) -> None:
        self.prompt = f"PS {self.session.cwd}> "

    def _install_highlighting(self) -> None:
        if os.environ.get("NO_COLOR"):
            return
        try:
            from prompt_toolkit.lexers import PygmentsLexer
            from pygments.lexers.shell import PowerShellLexer
        except ImportError:  # colour is a nicety; plain input still works
            return
        session = getattr(self, "main_session", None)
        if session is not None:
            session.lexer = PygmentsLexer(PowerShellLexer)

    def default(self, statement: Statement) -> bool | None:
        """Run one complete chunk of language text."""
        if not is_sensitive(statement.raw):  # kept out of the history file (shell/history.py)
            self.history.append(statement)
        result = self.session.run(statement.raw, source="<console>")
        self._set_prompt()
        if result.exit_requested is not None:
            self.exit_code = result.exit_requested
            return True
        return None

    def complete(
        self,
        text: str,
        line: str,
        begidx: int,
        endidx: int,
        custom_settings: Any = None,
    ) -> cmd2.Completions:
        if custom_settings is not None:
            return super().complete(text, line, begidx, endidx, custom_settings)
        candidates = self.completer.candidates(text, line, begidx, endidx)
        completions = cmd2.Completions.from_values(candidates)
        if not finalizes(candidates):  # `$var` may go on with `.Name`, a directory with `/`
            completions = dataclasses.replace(completions, allow_finalization=False)
        return completions
