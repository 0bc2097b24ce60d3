"""Reading untrusted XML (BPMN and DMN uploads): no DTDs, no entities, no network, a size limit."""

from __future__ import annotations

from lxml import etree

from engine.errors import Phrase, Problem

MAX_FILE_BYTES = 10 * 1024 * 1024


def _xml_parser() -> etree.XMLParser:
    # No DTDs, no entities, no network: uploaded XML is hostile until proven otherwise.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def parse_xml(content: bytes, filename: str) -> tuple[etree._ElementTree | None, list[Problem]]:
    """Parse untrusted XML; return the tree or the problems that make it unusable."""
    if len(content) > MAX_FILE_BYTES:
        message = Phrase("The file is larger than %(limit)s MB; split the model or remove embedded data.",
                         limit=MAX_FILE_BYTES // (1024 * 1024))  # fmt: skip
        return None, [Problem(filename, message)]
    try:
        tree = etree.ElementTree(etree.fromstring(content, _xml_parser()))
    except etree.XMLSyntaxError as exc:
        reason = Phrase.of(exc.msg)  # libxml2's own words
        message = Phrase("The file is not well-formed XML: %(reason)s. Save it again in Camunda Modeler.",
                         reason=reason)
        return None, [Problem(filename, message, line=exc.lineno)]
    if tree.docinfo.doctype:
        return None, [Problem(filename, "The file declares a DTD (<!DOCTYPE>); model files (BPMN, DMN) must not "
                                        "contain one. Remove it or save the file again in Camunda Modeler.")]
    return tree, []
