"""The messages that cross the gateway, independent of any channel's wire format."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    text: str = ""
    buttons: tuple[Button, ...] = ()
    custom: dict[str, Any] | None = None

    @classmethod
    def from_rasa(cls, data: dict[str, Any]) -> BotMessage:
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in data.get("buttons") or []
            if isinstance(b, dict)
        )
        custom = data.get("custom")
        return cls(
            text=str(data.get("text") or ""),
            buttons=buttons,
            custom=custom if isinstance(custom, dict) else None,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text}
        if self.buttons:
            data["buttons"] = [asdict(b) for b in self.buttons]
        if self.custom:
            data["custom"] = self.custom
        return data


@dataclass(frozen=True)
class CitizenTurn:
    conversation_id: str
    channel: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    # The client's address where the channel knows it (web chat, REST); WeChat's requests
    # come from WeChat's servers, so its turns carry none.
    client: str = ""


@dataclass(frozen=True)
class Understanding:
    """What the dialogue engine made of a citizen's message, for the record and the consoles."""

    intent: str | None = None
    confidence: float | None = None
    entities: tuple[dict[str, Any], ...] = ()
    actions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "entities": list(self.entities),
            "actions": list(self.actions),
        }


@dataclass(frozen=True)
class EngineReply:
    messages: tuple[BotMessage, ...]
    understanding: Understanding = field(default_factory=Understanding)


@dataclass(frozen=True)
class TurnResult:
    """What the citizen gets back; ``status`` says why when the bot itself did not answer."""

    messages: tuple[BotMessage, ...]
    status: str = "ok"
    understanding: Understanding | None = None

    def to_json(self) -> list[dict[str, Any]]:
        return [m.to_json() for m in self.messages]
