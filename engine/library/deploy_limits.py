"""How much one deployment may ask of the server, checked before any model is looked at closely.

Checking and compiling a process costs tens of milliseconds; a 174 KB file with 2,000 small processes
took almost two minutes and held a request thread all that time. These limits are far above any real
ISO process library (the shared corpus has at most 4 processes per file) and keep the worst upload
to a few seconds. What passes them is refused only for what it says, never for its size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from lxml import etree

from engine.errors import Count, Phrase, Problem
from engine.runtime.parsing import BPMN_NS
from engine.safe_xml import parse_xml

MAX_DEPLOYMENT_FILES = 200
MAX_DEPLOYMENT_BYTES = 20 * 1024 * 1024
MAX_PROCESSES_PER_FILE = 50
MAX_PROCESSES_PER_DEPLOYMENT = 100
MAX_ELEMENTS_PER_DEPLOYMENT = 20_000  # BPMN elements inside processes: tasks, events, gateways, flows...


class _File(Protocol):
    @property
    def filename(self) -> str: ...
    @property
    def content(self) -> bytes: ...
    @property
    def kind(self) -> str: ...


def deployment_limits(files: Sequence[_File]) -> list[Problem]:
    """Problems naming each limit the deployment passes; empty when it may be checked in full."""
    if len(files) > MAX_DEPLOYMENT_FILES:
        return [Problem("", Phrase("The deployment has %(count)s files; at most %(limit)s are accepted at once. "
                                   "Deploy the files in several parts.", count=len(files),
                                   limit=MAX_DEPLOYMENT_FILES))]  # fmt: skip
    total = sum(len(file.content) for file in files)
    if total > MAX_DEPLOYMENT_BYTES and len(files) > 1:  # a single file meets the per-file limit of its kind
        return [
            Problem("", Phrase("The deployment has %(size)s MB of files; at most %(limit)s MB are accepted at once. "
                               "Deploy the files in several parts.", size=round(total / (1024 * 1024), 1),
                               limit=MAX_DEPLOYMENT_BYTES // (1024 * 1024)))  # fmt: skip
        ]
    problems: list[Problem] = []
    processes = elements = 0
    for file in files:
        if file.kind != "bpmn":
            continue
        tree, _ = parse_xml(file.content, file.filename)  # what does not parse is reported by the full check
        if tree is None:
            continue
        found = tree.getroot().findall(f"{{{BPMN_NS}}}process")
        if len(found) > MAX_PROCESSES_PER_FILE:
            problems.append(
                Problem(file.filename, Phrase("The file holds %(count)s processes; at most %(limit)s per file are "
                                              "accepted. Split it into several files.", count=len(found),
                                              limit=MAX_PROCESSES_PER_FILE))  # fmt: skip
            )
        processes += len(found)
        elements += sum(_bpmn_elements(process) for process in found)
    if processes > MAX_PROCESSES_PER_DEPLOYMENT:
        problems.append(
            Problem("", Phrase("The deployment holds %(count)s processes; at most %(limit)s are accepted at once. "
                               "Deploy them in several parts.", count=processes,
                               limit=MAX_PROCESSES_PER_DEPLOYMENT))  # fmt: skip
        )
    if elements > MAX_ELEMENTS_PER_DEPLOYMENT:
        problems.append(
            Problem("", Phrase("The deployment's processes have %(count)s elements; at most %(limit)s are accepted at "
                               "once. Deploy them in several parts.", count=Count(elements),
                               limit=Count(MAX_ELEMENTS_PER_DEPLOYMENT)))  # fmt: skip
        )
    return problems


def _bpmn_elements(process: etree._Element) -> int:
    return sum(1 for _ in process.iter(f"{{{BPMN_NS}}}*"))
