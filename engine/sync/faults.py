"""The step-count hook: where the executor may be stopped, so crash safety can be proven.

The executor calls its :data:`StepHook` with a step name right after every side-effecting step
(a committed intent, an append, a committed record, a flag change, a deletion, a folder
operation). Production uses :func:`no_hook`. Tests pass :class:`CrashAtStep`, which raises
:class:`SimulatedCrash` at the N-th call: the executor then unwinds without committing anything
more, exactly as if the process had been killed at that instant (open transactions roll back),
and a fresh ``sync_user`` call must resume without losing or duplicating a message.

:class:`SimulatedCrash` derives from ``BaseException`` so that no ``except Exception`` on the way
out can swallow it and "recover" in a way a real kill would not allow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

StepHook = Callable[[str], None]

# Step names, in the order one append batch passes them.
BEFORE_APPEND = "before_append"  # the pending rows are committed; nothing appended yet
AFTER_APPEND = "after_append"  # the target holds the batch; nothing recorded yet
AFTER_RECORD = "after_record"  # the copies and counters are committed
AFTER_RESOLVE = "after_resolve"  # a pending row was resolved (copied or forgotten)
AFTER_FLAGS = "after_flags"  # the target copy's flags changed; not yet recorded
AFTER_FLAGS_RECORD = "after_flags_record"
AFTER_DELETE = "after_delete"  # target copies deleted; rows not yet dropped
AFTER_FORGET = "after_forget"  # rows dropped / detached / re-keyed
AFTER_SKIP = "after_skip"  # skipped items recorded
AFTER_FOLDER_OP = "after_folder_op"  # a target folder was created, renamed or deleted
AFTER_FOLDER_STATE = "after_folder_state"  # a folder's state row was saved


def no_hook(step: str) -> None:
    """The production hook: do nothing."""


class SimulatedCrash(BaseException):
    """Raised by a test hook to stop the executor as a kill would."""


@dataclass
class CrashAtStep:
    """Crash at the ``at``-th step (1-based); ``at=0`` never crashes and just counts."""

    at: int = 0
    count: int = 0
    steps: list[str] = field(default_factory=list)

    def __call__(self, step: str) -> None:
        self.count += 1
        self.steps.append(step)
        if self.at and self.count == self.at:
            raise SimulatedCrash(f"simulated crash at step {self.count} ({step})")
