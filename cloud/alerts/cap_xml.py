"""A stored alert as a CAP 1.2 XML document (OASIS, ``urn:oasis:names:tc:emergency:cap:1.2``).

Elements in the schema's order; times as CAP wants them (seconds, numeric offset, UTC written
``-00:00``, never ``Z``); ``references`` as ``sender,identifier,sent`` of the replaced message;
the Météo-France colour as MeteoAlarm's ``awareness_level`` parameter. Text goes through
ElementTree, which escapes it: a description with markup stays text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from cloud.alerts.cap import geojson_to_cap
from cloud.registry.models_reports import Alert

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
MEDIA_TYPE = "application/cap+xml"
AWARENESS = {
    1: "1; green; Minor",
    2: "2; yellow; Moderate",
    3: "3; orange; Severe",
    4: "4; red; Extreme",
}

ET.register_namespace("", NAMESPACE)


def cap_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def cap_document(alert: Alert, replaced: Alert | None) -> bytes:
    """``alert`` as CAP XML; ``replaced`` is the message its ``references`` names."""
    root = ET.Element(f"{{{NAMESPACE}}}alert")
    for name, text in (
        ("identifier", alert.identifier),
        ("sender", alert.sender),
        ("sent", cap_time(alert.sent)),
        ("status", alert.status.value),
        ("msgType", alert.msg_type.value),
        ("scope", "Public"),
    ):
        _add(root, name, text)
    if replaced is not None:
        reference = f"{replaced.sender},{replaced.identifier},{cap_time(replaced.sent)}"
        _add(root, "references", reference)
    _info(ET.SubElement(root, f"{{{NAMESPACE}}}info"), alert)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _info(info: ET.Element, alert: Alert) -> None:
    _add(info, "language", "fr-FR")
    _add(info, "category", alert.category.value)
    _add(info, "event", alert.event)
    for name, text in (
        ("urgency", alert.urgency.value),
        ("severity", alert.severity.value),
        ("certainty", alert.certainty.value),
    ):
        _add(info, name, text)
    if alert.onset is not None:
        _add(info, "onset", cap_time(alert.onset))
    _add(info, "expires", cap_time(alert.expires))
    _add(info, "headline", alert.headline)
    _add(info, "description", alert.description)
    if alert.instruction:
        _add(info, "instruction", alert.instruction)
    if alert.colour is not None:
        parameter = ET.SubElement(info, f"{{{NAMESPACE}}}parameter")
        _add(parameter, "valueName", "awareness_level")
        _add(parameter, "value", AWARENESS[alert.colour])
    area = ET.SubElement(info, f"{{{NAMESPACE}}}area")
    _add(area, "areaDesc", alert.area_desc)
    if alert.polygon is not None:
        _add(area, "polygon", geojson_to_cap(alert.polygon))
    for code in alert.communes:
        geocode = ET.SubElement(area, f"{{{NAMESPACE}}}geocode")
        _add(geocode, "valueName", "INSEE")
        _add(geocode, "value", code)


def _add(parent: ET.Element, name: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{NAMESPACE}}}{name}")
    element.text = text
    return element
