"""The real imsh session for end-to-end tests: every cmdlet registered, a fresh state directory.

``RealShell.run`` returns what one chunk printed on stdout and fails the test when the chunk
reported an error; ``run_failing`` returns stdout, stderr and the result for error cases.
Relative paths in scripts resolve against ``workdir``; the store lives in ``state_dir``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from shell.session import RunResult, Session
from shell.wiring import build_session


@dataclass
class RealShell:
    session: Session
    out: io.StringIO
    err: io.StringIO
    workdir: Path
    state_dir: Path

    def run_failing(self, text: str) -> tuple[str, str, RunResult]:
        out_start, err_start = len(self.out.getvalue()), len(self.err.getvalue())
        result = self.session.run(text)
        return self.out.getvalue()[out_start:], self.err.getvalue()[err_start:], result

    def run(self, text: str) -> str:
        out, err, result = self.run_failing(text)
        assert err == "" and result.ok and not result.had_errors, err
        return out

    def lines(self, text: str) -> list[str]:
        return self.run(text).splitlines()


def real_shell(state_dir: Path, workdir: Path, stdin: str = "") -> RealShell:
    out, err = io.StringIO(), io.StringIO()
    session = build_session(str(state_dir), interactive=False, stdin=io.StringIO(stdin),
                            stdout=out, stderr=err)
    session.cwd = workdir
    return RealShell(session, out, err, workdir, state_dir)
