"""Reading untrusted XML (BPMN and DMN uploads): no DTDs, no entities, no network, a size limit."""

from __future__ import annotations

from lxml import etree

from engine.errors import Problem

MAX_FILE_BYTES = 10 * 1024 * 1024


def _xml_parser() -> etree.XMLParser:
    # No DTDs, no entities, no network: uploaded XML is hostile until proven otherwise.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def parse_xml(content: bytes, filename: str) -> tuple[etree._ElementTree | None, list[Problem]]:
    """Parse untrusted XML; return the tree or the problems that make it unusable."""
    if len(content) > MAX_FILE_BYTES:
        mb = MAX_FILE_BYTES // (1024 * 1024)
        return None, [Problem(filename, f"The file is larger than {mb} MB; split the model or remove embedded data.")]
    try:
        tree = etree.ElementTree(etree.fromstring(content, _xml_parser()))
    except etree.XMLSyntaxError as exc:
        return None, [Problem(filename, f"The file is not well-formed XML: {exc.msg}.", line=exc.lineno)]
    if tree.docinfo.doctype:
        message = "The file declares a DTD (<!DOCTYPE>); model files (BPMN, DMN) must not contain one."
        return None, [Problem(filename, message)]
    return tree, []
