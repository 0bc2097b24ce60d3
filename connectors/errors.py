"""The one error a transport raises: it says whether trying again later can help."""

from __future__ import annotations


class TransportError(Exception):
    """Sending failed. ``permanent``: the other side refused for good (no such mailbox, a malformed
    message, access denied), so the message fails at once; otherwise it is tried again later."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
