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


@dataclass(frozen=True)
class TurnResult:
    """What the citizen gets back; ``status`` says why when the bot itself did not answer."""

    messages: tuple[BotMessage, ...]
    status: str = "ok"

    def to_json(self) -> list[dict[str, Any]]:
        return [m.to_json() for m in self.messages]
