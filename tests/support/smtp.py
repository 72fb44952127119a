"""An SMTP sink on 127.0.0.1 for tests of notification mail (aiosmtpd in a thread).

Every message the sink accepts is kept in `SmtpSink.messages`, in arrival order.
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.ports import free_port

LOOPBACK = "127.0.0.1"
START_ATTEMPTS = 5


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted SMTP transaction."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass(eq=False)
class SmtpSink:
    """A running sink; `messages` grows as mail arrives."""

    host: str
    port: int
    messages: list[ReceivedMail] = field(default_factory=list)
    _controller: Controller | None = field(default=None, repr=False)
    _arrived: threading.Condition = field(default_factory=threading.Condition, repr=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        mail = ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
        with self._arrived:
            self.messages.append(mail)
            self._arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Block until at least `count` messages arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.messages)} of {count} messages in {timeout}s")
                self._arrived.wait(left)
            return list(self.messages)

    def clear(self) -> None:
        with self._arrived:
            self.messages.clear()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def start_smtp() -> SmtpSink:
    """Start a sink on a free port of 127.0.0.1 (retrying if the port gets taken)."""
    failure: Exception | None = None
    for _ in range(START_ATTEMPTS):
        sink = SmtpSink(LOOPBACK, free_port())
        controller = Controller(sink, hostname=LOOPBACK, port=sink.port, ready_timeout=5.0)
        try:
            controller.start()
        except (OSError, TimeoutError) as exc:
            failure = exc
            continue
        sink._controller = controller
        return sink
    raise RuntimeError(f"SMTP sink did not start: {failure}")
