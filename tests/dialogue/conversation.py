"""Drives the work-order actions the way the Rasa server does, without Rasa.

Rasa is a separate runtime (Python 3.10) and slow to start; the end-to-end test runs the
real one. Here a conversation is a list of events and slots: a citizen's message carries
the intent the NLU would give and the entities that the project's own regexes and lookup
tables (data/nlu/entities.yml) find in it; actions run on a rasa-sdk ``Tracker`` built from
that state, and their events are applied the way Rasa applies them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from bot.settings import PROJECT_ROOT


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    data = yaml.safe_load((PROJECT_ROOT / "data" / "nlu" / "entities.yml").read_text("utf-8"))
    patterns: dict[str, re.Pattern[str]] = {}
    for item in data["nlu"]:
        lines = [line[2:] for line in item.get("examples", "").splitlines() if line[:2] == "- "]
        if "regex" in item:
            patterns[item["regex"]] = re.compile("|".join(lines), re.IGNORECASE)
        elif "lookup" in item:
            alternatives = "|".join(re.escape(line) for line in lines)
            patterns[item["lookup"]] = re.compile(alternatives, re.IGNORECASE)
    return patterns


def entities_in(text: str) -> list[dict[str, Any]]:
    """What RegexEntityExtractor finds in ``text`` (the extractor's patterns, verbatim)."""
    found = []
    for name, pattern in _patterns().items():
        for match in pattern.finditer(text):
            if match.end() > match.start():
                found.append(
                    {
                        "entity": name,
                        "start": match.start(),
                        "end": match.end(),
                        "value": match.group(0),
                        "extractor": "RegexEntityExtractor",
                    }
                )
    return sorted(found, key=lambda entity: entity["start"])


@dataclass
class Conversation:
    sender_id: str
    channel: str = "webchat"
    slots: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    latest_message: dict[str, Any] = field(default_factory=dict)
    active_loop: str | None = None
    said: list[dict[str, Any]] = field(default_factory=list)

    def user(self, text: str, intent: str = "inform") -> None:
        self.latest_message = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "intent_ranking": [{"name": intent, "confidence": 0.9}],
            "entities": entities_in(text),
            "metadata": {"channel": self.channel},
        }
        self.events.append(
            {
                "event": "user",
                "text": text,
                "parse_data": self.latest_message,
                "metadata": {"channel": self.channel},
            }
        )
        self.events.append({"event": "action", "name": "action_listen"})

    def tracker(self) -> Tracker:
        return Tracker(
            self.sender_id,
            dict(self.slots),
            self.latest_message,
            list(self.events),
            False,
            None,
            {"name": self.active_loop} if self.active_loop else {},
            "action_listen",
        )

    def apply(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
            elif event.get("event") == "active_loop":
                self.active_loop = event.get("name")
            self.events.append(event)

    async def run(self, action: Action) -> list[dict[str, Any]]:
        """Runs an action; returns its events, and keeps what it said in ``said``."""
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, self.tracker(), {})
        self.said = dispatcher.messages
        self.apply(events)
        return events

    async def validate(
        self, action: FormValidationAction, extracted: dict[str, Any], domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The form's validation of the slots Rasa extracted from the latest message."""
        self.active_loop = action.form_name()
        tracker = self.tracker()
        candidates = [{"event": "slot", "name": k, "value": v} for k, v in extracted.items()]
        tracker.events.append({"event": "action", "name": action.form_name()})
        tracker.events.extend(candidates)
        tracker.slots.update(extracted)
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, tracker, domain)
        self.said = dispatcher.messages
        self.apply(events)
        return events

    def text(self) -> str:
        return "\n".join(str(message.get("text") or "") for message in self.said)

    def buttons(self) -> list[str]:
        return [b["title"] for message in self.said for b in message.get("buttons") or []]


# What only agents may see of a classification: its reasoning, cue words and confidences.
AGENT_ONLY = re.compile(r"派单依据|置信度|学习模型|关键词|提示语|命中|典型事项|职责|\d\.\d")


def assert_plain(text: str) -> None:
    """The citizen reads the type and the unit, never why the classifier chose them."""
    assert not AGENT_ONLY.search(text), text
