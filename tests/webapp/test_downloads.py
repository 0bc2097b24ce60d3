"""What the browser is told to save a downloaded file as: the name only, nothing that makes a header of its
own, and Vietnamese letters intact (RFC 6266 ``filename*``) with a readable ASCII fallback."""

from __future__ import annotations

import pytest

from webapp.downloads import content_disposition


@pytest.mark.parametrize(("name", "expected"), [
    ("bien-ban.pdf", "attachment; filename=bien-ban.pdf"),
    ("../../etc/passwd", "attachment; filename=passwd"),
    ("C:\\Users\\x\\ke-hoach.docx", "attachment; filename=ke-hoach.docx"),
    ("a\x00b\r\nSet-Cookie: x=1.pdf", 'attachment; filename="abSet-Cookie: x=1.pdf"'),
    ("..", "attachment; filename=file"),
    ("Quyết định số 12.pdf",
     "attachment; filename=\"Quyet dinh so 12.pdf\"; "
     "filename*=UTF-8''Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh%20s%E1%BB%91%2012.pdf"),
])  # fmt: skip
def test_download_names(name: str, expected: str) -> None:
    assert content_disposition(name) == expected
