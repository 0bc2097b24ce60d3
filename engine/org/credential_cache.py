"""A short memory of HTTP Basic credentials that were verified, so that a Camunda worker polling every second
with its password does not cost a password hash (scrypt, ~0.1 s of CPU on purpose) per call.

- Kept in the memory of one server process, under a keyed hash (HMAC-SHA-256 with a random key made at
  start-up) of the user name and password: neither the password nor a reusable hash of it is kept, and
  nothing is written anywhere. Each process has its own; a worker whose calls are spread over several
  processes pays one password hash per process per ``ttl``.
- Only successes are remembered. A wrong password is never found here: it costs its password hash and
  counts against the log-in limits (``login_guard``) as before, and a locked account or address is refused
  before this memory is looked at.
- A remembered entry lasts ``ttl`` seconds at most and is only good while the account is unchanged: every
  use reads the account row (which the request needs anyway) and checks that it is still active, has the
  same name and the same password hash. A password change, a deactivation or a rename, made by any
  process, ends it at the next request. Roles are never remembered: every call reads them.
- At most ``max_entries`` entries; the oldest goes first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.org.models import User

DEFAULT_TTL = 60.0
DEFAULT_MAX_ENTRIES = 1000


@dataclass(frozen=True)
class _Entry:
    user_id: int
    password_hash: str
    expires: float


class VerifiedCredentials:
    """The credentials this process verified lately (``ttl`` 0: remember nothing)."""

    def __init__(self, ttl: float = DEFAULT_TTL, max_entries: int = DEFAULT_MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def _fingerprint(self, username: str, password: str) -> bytes:
        given = f"{len(username)}:{username}{password}".encode("utf-8", "surrogatepass")
        return hmac.new(self._key, given, hashlib.sha256).digest()

    def user(self, session: Session, username: str, password: str) -> User | None:
        """The account these credentials were verified for less than ``ttl`` ago, while it is unchanged."""
        if not self.enabled:
            return None
        key = self._fingerprint(username, password)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires <= self._clock():
                del self._entries[key]
                entry = None
        if entry is None:
            return None
        user = session.get(User, entry.user_id)
        if user is None or not user.is_active or user.username != username or user.password_hash != entry.password_hash:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return user

    def remember(self, username: str, password: str, user: User) -> None:
        """Remember credentials just verified with the password hash."""
        if not self.enabled:
            return
        key = self._fingerprint(username, password)
        entry = _Entry(user.id, user.password_hash, self._clock() + self.ttl)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget_user(self, user_id: int) -> None:
        """Drop what is remembered for an account (its password was changed here, for instance)."""
        with self._lock:
            for key in [k for k, e in self._entries.items() if e.user_id == user_id]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
