"""A local SMTP server for tests and demos (aiosmtpd, a development dependency): it keeps what it
receives and answers like a real server, including the failures a real one gives.

    with SmtpSimulator() as smtp:          # listens on 127.0.0.1, a free port
        channel = EmailChannel.from_settings(smtp.url, "eiso@example.vn", "https://eiso.example.vn")
        smtp.refuse("nobody@example.vn")   # 550 for that recipient: a permanent failure
        smtp.fail_next(2)                  # 451 for the next two mails: temporary failures
        ...
        smtp.messages, smtp.unique()       # everything received; without duplicate Message-IDs

``python -m connectors.email.simulator [PORT]`` runs one and prints each mail, for a demo:
``EISO_SMTP_URL=smtp+plain://127.0.0.1:PORT``.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSimulator:
    def __init__(self, port: int | None = None, *, echo: bool = False) -> None:
        self.port = port or free_port()
        self.messages: list[Message] = []
        self.refused: set[str] = set()
        self.temporary_failures = 0
        self.echo = echo
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp+plain://127.0.0.1:{self.port}"

    def refuse(self, address: str) -> None:
        """Answer 550 (no such mailbox) to this recipient from now on."""
        self.refused.add(address.lower())

    def fail_next(self, count: int = 1) -> None:
        """Answer 451 (try again later) to the next ``count`` mails."""
        self.temporary_failures += count

    def unique(self) -> list[Message]:
        """What a receiver that drops repeated Message-IDs keeps."""
        seen: dict[str, Message] = {}
        for message in self.messages:
            seen.setdefault(str(message["Message-ID"]), message)
        return list(seen.values())

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802 - aiosmtpd's hook
                          rcpt_options: list[str]) -> str:  # fmt: skip
        if address.lower() in self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        with self._lock:
            if self.temporary_failures > 0:
                self.temporary_failures -= 1
                return "451 4.3.0 Temporary failure, try again later"
            message = message_from_bytes(envelope.original_content)
            self.messages.append(message)
        if self.echo:
            print(f"--- to {envelope.rcpt_tos}\n{message.as_string()}", flush=True)
        return "250 OK"

    def start(self) -> SmtpSimulator:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    simulator = SmtpSimulator(int(sys.argv[1]) if len(sys.argv) > 1 else 2525, echo=True).start()
    print(f"SMTP simulator at {simulator.url}; Ctrl+C stops it.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        simulator.stop()
