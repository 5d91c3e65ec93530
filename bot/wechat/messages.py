"""The messages and events a citizen sends the Official Account, as the channel sees them
(``connectors.wechat.messages`` reads them from WeChat's XML)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InboundMessage:
    """Fields every message and event carries."""

    to_user: str  # the account's original ID (gh_…)
    from_user: str  # the citizen's OpenID
    create_time: int
    msg_type: str
    msg_id: str

    @property
    def dedupe_key(self) -> str:
        """WeChat retries with the same MsgId; events have none, so sender + time stand in."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"evt:{self.from_user}:{self.create_time}:{self.msg_type}"


@dataclass(frozen=True)
class TextMessage(InboundMessage):
    content: str = ""


@dataclass(frozen=True)
class VoiceMessage(InboundMessage):
    media_id: str = ""
    recognition: str = ""  # present when the account enabled speech recognition


@dataclass(frozen=True)
class ImageMessage(InboundMessage):
    pic_url: str = ""
    media_id: str = ""


@dataclass(frozen=True)
class LocationMessage(InboundMessage):
    latitude: float = 0.0
    longitude: float = 0.0
    scale: int = 0
    label: str = ""


@dataclass(frozen=True)
class EventMessage(InboundMessage):
    event: str = ""  # lower case: subscribe, unsubscribe, click, view, …
    event_key: str = ""

    @property
    def dedupe_key(self) -> str:
        return f"evt:{self.from_user}:{self.create_time}:{self.event}"


@dataclass(frozen=True)
class UnknownMessage(InboundMessage):
    """Video, short video, link, file and whatever WeChat adds later."""
