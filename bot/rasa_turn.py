"""What Rasa understood in one citizen turn, read from the turn's events.

Two readers must agree on it: the gateway's Rasa channel (``connectors/rasa_channel.py``,
which reads the tracker right after the turn, for the handoff gate) and the console's event
stream (``bot/console/events.py``, which reads the same events as Rasa publishes them to
RabbitMQ). Both hand over events in Rasa's serialised form (``Event.as_dict()``, which is
also the broker's message body), and this module imports nothing but the standard library,
since the channel runs inside Rasa's own Python 3.10.

A turn is the user event and what follows it up to ``action_listen``. Its actions are the
actions run and, in order among them, the responses a custom action uttered by name
(``dispatcher.utter_message(response="utter_default")``, recorded by Rasa as the bot
event's ``metadata.utter_action``): whether the citizen got "没有完全理解" is told by what
was said, not by the intent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ACTION_LISTEN = "action_listen"


def understanding(parse_data: Mapping[str, Any]) -> dict[str, Any]:
    """The NLU result of a user event's ``parse_data``: intent, confidence, entities."""
    intent = parse_data.get("intent") or {}
    return {
        "intent": intent.get("name"),
        "confidence": intent.get("confidence"),
        "entities": [
            {"entity": e.get("entity"), "value": e.get("value")}
            for e in parse_data.get("entities") or []
            if isinstance(e, Mapping)
        ],
    }


def action_of(event: Mapping[str, Any]) -> str | None:
    """What one event of a turn adds to its actions: an action's name (never
    ``action_listen``, which ends the turn), or the response a bot event uttered by name."""
    kind = event.get("event")
    if kind == "action":
        name = event.get("name")
        return str(name) if name and name != ACTION_LISTEN else None
    if kind == "bot":
        uttered = (event.get("metadata") or {}).get("utter_action")
        return uttered if isinstance(uttered, str) and uttered else None
    return None


def collapse(actions: Iterable[str]) -> list[str]:
    """A response run as an action (utter_greet in a rule) is recorded twice, as the
    action and as its bot event: it counts once."""
    collapsed: list[str] = []
    for action in actions:
        if not collapsed or collapsed[-1] != action:
            collapsed.append(action)
    return collapsed


def turn_actions(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """The actions of a turn, from the events after its user event, in order."""
    return collapse(a for a in map(action_of, events) if a)
