"""What WeChat's server posts: XML read safely, then typed messages and events
(:mod:`bot.wechat.messages`).

The parser forbids any DTD, so neither external entities (file or network reads) nor
entity expansion ("billion laughs") can happen, and it refuses bodies over a size limit
before parsing. Only the flat ``<xml><Field>value</Field>…</xml>`` shape WeChat uses is
accepted.
"""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.wechat.messages import (
    EventMessage,
    ImageMessage,
    InboundMessage,
    LocationMessage,
    TextMessage,
    UnknownMessage,
    VoiceMessage,
)

MAX_XML_BYTES = 64 * 1024
_MAX_FIELDS = 64


class XmlRejected(ValueError):
    """The body is not a WeChat XML message; the reason is for the log, not the citizen."""


def parse_xml(body: bytes, max_bytes: int = MAX_XML_BYTES) -> dict[str, str]:
    if len(body) > max_bytes:
        raise XmlRejected(f"body of {len(body)} bytes exceeds {max_bytes}")
    if not body.strip():
        raise XmlRejected("empty body")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmlRejected(f"forbidden XML construct: {type(exc).__name__}") from exc
    except (ParseError, ValueError) as exc:
        raise XmlRejected(f"malformed XML: {exc}") from exc
    if root.tag != "xml":
        raise XmlRejected(f"unexpected root element {root.tag!r}")
    if len(root) > _MAX_FIELDS:
        raise XmlRejected("too many fields")
    return {child.tag: (child.text or "") for child in root}


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        return 0


def _float(value: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        return 0.0


def parse_message(fields: dict[str, str]) -> InboundMessage:
    for required in ("ToUserName", "FromUserName", "MsgType"):
        if not fields.get(required, "").strip():
            raise XmlRejected(f"missing {required}")
    kind = fields["MsgType"].strip().lower()
    common = (
        fields["ToUserName"].strip(),
        fields["FromUserName"].strip(),
        _int(fields.get("CreateTime", "")),
        kind,
        fields.get("MsgId", "").strip(),
    )
    if kind == "text":
        return TextMessage(*common, content=fields.get("Content", ""))
    if kind == "voice":
        return VoiceMessage(
            *common,
            media_id=fields.get("MediaId", "").strip(),
            recognition=fields.get("Recognition", "").strip(),
        )
    if kind == "image":
        return ImageMessage(
            *common,
            pic_url=fields.get("PicUrl", "").strip(),
            media_id=fields.get("MediaId", "").strip(),
        )
    if kind == "location":
        return LocationMessage(
            *common,
            latitude=_float(fields.get("Location_X", "")),
            longitude=_float(fields.get("Location_Y", "")),
            scale=_int(fields.get("Scale", "")),
            label=fields.get("Label", "").strip(),
        )
    if kind == "event":
        return EventMessage(
            *common,
            event=fields.get("Event", "").strip().lower(),
            event_key=fields.get("EventKey", "").strip(),
        )
    return UnknownMessage(*common)
