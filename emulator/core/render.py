"""RPC response rendering: JSON (default) or XML when the request says ``Format=XML``.

The RPC style's common parameter ``Format`` is ``JSON`` or ``XML`` (Alibaba Cloud "Common parameters" of
the RPC style; the ECS API reference shows every sample response in both). The Tea SDKs (ACS3 signer) send
no ``Format`` and read JSON, the legacy ``aliyun-python-sdk-core`` and ``@alicloud/pop-core`` send
``Format=JSON``; a user script may ask for XML. Shapes:

* success: ``<?xml version="1.0" encoding="UTF-8"?><DescribeImagesResponse>…</DescribeImagesResponse>`` (root
  ``<Action>Response``), each JSON key an element;
* error: root ``<Error>`` with ``RequestId, HostId, Code, Message, Recommend`` (the JSON error body's keys);
* a JSON list under key ``K`` becomes repeated ``<K>`` elements: ECS's ``{"Images":{"Image":[a,b]}}`` is
  ``<Images><Image>a</Image><Image>b</Image></Images>`` as in the API reference samples; CR's bare arrays
  (``"SyncTasks":[a,b]``) become ``<SyncTasks>a</SyncTasks><SyncTasks>b</SyncTasks>`` (UNCONFIRMED: the CR
  reference shows JSON samples only);
* booleans ``true``/``false``, ``null`` an empty element; content type ``text/xml;charset=utf-8`` (the value
  tea-openapi compares before parsing an XML error, alibaba-api.md §7.4).

Built with the standard library's ElementTree (escaping included) rather than by string concatenation.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

XML = "text/xml;charset=utf-8"


def wants_xml(params: dict[str, str]) -> bool:
    """True when the RPC common parameter ``Format`` is ``XML`` (case-insensitive)."""
    return (params.get("Format") or "").strip().lower() == "xml"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: ET.Element, key: str, value: Any) -> None:
    """Append ``value`` under ``parent`` as element(s) named ``key``."""
    if isinstance(value, list):
        for item in value:
            _fill(parent, key, item)
        return
    child = ET.SubElement(parent, key)
    if isinstance(value, dict):
        for k, v in value.items():
            _fill(child, str(k), v)
    else:
        child.text = _text(value)


def to_xml(root: str, body: dict[str, Any]) -> bytes:
    """Render ``body`` under ``<root>`` with the XML declaration."""
    element = ET.Element(root)
    for key, value in body.items():
        _fill(element, str(key), value)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def xml_root(action: str | None, error: bool) -> str:
    """``Error`` for errors, ``<Action>Response`` otherwise."""
    if error or not action:
        return "Error"
    return f"{action}Response"
