"""Storing uploaded files as evidence: size and type limits, a content sniff, a virus-scan hook.

Files live in a folder (``instance/files`` by default) under a random key; the database row says
whose, for which task and instance, and what it is.
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess  # noqa: S404 - runs only the administrator's configured scanner, never uploaded text
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import filetype

from engine.errors import EngineError

MAX_FILE_BYTES = 20 * 1024 * 1024
ALLOWED_EXTENSIONS = frozenset(
    {
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "txt", "csv",
        "png", "jpg", "jpeg", "gif", "webp", "tif", "tiff", "zip", "xml", "json",
    }
)  # fmt: skip
# Extensions whose content has a recognisable signature: the sniffed type must agree with the name.
SIGNATURES = {
    "pdf": {"pdf"}, "png": {"png"}, "jpg": {"jpg"}, "jpeg": {"jpg"}, "gif": {"gif"}, "webp": {"webp"},
    "tif": {"tif"}, "tiff": {"tif"}, "zip": {"zip"}, "docx": {"docx", "zip"}, "xlsx": {"xlsx", "zip"},
    "pptx": {"pptx", "zip"}, "odt": {"odt", "zip"}, "ods": {"ods", "zip"}, "odp": {"odp", "zip"},
    "doc": {"doc"}, "xls": {"xls"}, "ppt": {"ppt"},
}  # fmt: skip
DANGEROUS = {"exe", "elf", "dll", "msi", "dmg", "sh", "apk", "dex", "swf", "macho"}


class FileRejected(EngineError):
    """An upload that will not be stored; ``field`` is the form input it came from."""

    http_status = 422

    def __init__(self, field: str, template: str, **params: object) -> None:
        super().__init__(template, **params)
        self.field = field


@dataclass(frozen=True)
class Upload:
    """A file as the web layer received it."""

    field: str
    filename: str
    content_type: str
    data: bytes


Scanner = Callable[[Path], str | None]
"""Returns a reason when the file is infected, None when it is clean."""


def command_scanner(command: str) -> Scanner:
    """A scanner that runs ``command FILE`` (e.g. ``clamdscan --no-summary``); exit 1 means infected."""

    def scan(path: Path) -> str | None:
        done = subprocess.run([*shlex.split(command), str(path)], capture_output=True, timeout=60, check=False)  # noqa: S603
        if done.returncode == 0:
            return None
        return (done.stdout or done.stderr).decode(errors="replace").strip()[:200] or "rejected by the virus scanner"

    return scan


@dataclass
class FileStore:
    root: Path
    max_bytes: int = MAX_FILE_BYTES
    allowed: frozenset[str] = ALLOWED_EXTENSIONS
    scanner: Scanner | None = None

    def check(self, upload: Upload) -> str:
        """Refuse what must not be stored; return the extension."""
        name = upload.filename
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension not in self.allowed:
            allowed = ", ".join(sorted(self.allowed))
            raise FileRejected(upload.field, "'%(name)s': this file type is not accepted (allowed: %(allowed)s).",
                               name=name, allowed=allowed)  # fmt: skip
        if len(upload.data) > self.max_bytes:
            raise FileRejected(upload.field, "'%(name)s' is larger than %(mb)s MB.", name=name,
                               mb=self.max_bytes // (1024 * 1024))  # fmt: skip
        if not upload.data:
            raise FileRejected(upload.field, "'%(name)s' is empty.", name=name)
        sniffed = filetype.guess_extension(upload.data[:8192])
        if sniffed in DANGEROUS or (extension in SIGNATURES and sniffed not in SIGNATURES[extension]):
            raise FileRejected(upload.field, "'%(name)s' does not contain what its name says (%(ext)s).",
                               name=name, ext=extension)  # fmt: skip
        return extension

    def save(self, upload: Upload) -> tuple[str, str]:
        """Write the bytes under a new key; returns (storage key, sha256)."""
        self.check(upload)
        key = uuid.uuid4().hex
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(upload.data)
        if self.scanner is not None:
            reason = self.scanner(path)
            if reason is not None:
                path.unlink(missing_ok=True)
                raise FileRejected(upload.field, "'%(name)s' was refused by the virus scanner: %(reason)s",
                                   name=upload.filename, reason=reason)  # fmt: skip
        return key, hashlib.sha256(upload.data).hexdigest()

    def path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError("bad storage key")
        return self.root / key[:2] / key

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()
