"""What the file store refuses, and the virus-scan hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.runtime.files import FileRejected, FileStore, Upload, command_scanner

PDF = b"%PDF-1.4\n%%EOF\n"


def test_a_good_file_is_stored_under_a_random_key(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    key, digest = store.save(Upload("evidence", "bien-ban.pdf", "application/pdf", PDF))
    assert store.read(key) == PDF and len(digest) == 64 and "bien-ban" not in str(store.path(key))


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("virus.exe", b"MZ" + b"\0" * 100, "not accepted"),
        ("bao-cao.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "does not contain what its name says"),
        ("empty.pdf", b"", "empty"),
        ("huge.pdf", PDF + b"0" * 2048, "larger than"),
        ("setup.png", b"\x7fELF" + b"\0" * 100, "does not contain what its name says"),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    store = FileStore(tmp_path, max_bytes=1024)
    with pytest.raises(FileRejected, match=reason) as caught:
        store.save(Upload("evidence", name, "", data))
    assert caught.value.field == "evidence"
    assert list(tmp_path.rglob("*")) == []  # nothing written


def test_the_virus_scanner_can_refuse_a_file(tmp_path: Path) -> None:
    infected = tmp_path / "scan.sh"
    infected.write_text("#!/bin/sh\necho 'Eicar-Test-Signature FOUND'\nexit 1\n")
    infected.chmod(0o755)
    store = FileStore(tmp_path / "files", scanner=command_scanner(str(infected)))
    with pytest.raises(FileRejected, match="Eicar-Test-Signature FOUND"):
        store.save(Upload("evidence", "bien-ban.pdf", "application/pdf", PDF))
    assert not list((tmp_path / "files").rglob("*.*"))
    clean = FileStore(tmp_path / "clean", scanner=command_scanner("true"))
    key, _ = clean.save(Upload("evidence", "bien-ban.pdf", "application/pdf", PDF))
    assert clean.read(key) == PDF
